// The REST client: token handling and one typed function per endpoint the dashboard uses.
//
// Token choice (see docs/dashboard.md): the access token lives only in this module's memory, never in
// localStorage/sessionStorage, so injected script cannot lift a long-lived credential from storage.
// The refresh token is an httpOnly SameSite=Strict cookie (`ss_refresh`, path /api/v1/auth) set by the
// backend; JavaScript never sees it. On page load we call POST /auth/refresh (cookie only, no body) to
// get a fresh access token. Refresh tokens rotate and a reused one revokes the whole sign-in, so
// refreshes are single-flight in a tab and serialised across tabs with the Web Locks API.
//
// Every path here exists in the backend's OpenAPI (`seniorsafe openapi`). Should a deployment run an
// older backend, a "route not found" answer throws `Unavailable` and the screen says so (never made-up data).

export type Role = "admin" | "staff" | "guardian";
export type Risk = "danger" | "caution" | "safe" | "unknown";
export const RISKS: Risk[] = ["danger", "caution", "safe", "unknown"];

export interface TokenPair {
  access_token: string;
  expires_in: number;
  refresh_token: string;
  refresh_expires_in: number;
}

export interface User {
  id: string;
  org_id: string;
  email: string;
  name: string;
  phone: string | null;
  role: Role;
  is_active: boolean;
  created_at: string;
  last_login_at: string | null;
  initial_password?: string | null;
}

export interface Organisation {
  id: string;
  name: string;
  phone: string | null;
}

export interface SeniorSummary {
  id: string;
  name: string;
  birth_date: string | null;
  sex: "female" | "male" | "other" | null;
  address: string | null;
  risk_level: Risk;
  risk_changed_at: string | null;
  has_photo: boolean;
}

export interface Medication {
  name: string;
  dose?: string | null;
  schedule?: string | null;
}

export interface Guardian {
  id: string;
  senior_id: string;
  name: string;
  relation: string | null;
  phone: string | null;
  email: string | null;
  user_id: string | null;
  priority: number;
  notification_preferences: { channels: string[]; severities: string[]; quiet_hours: [string, string] | null };
}

export interface StaffRef {
  user_id: string;
  name: string;
  phone: string | null;
  email: string;
  is_primary: boolean;
}

export interface SeniorDetail extends SeniorSummary {
  phone: string | null;
  health_conditions: string[];
  medications: Medication[];
  mobility: string | null;
  notes: string | null;
  video_consent: boolean;
  created_at: string;
  updated_at: string;
  guardians: Guardian[];
  staff: StaffRef[];
  home_id: string | null;
}

export interface Home {
  id: string;
  senior_id: string;
  address: string | null;
  timezone: string;
  rooms: string[];
}

export interface Hub {
  id: string;
  home_id: string;
  name: string;
  status: "active" | "revoked";
  connectivity: "unknown" | "online" | "offline";
  last_seen_at: string | null;
  credential_issued_at: string | null;
}

export interface DeviceCredential {
  id: string;
  secret: string;
  mqtt_username: string;
  issued_at: string;
}

export interface Sensor {
  id: number;
  home_id: string;
  hub_id: string;
  sensor_id: string;
  kind: string;
  room: string;
  label: string | null;
  config: Record<string, unknown>;
}

export interface Robot {
  id: string;
  home_id: string;
  hub_id: string;
  model: string;
  dock_room: string;
  status: "active" | "revoked";
  credential_issued_at: string | null;
}

// ---- detection thresholds and robot preferences (src/seniorsafe/detection/configuration_schemas.py,
// src/seniorsafe/robots/preferences.py)
export type ThresholdValue = number | boolean;
export type ThresholdLayer = Record<string, ThresholdValue>;

export interface OrgThresholds {
  defaults: ThresholdLayer;
  organisation: ThresholdLayer;
  effective: ThresholdLayer;
}

export interface SeniorThresholds extends OrgThresholds {
  senior_id: string;
  senior: ThresholdLayer;
}

export interface RobotSettings {
  auto_dispatch: boolean;
  early_check: boolean;
}

/** GET /organisation/robot-checks (src/seniorsafe/robots/api.py CheckStats; admins). */
export interface RobotCheckStats {
  days: number;
  checks: { source: string; outcome: string; count: number }[];
  early_checks: number;
  early_answered: number;
}

// ---- alerts (src/seniorsafe/alerts/schemas.py; live payloads are alerts.lifecycle.alert_payload)

export type AlertStatus = "open" | "acknowledged" | "closed";
export const OUTCOMES = ["resident_fine", "false_alarm", "help_sent", "hospital", "other"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface Alert {
  id: string;
  senior_id: string;
  home_id: string | null;
  kind: string;
  category: "resident" | "device" | "system" | string;
  severity: "danger" | "caution";
  status: AlertStatus;
  room: string | null;
  evidence: string;
  details: Record<string, unknown>;
  source: string;
  opened_at: string;
  updated_at: string;
  closed_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  assigned_to: string | null;
  outcome: string | null;
  resolution_note?: string | null;
  escalation_level: number;
}

export interface TimelineEntry {
  id: number;
  at: string;
  /** detected, updated, escalated, notified, acknowledged, assigned, note, robot_dispatched, robot_asking, robot_result, video_viewed, resolved, ... */
  type: string;
  actor_id: string | null;
  actor_name: string | null;
  text: string;
  details: Record<string, unknown>;
}

export interface AlertDetail extends Alert {
  /** who and where; `profile_visible` is false for a responder paged about someone else's resident */
  senior: { id: string; name: string; address: string | null; profile_visible: boolean };
  timeline: TimelineEntry[];
}

export interface ModelStatus {
  senior_id: string;
  status: "learning" | "ready";
  since: string | null;
  version: number | null;
  trained_at: string | null;
  days: number;
  events: number;
  feedback_used: number;
  summary: string;
  fault?: string | null;
  /** the last weeks day by day, as the last training saw them (local days of the home) */
  daily?: DailyRoutine[];
  /** what the home's sensors cannot see and what the detector then cannot do (plain words, most consequential first) */
  blind_spots?: string[];
}

export interface DailyRoutine {
  day: string;
  night_rest_h: number | null; // the longest quiet stretch of the night that ended this day
  up_at: number | null; // local hour (decimal) that stretch ended
  out_h: number;
  kitchen_first: number | null;
  bathroom_visits: number;
  night_bathroom_visits: number;
}

export interface RobotStatus {
  robot_id: string;
  state: string;
  battery: number | null;
  room: string | null;
  reported_at: string;
  last_seen_at?: string;
}

export interface EscalationPolicy {
  enabled: boolean;
  danger_minutes: number;
  caution_minutes: number;
  repeat_minutes: number;
  levels: string[];
}

export interface SensorStateOut {
  sensor_pk: number;
  sensor: string;
  kind: string;
  room: string;
  label: string | null;
  value: number | null;
  ts: string | null;
  battery: number | null;
  silent_since: string | null;
}

export interface SensorState {
  sensor_id: string;
  kind?: string;
  room?: string;
  label?: string | null;
  value?: number | boolean | null;
  ts?: string | null;
  battery?: number | null;
  silent_since?: string | null;
}

export interface HourlyActivity {
  bucket: string; // start of the hour, UTC
  room: string;
  events: number;
}

export interface SensorEvent {
  ts: string;
  hub_id: string;
  seq: number;
  sensor: string | null;
  sensor_pk: number;
  kind: string;
  room: string;
  value: number;
  late: boolean;
}

export interface DeviceHealth {
  home_id: string;
  hubs: { id: string; name: string; connectivity: Hub["connectivity"]; last_seen_at: string | null }[];
  sensors: SensorStateOut[];
  recent: { id: number; kind: string; hub_id: string; sensor_pk: number | null; at: string; details: Record<string, unknown> }[];
}

export const LOW_BATTERY_PERCENT = 20;

// ------------------------------------------------------------------------------------------ errors

export class ApiError extends Error {
  status: number;
  type: string;
  detail: string;
  errors: { field: string; message: string }[];
  constructor(status: number, body: Record<string, unknown> | null) {
    const detail = typeof body?.detail === "string" ? body.detail : `HTTP ${status}`;
    super(detail);
    this.status = status;
    this.type = typeof body?.type === "string" ? body.type : "";
    this.detail = detail;
    this.errors = Array.isArray(body?.errors) ? (body!.errors as { field: string; message: string }[]) : [];
  }
}

/** The endpoint does not exist on this backend (yet): show an empty state, not an error. */
export class Unavailable extends ApiError {}

// ------------------------------------------------------------------------------------ token state

const BASE = "/api/v1";
let accessToken: string | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | null = null;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<(signedIn: boolean) => void>();

export function getAccessToken(): string | null {
  return accessToken;
}

/** Called with `false` when the session ends (refresh failed, logout); `true` on every new token. */
export function onSessionChange(fn: (signedIn: boolean) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function setTokens(pair: TokenPair | null): void {
  accessToken = pair?.access_token ?? null;
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = null;
  if (pair) {
    // renew a minute before expiry (or at 80% of a short lifetime), silently
    const ms = Math.max(5_000, Math.min(pair.expires_in * 800, (pair.expires_in - 60) * 1000));
    refreshTimer = setTimeout(() => void refreshSession(), ms);
  }
  listeners.forEach((fn) => fn(pair !== null));
}

async function rawRefresh(): Promise<boolean> {
  const res = await fetch(`${BASE}/auth/refresh`, { method: "POST", credentials: "same-origin" });
  if (!res.ok) {
    setTokens(null);
    return false;
  }
  setTokens((await res.json()) as TokenPair);
  return true;
}

/** Get a new access token from the refresh cookie. Single-flight; serialised across tabs. */
export function refreshSession(): Promise<boolean> {
  if (!refreshing) {
    const locks = (navigator as Navigator & { locks?: LockManager }).locks;
    const run: Promise<boolean> = locks
      ? (locks.request("seniorsafe-refresh", () => rawRefresh()) as unknown as Promise<boolean>)
      : rawRefresh();
    const p = run
      .catch(() => {
        setTokens(null);
        return false;
      })
      .finally(() => {
        refreshing = null;
      });
    refreshing = p;
    return p;
  }
  return refreshing;
}

export async function login(email: string, password: string): Promise<void> {
  const res = await fetch(`${BASE}/auth/login`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body);
  setTokens(body as TokenPair);
}

export async function logout(everywhere = false): Promise<void> {
  try {
    if (accessToken) await request("POST", `/auth/logout${everywhere ? "?everywhere=true" : ""}`);
  } finally {
    setTokens(null);
  }
}

// ------------------------------------------------------------------------------------------ request

type Query = Record<string, string | number | boolean | null | undefined | (string | number)[]>;

function qs(query?: Query): string {
  if (!query) return "";
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => p.append(k, String(x)));
    else p.append(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** Fetch a protected image (e.g. a profile photo) as an object URL; <img src> cannot send the token. */
export async function fetchBlobUrl(path: string): Promise<string> {
  const res = await request<Response>("GET", path, { raw: true });
  return URL.createObjectURL(await res.blob());
}

export async function request<T = unknown>(
  method: string,
  path: string,
  opts: { query?: Query; body?: unknown; raw?: boolean } = {},
): Promise<T> {
  const url = `${BASE}${path}${qs(opts.query)}`;
  const send = () =>
    fetch(url, {
      method,
      credentials: "same-origin",
      headers: {
        ...(accessToken ? { Authorization: `Bearer ${accessToken}` } : {}),
        ...(opts.body !== undefined ? { "Content-Type": "application/json" } : {}),
      },
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    });
  let res = await send();
  if (res.status === 401 && !path.startsWith("/auth/")) {
    // expired or revoked access token: one silent refresh, then retry once
    if (await refreshSession()) res = await send();
  }
  if (res.status === 204) return undefined as T;
  if (opts.raw && res.ok) return res as unknown as T;
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const routeMissing =
      (res.status === 404 || res.status === 405) && typeof body?.type === "string" && body.type.startsWith("/problems/http-");
    throw routeMissing ? new Unavailable(res.status, body) : new ApiError(res.status, body);
  }
  return body as T;
}

const get = <T>(path: string, query?: Query) => request<T>("GET", path, { query });
const post = <T>(path: string, body?: unknown) => request<T>("POST", path, { body });
const patch = <T>(path: string, body?: unknown) => request<T>("PATCH", path, { body });
const put = <T>(path: string, body?: unknown) => request<T>("PUT", path, { body });
const del = (path: string) => request<void>("DELETE", path);

// -------------------------------------------------------------------------------- existing endpoints

export const api = {
  me: () => get<User>("/me"),
  organisation: () => get<Organisation>("/organisation"),
  updateOrganisation: (body: Partial<Organisation>) => patch<Organisation>("/organisation", body),

  users: (role?: Role) => get<User[]>("/users", { role }),
  createUser: (body: { email: string; name: string; role: Role; phone?: string | null; password?: string }) =>
    post<User>("/users", body),
  updateUser: (id: string, body: Partial<Pick<User, "name" | "phone" | "role" | "is_active">>) =>
    patch<User>(`/users/${id}`, body),

  seniors: (query: { q?: string; risk?: Risk[]; cursor?: string | null; limit?: number; sort?: string }) =>
    get<{ items: SeniorSummary[]; next_cursor: string | null }>("/seniors", query as Query),
  senior: (id: string) => get<SeniorDetail>(`/seniors/${id}`),
  createSenior: (body: Record<string, unknown>) => post<SeniorDetail>("/seniors", body),
  updateSenior: (id: string, body: Record<string, unknown>) => patch<SeniorDetail>(`/seniors/${id}`, body),
  deleteSenior: (id: string) => del(`/seniors/${id}`),
  addGuardian: (seniorId: string, body: Record<string, unknown>) => post<Guardian>(`/seniors/${seniorId}/guardians`, body),
  removeGuardian: (seniorId: string, id: string) => del(`/seniors/${seniorId}/guardians/${id}`),
  assignStaff: (seniorId: string, userId: string, isPrimary = false) =>
    put<void>(`/seniors/${seniorId}/staff/${userId}`, { is_primary: isPrimary }),
  unassignStaff: (seniorId: string, userId: string) => del(`/seniors/${seniorId}/staff/${userId}`),
  photo: (id: string) => fetchBlobUrl(`/seniors/${id}/photo`),

  homes: () => get<Home[]>("/homes"),
  homeOf: (seniorId: string) => get<Home>(`/seniors/${seniorId}/home`),
  createHome: (seniorId: string, body: Partial<Home>) => post<Home>(`/seniors/${seniorId}/home`, body),
  updateHome: (homeId: string, body: Partial<Home>) => patch<Home>(`/homes/${homeId}`, body),
  hubs: (homeId: string) => get<Hub[]>(`/homes/${homeId}/hubs`),
  createHub: (homeId: string, body: { id: string; name: string }) =>
    post<Hub & { credential: DeviceCredential }>(`/homes/${homeId}/hubs`, body),
  rotateHub: (hubId: string) => post<DeviceCredential>(`/hubs/${hubId}/credential`),
  revokeHub: (hubId: string) => post<Hub>(`/hubs/${hubId}/revoke`),
  deleteHub: (hubId: string) => del(`/hubs/${hubId}`),
  sensors: (homeId: string) => get<Sensor[]>(`/homes/${homeId}/sensors`),
  addSensor: (hubId: string, body: { sensor_id: string; kind: string; room: string; label?: string }) =>
    post<Sensor>(`/hubs/${hubId}/sensors`, body),
  updateSensor: (id: number, body: Partial<Sensor>) => patch<Sensor>(`/sensors/${id}`, body),
  deleteSensor: (id: number) => del(`/sensors/${id}`),
  robots: (homeId: string) => get<Robot[]>(`/homes/${homeId}/robots`),
  createRobot: (homeId: string, body: { id: string; hub_id: string; model: string; dock_room: string }) =>
    post<Robot & { credential: DeviceCredential }>(`/homes/${homeId}/robots`, body),
  rotateRobot: (robotId: string) => post<DeviceCredential>(`/robots/${robotId}/credential`),
  revokeRobot: (robotId: string) => post<Robot>(`/robots/${robotId}/revoke`),

  // alerts (src/seniorsafe/alerts/api.py)
  alerts: (query: { status?: "open" | "closed" | "all"; senior_id?: string; limit?: number } = {}) =>
    get<{ items: Alert[]; next_cursor: string | null }>("/alerts", query as Query).then((p) => p.items),
  alert: (id: string) => get<AlertDetail>(`/alerts/${id}`),
  incidents: (seniorId: string, limit = 20) =>
    get<{ items: AlertDetail[]; next_cursor: string | null }>(`/seniors/${seniorId}/incidents`, { limit }).then((p) => p.items),
  acknowledgeAlert: (id: string) => post<Alert>(`/alerts/${id}/acknowledge`),
  assignAlert: (id: string, userId: string) => post<Alert>(`/alerts/${id}/assign`, { user_id: userId }),
  noteAlert: (id: string, text: string) => post<Alert>(`/alerts/${id}/notes`, { text }),
  resolveAlert: (id: string, outcome: Outcome, note?: string) => post<Alert>(`/alerts/${id}/resolve`, { outcome, note: note || null }),

  // telemetry (src/seniorsafe/telemetry/api.py)
  sensorState: (homeId: string) =>
    get<SensorStateOut[]>(`/homes/${homeId}/sensors/state`).then((rows) =>
      rows.map((r): SensorState => ({ ...r, sensor_id: r.sensor })),
    ),
  hourlyActivity: (homeId: string, days: number) =>
    get<HourlyActivity[]>(`/homes/${homeId}/activity/hourly`, {
      from: new Date(Date.now() - days * 86_400_000).toISOString(),
      to: new Date().toISOString(),
    }),
  events: (seniorId: string, from: Date, to?: Date, cursor?: string | null) =>
    get<{ items: SensorEvent[]; next_cursor: string | null }>(`/seniors/${seniorId}/events`, {
      from: from.toISOString(),
      to: (to ?? new Date()).toISOString(),
      limit: 1000,
      cursor,
    }),
  deviceHealth: (homeId: string) => get<DeviceHealth>(`/homes/${homeId}/device-health`),
  // detection (src/seniorsafe/detection/api.py)
  modelStatus: (seniorId: string) => get<ModelStatus>(`/seniors/${seniorId}/model`),
  escalationPolicy: () => get<EscalationPolicy>("/organisation/escalation"),
  orgThresholds: () => get<OrgThresholds>("/organisation/detection-thresholds"),
  setOrgThresholds: (overrides: ThresholdLayer) => put<OrgThresholds>("/organisation/detection-thresholds", overrides),
  seniorThresholds: (seniorId: string) => get<SeniorThresholds>(`/seniors/${seniorId}/detection-thresholds`),
  setSeniorThresholds: (seniorId: string, overrides: ThresholdLayer) =>
    put<SeniorThresholds>(`/seniors/${seniorId}/detection-thresholds`, overrides),
  robotSettings: () => get<RobotSettings>("/organisation/robot-settings"),
  robotCheckStats: (days = 7) => get<RobotCheckStats>(`/organisation/robot-checks?days=${days}`),
  setRobotSettings: (body: RobotSettings) => put<RobotSettings>("/organisation/robot-settings", body),
  // robots and video (src/seniorsafe/robots/api.py, src/seniorsafe/webrtc/api.py)
  iceServers: () => get<{ iceServers: RTCIceServer[]; ttl: number }>("/webrtc/ice-servers"),
  robotStatus: (robotId: string) => get<RobotStatus | null>(`/robots/${robotId}/status`),
  robotCommand: (robotId: string, type: string, args: Record<string, unknown> = {}, alertId?: string) =>
    post<{ id: string; state: string }>(`/robots/${robotId}/commands`, { type, args, alert_id: alertId ?? null }),
};
