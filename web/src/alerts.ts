// The tab's view of open alerts: loaded from REST, kept current from the live gateway, shared by the
// header count, the danger banner, the seniors list and the alert centre. Also the attention-getters:
// a sound the user switches on (browsers only allow audio after a gesture) and browser notifications.
import { useSyncExternalStore } from "react";
import { api, Unavailable, type Alert } from "./api";
import { ALERT_EVENTS, on, type AccessChange } from "./realtime";

export interface AlertsState {
  status: "idle" | "loading" | "ok" | "unavailable" | "error";
  open: Alert[];
  /** senior id → name (alerts carry only the id): from the snapshot, else fetched once */
  names: Record<string, string>;
  /** a danger alert that arrived live and nobody in this tab has looked at yet */
  unseenDanger: Alert | null;
}

let state: AlertsState = { status: "idle", open: [], names: {}, unseenDanger: null };
const askedNames = new Set<string>();
const listeners = new Set<() => void>();
let soundOn = false;
let audio: AudioContext | null = null;

function set(next: Partial<AlertsState>): void {
  state = { ...state, ...next };
  listeners.forEach((fn) => fn());
}

export function isOpen(a: Alert): boolean {
  return a.status !== "closed" && !a.closed_at;
}

/** Newest first, so the list and banner are stable whatever order events arrive in. */
function byOpened(list: Alert[]): Alert[] {
  return [...list].sort((a, b) => b.opened_at.localeCompare(a.opened_at));
}

function learnNames(list: Alert[]): void {
  for (const a of list) {
    if (state.names[a.senior_id] || askedNames.has(a.senior_id)) continue;
    askedNames.add(a.senior_id);
    api
      .senior(a.senior_id)
      .then((s) => set({ names: { ...state.names, [s.id]: s.name } }))
      .catch(() => undefined);
  }
}

export function seniorName(a: Pick<Alert, "senior_id">, names: Record<string, string> = state.names): string {
  return names[a.senior_id] ?? "";
}

export async function loadAlerts(): Promise<void> {
  if (state.status === "loading") return;
  set({ status: state.status === "ok" ? "ok" : "loading" });
  try {
    const list = await api.alerts({ status: "open", limit: 200 });
    set({ status: "ok", open: byOpened(list.filter(isOpen)) });
    learnNames(list);
  } catch (e) {
    set({ status: e instanceof Unavailable ? "unavailable" : "error" });
  }
}

export function resetAlerts(): void {
  set({ status: "idle", open: [], names: {}, unseenDanger: null });
  askedNames.clear();
}

export function upsertAlert(a: Alert): void {
  const current = state.open.find((x) => x.id === a.id);
  // events may overtake each other: never let an older copy replace a newer one
  if (current && current.updated_at > a.updated_at && isOpen(a)) return;
  const others = state.open.filter((x) => x.id !== a.id);
  const unseen = state.unseenDanger?.id === a.id && !isOpen(a) ? null : state.unseenDanger;
  set({ open: isOpen(a) ? byOpened([a, ...others]) : others, unseenDanger: unseen });
  learnNames([a]);
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
  const n = new Notification(seniorName(a) || "Senior Safe", {
    body: a.evidence || a.kind,
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

/** The alert in a live event's data (realtime.ts already removed the envelope). */
export function payloadAlert(p: unknown): Alert | null {
  if (!p || typeof p !== "object") return null;
  const obj = p as Alert;
  return obj.id && obj.senior_id && obj.status ? obj : null;
}

function raiseAttention(a: Alert): void {
  set({ unseenDanger: a });
  beep();
  notify(a);
}

for (const ev of ALERT_EVENTS) {
  on(ev, (p, event) => {
    const a = payloadAlert(p);
    if (!a) return;
    upsertAlert(a);
    if ((event === "alert.opened" || event === "alert.escalated") && a.severity === "danger" && isOpen(a)) {
      raiseAttention(a);
    }
  });
}

// paged about another worker's resident (escalation to all staff on duty): the alert arrives with the
// access change, since its `alert.escalated` may have been sent before this tab joined the incident
on("access.changed", (p) => {
  const change = p as AccessChange | null;
  for (const raw of change?.alerts ?? []) {
    const a = payloadAlert(raw);
    if (!a) continue;
    const known = state.open.some((x) => x.id === a.id);
    upsertAlert(a);
    if (!known && a.severity === "danger" && isOpen(a)) raiseAttention(a);
  }
});

on("snapshot", (p) => {
  const snap = p as { alerts?: Alert[]; seniors?: { id: string; name: string }[] } | null;
  const names = { ...state.names };
  snap?.seniors?.forEach((s) => (names[s.id] = s.name));
  if (Array.isArray(snap?.alerts)) set({ status: "ok", open: byOpened(snap.alerts.filter(isOpen)), names });
  else set({ names });
  if (Array.isArray(snap?.alerts)) learnNames(snap.alerts);
});
