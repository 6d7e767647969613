// The live gateway: one Socket.IO connection per tab, authenticated with the in-memory access token
// in the `auth` payload on connect (and again on every reconnect, so a refreshed token is used).
// Events are named `noun.verb`; the server sends a `snapshot` on connect. Screens subscribe with
// `on(event, fn)` (or the `useLive` hook) and never touch the socket themselves.
//
// If the backend has no gateway yet, the connection simply fails and `status` stays "offline";
// screens keep working from REST and show that live updates are off.

import { io, type Socket } from "socket.io-client";
import { getAccessToken, onSessionChange, refreshSession } from "./api";
import { useEffect, useRef, useSyncExternalStore } from "react";

export type LiveEvent =
  | "snapshot"
  | "senior.status_changed"
  | "alert.opened"
  | "alert.updated"
  | "alert.acknowledged"
  | "alert.resolved"
  | "alert.escalated"
  | "sensor.activity"
  | "device.health"
  | "robot.status"
  | "webrtc.answer"
  | "webrtc.candidate"
  | "webrtc.closed";

export const ALERT_EVENTS: LiveEvent[] = [
  "alert.opened",
  "alert.updated",
  "alert.acknowledged",
  "alert.resolved",
  "alert.escalated",
];

export type LiveStatus = "off" | "connecting" | "live" | "offline";

type Handler = (payload: any, event: LiveEvent) => void;

let socket: Socket | null = null;
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
  "webrtc.answer",
  "webrtc.candidate",
  "webrtc.closed",
];

function setStatus(s: LiveStatus): void {
  if (s === status) return;
  status = s;
  statusListeners.forEach((fn) => fn());
}

function dispatch(event: LiveEvent, payload: unknown): void {
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
  s.on("connect", () => setStatus("live"));
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

// Follow the session: connect once signed in, drop the socket on sign-out.
onSessionChange((signedIn) => {
  if (signedIn) connect();
  else disconnect();
});
