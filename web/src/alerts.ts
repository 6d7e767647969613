// The tab's view of open alerts: loaded from REST, kept current from the live gateway, shared by the
// header count, the danger banner, the seniors list and the alert centre. Also the attention-getters:
// a sound the user switches on (browsers only allow audio after a gesture) and browser notifications.
import { useSyncExternalStore } from "react";
import { api, Unavailable, type Alert } from "./api";
import { ALERT_EVENTS, on } from "./realtime";

export interface AlertsState {
  status: "idle" | "loading" | "ok" | "unavailable" | "error";
  open: Alert[];
  /** a danger alert that arrived live and nobody in this tab has looked at yet */
  unseenDanger: Alert | null;
}

let state: AlertsState = { status: "idle", open: [], unseenDanger: null };
const listeners = new Set<() => void>();
let soundOn = false;
let audio: AudioContext | null = null;

function set(next: Partial<AlertsState>): void {
  state = { ...state, ...next };
  listeners.forEach((fn) => fn());
}

export function isOpen(a: Alert): boolean {
  return !["resolved", "closed", "cancelled"].includes(a.status);
}

export async function loadAlerts(): Promise<void> {
  if (state.status === "loading") return;
  set({ status: state.status === "ok" ? "ok" : "loading" });
  try {
    const list = await api.alerts({ status: ["open", "acknowledged", "escalated"] });
    set({ status: "ok", open: list.filter(isOpen) });
  } catch (e) {
    set({ status: e instanceof Unavailable ? "unavailable" : "error" });
  }
}

export function resetAlerts(): void {
  set({ status: "idle", open: [], unseenDanger: null });
}

export function upsertAlert(a: Alert): void {
  const others = state.open.filter((x) => x.id !== a.id);
  set({ open: isOpen(a) ? [a, ...others] : others });
}

export function dismissBanner(): void {
  set({ unseenDanger: null });
}

export function useAlerts(): AlertsState {
  return useSyncExternalStore(
    (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    () => state,
  );
}

export function openCountFor(seniorId: string): number {
  return state.open.filter((a) => a.senior_id === seniorId).length;
}

// ---------------------------------------------------------------- attention: sound and notifications

export function soundEnabled(): boolean {
  return soundOn;
}

export function enableSound(): void {
  audio ??= new AudioContext();
  void audio.resume();
  soundOn = true;
  beep(1);
}

function beep(times = 3): void {
  if (!soundOn || !audio) return;
  const t0 = audio.currentTime;
  for (let i = 0; i < times; i++) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = i % 2 ? 660 : 880;
    gain.gain.setValueAtTime(0.0001, t0 + i * 0.35);
    gain.gain.exponentialRampToValueAtTime(0.3, t0 + i * 0.35 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.35 + 0.3);
    osc.connect(gain).connect(audio.destination);
    osc.start(t0 + i * 0.35);
    osc.stop(t0 + i * 0.35 + 0.32);
  }
}

export function notificationsEnabled(): boolean {
  return typeof Notification !== "undefined" && Notification.permission === "granted";
}

export async function enableNotifications(): Promise<boolean> {
  if (typeof Notification === "undefined") return false;
  return (await Notification.requestPermission()) === "granted";
}

function notify(a: Alert): void {
  if (!notificationsEnabled()) return;
  const n = new Notification(a.senior_name ?? a.title ?? "Senior Safe", {
    body: a.summary ?? a.title ?? a.kind ?? "",
    tag: `alert-${a.id}`,
    requireInteraction: true,
  });
  n.onclick = () => {
    window.focus();
    history.pushState(null, "", `/alerts?id=${a.id}`);
    dispatchEvent(new PopStateEvent("popstate"));
  };
}

// ------------------------------------------------------------------------------- live updates

function payloadAlert(p: unknown): Alert | null {
  if (!p || typeof p !== "object") return null;
  const obj = p as { alert?: Alert } & Alert;
  return obj.alert ?? (obj.id ? obj : null);
}

for (const ev of ALERT_EVENTS) {
  on(ev, (p, event) => {
    const a = payloadAlert(p);
    if (!a) return;
    upsertAlert(a);
    if ((event === "alert.opened" || event === "alert.escalated") && a.severity === "danger") {
      set({ unseenDanger: a });
      beep();
      notify(a);
    }
  });
}

on("snapshot", (p) => {
  const alerts = (p as { alerts?: Alert[] } | null)?.alerts;
  if (Array.isArray(alerts)) set({ status: "ok", open: alerts.filter(isOpen) });
});
