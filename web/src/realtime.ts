// The live gateway: one Socket.IO connection per tab, authenticated with the in-memory access token
// in the `auth` payload on connect (and again on every reconnect, so a refreshed token is used).
// Events are named `noun.verb` (docs/protocols.md, "Socket.IO"); the server sends a `snapshot` on
// connect. Every other event comes in an envelope `{event, org_id, senior_id, data}`: handlers receive
// `data` (with `senior_id` filled in from the envelope when `data` lacks it). Screens subscribe with
// `on(event, fn)` (or the `useLive` hook) and never touch the socket themselves. `sensor.activity` is
// only sent for seniors this tab watches (`useWatch(seniorId)` → `senior.watch`, renewed on reconnect).
// WebRTC signaling uses its own namespace `/webrtc` (screens/Video.tsx), multiplexed on this connection.

import { io, type Socket } from "socket.io-client";
import { getAccessToken, onSessionChange, refreshSession } from "./api";
import { useEffect, useRef, useSyncExternalStore } from "react";

export type LiveEvent =
  | "snapshot"
  | "senior.status_changed"
  | "alert.opened"
  | "alert.updated"
  | "alert.acknowledged"
  | "alert.assigned"
  | "alert.noted"
  | "alert.resolved"
  | "alert.escalated"
  | "sensor.activity"
  | "device.health"
  | "robot.status"
  | "access.changed"
  | "session.ended";

export const ALERT_EVENTS: LiveEvent[] = [
  "alert.opened",
  "alert.updated",
  "alert.acknowledged",
  "alert.assigned",
  "alert.noted",
  "alert.resolved",
  "alert.escalated",
];

export type LiveStatus = "off" | "connecting" | "live" | "offline";

type Handler = (payload: any, event: LiveEvent) => void;

/** `access.changed` (not enveloped): what the user may see changed; `alerts` = incidents they were paged about. */
export interface AccessChange {
  seniors: { added: string[]; removed: string[] };
  incidents: { added: string[]; removed: string[] };
  alerts?: unknown[];
}

let socket: Socket | null = null;
const watched = new Map<string, number>(); // senior id → number of components watching
let status: LiveStatus = "off";
const statusListeners = new Set<() => void>();
const handlers = new Map<string, Set<Handler>>();
const ALL: LiveEvent[] = [
  "snapshot",
  "senior.status_changed",
  ...ALERT_EVENTS,
  "sensor.activity",
  "device.health",
  "robot.status",
  "access.changed",
  "session.ended",
];

function setStatus(s: LiveStatus): void {
  if (s === status) return;
  status = s;
  statusListeners.forEach((fn) => fn());
}

/** `{event, senior_id, data}` → `data` (+ senior_id); `snapshot` and `session.ended` are not enveloped. */
function unwrap(payload: unknown): unknown {
  if (!payload || typeof payload !== "object") return payload;
  const env = payload as { event?: unknown; senior_id?: unknown; data?: unknown };
  if (typeof env.event !== "string" || !env.data || typeof env.data !== "object") return payload;
  const data = env.data as Record<string, unknown>;
  return data.senior_id || !env.senior_id ? data : { ...data, senior_id: env.senior_id };
}

function dispatch(event: LiveEvent, raw: unknown): void {
  const payload = unwrap(raw);
  handlers.get(event)?.forEach((fn) => fn(payload, event));
  handlers.get("*")?.forEach((fn) => fn(payload, event));
}

export function connect(): void {
  if (socket || !getAccessToken()) return;
  setStatus("connecting");
  const s = io({
    path: "/socket.io",
    transports: ["websocket", "polling"],
    auth: (cb) => cb({ token: getAccessToken() }),
    reconnectionDelay: 1000,
    reconnectionDelayMax: 15000,
    timeout: 8000,
  });
  socket = s;
  s.on("connect", () => {
    setStatus("live");
    watched.forEach((_, id) => void emit("senior.watch", { senior_id: id }).catch(() => undefined));
  });
  s.on("disconnect", () => setStatus("offline"));
  s.on("connect_error", async (err: Error & { data?: { status?: number } }) => {
    setStatus("offline");
    // the server refused our token (expired): refresh, and socket.io retries with the new one
    if (/unauthori|token|401/i.test(err.message) || err.data?.status === 401) {
      if (!(await refreshSession())) disconnect();
      else if (!s.active) s.connect();
    }
  });
  for (const ev of ALL) s.on(ev, (payload: unknown) => dispatch(ev, payload));
  // assigned to / unassigned from a senior, guardian link changed: take a fresh snapshot (the screens
  // reload on `snapshot`); paged about an incident: its alert comes with the change (alerts.ts)
  s.on("access.changed", (change: AccessChange) => {
    if (!change?.seniors?.added?.length && !change?.seniors?.removed?.length) return;
    emit<{ ok: boolean; snapshot?: unknown }>("snapshot.get", null)
      .then((answer) => answer.ok && dispatch("snapshot", answer.snapshot))
      .catch(() => undefined);
  });
  // the server ended the session (token expired without auth.refresh, signed out elsewhere): try a
  // silent refresh; the cookie decides whether we come back or sign out
  s.on("session.ended", async () => {
    if (await refreshSession()) {
      if (!s.connected) s.connect();
    } else disconnect();
  });
}

/** The underlying connection's manager, for other namespaces (WebRTC signaling) on the same socket. */
export function getSocket(): Socket | null {
  return socket;
}

export function disconnect(): void {
  socket?.disconnect();
  socket = null;
  setStatus("off");
}

/** Send to the gateway (e.g. WebRTC signaling); resolves with the server's acknowledgement. */
export function emit<T = unknown>(event: string, payload: unknown, timeoutMs = 8000): Promise<T> {
  return new Promise((resolve, reject) => {
    if (!socket?.connected) return reject(new Error("live connection is not available"));
    socket.timeout(timeoutMs).emit(event, payload, (err: Error | null, answer: T) => (err ? reject(err) : resolve(answer)));
  });
}

export function on(event: LiveEvent | "*", fn: Handler): () => void {
  let set = handlers.get(event);
  if (!set) handlers.set(event, (set = new Set()));
  set.add(fn);
  return () => set!.delete(fn);
}

export function getStatus(): LiveStatus {
  return status;
}

export function useLiveStatus(): LiveStatus {
  return useSyncExternalStore(
    (fn) => {
      statusListeners.add(fn);
      return () => statusListeners.delete(fn);
    },
    () => status,
  );
}

/** Subscribe a component to live events; the handler may change between renders. */
export function useLive(events: (LiveEvent | "*")[], fn: Handler): void {
  const ref = useRef(fn);
  ref.current = fn;
  const key = events.join(",");
  useEffect(() => {
    const offs = key.split(",").map((ev) => on(ev as LiveEvent, (p, e) => ref.current(p, e)));
    return () => offs.forEach((off) => off());
  }, [key]);
}

/** Receive `sensor.activity` for this senior while the component is mounted. */
export function useWatch(seniorId: string | null | undefined): void {
  useEffect(() => {
    if (!seniorId) return;
    watched.set(seniorId, (watched.get(seniorId) ?? 0) + 1);
    if (socket?.connected) void emit("senior.watch", { senior_id: seniorId }).catch(() => undefined);
    return () => {
      const n = (watched.get(seniorId) ?? 1) - 1;
      if (n > 0) watched.set(seniorId, n);
      else {
        watched.delete(seniorId);
        if (socket?.connected) void emit("senior.unwatch", { senior_id: seniorId }).catch(() => undefined);
      }
    };
  }, [seniorId]);
}

// Follow the session: connect once signed in, drop the socket on sign-out.
onSessionChange((signedIn) => {
  if (!signedIn) return disconnect();
  // a renewed access token: tell the gateway, or it ends the socket when the old one expires
  if (socket?.connected) void emit("auth.refresh", { token: getAccessToken() }).catch(() => undefined);
  else connect();
});
