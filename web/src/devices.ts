// Device health per senior (hub offline / revoked / no hub, low battery), for the badges in the list.
// Hubs come from REST (homes → hubs, fetched a few at a time); `device.health` live events from the
// telemetry service update them. Low battery is only known from telemetry (live or sensor state).
import { useSyncExternalStore } from "react";
import { api, LOW_BATTERY_PERCENT, Unavailable, type Home, type Hub } from "./api";
import { on } from "./realtime";

export interface Health {
  hubs: Pick<Hub, "id" | "name" | "connectivity" | "last_seen_at">[];
  lowBattery: number[]; // sensor pks
  silent: number[]; // sensor pks
}

let homesBySenior: Map<string, Home> | null = null;
let homesLoading: Promise<void> | null = null;
const health = new Map<string, Health>(); // by senior id
const pending = new Set<string>();
const listeners = new Set<() => void>();
let version = 0;

function changed(): void {
  version++;
  listeners.forEach((fn) => fn());
}

async function ensureHomes(): Promise<void> {
  if (homesBySenior) return;
  homesLoading ??= api
    .homes()
    .then((homes) => {
      homesBySenior = new Map(homes.map((h) => [h.senior_id, h]));
    })
    .catch(() => {
      homesBySenior = new Map();
    });
  await homesLoading;
}

const queue: string[] = [];
let running = 0;

async function pump(): Promise<void> {
  while (running < 4 && queue.length) {
    const seniorId = queue.shift()!;
    running++;
    void (async () => {
      try {
        const home = homesBySenior?.get(seniorId);
        if (!home) health.set(seniorId, { hubs: [], lowBattery: [], silent: [] });
        else {
          try {
            const h = await api.deviceHealth(home.id);
            health.set(seniorId, {
              hubs: h.hubs,
              lowBattery: h.sensors.filter((x) => x.battery !== null && x.battery < LOW_BATTERY_PERCENT).map((x) => x.sensor_pk),
              silent: h.sensors.filter((x) => x.silent_since).map((x) => x.sensor_pk),
            });
          } catch (e) {
            if (!(e instanceof Unavailable)) throw e;
            const hubs = (await api.hubs(home.id)).filter((x) => x.status === "active");
            health.set(seniorId, { hubs, lowBattery: [], silent: [] });
          }
        }
        changed();
      } catch {
        /* leave unknown */
      } finally {
        running--;
        void pump();
      }
    })();
  }
}

/** Ask for the health of these seniors (the ones on screen). */
export async function requestHealth(seniorIds: string[]): Promise<void> {
  await ensureHomes();
  for (const id of seniorIds) {
    if (health.has(id) || pending.has(id)) continue;
    pending.add(id);
    queue.push(id);
  }
  void pump();
}

export function healthOf(seniorId: string): Health | undefined {
  return health.get(seniorId);
}

export function hasHome(seniorId: string): boolean | undefined {
  return homesBySenior ? homesBySenior.has(seniorId) : undefined;
}

export function useDeviceHealthVersion(): number {
  return useSyncExternalStore(
    (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    () => version,
  );
}

export function resetDevices(): void {
  homesBySenior = null;
  homesLoading = null;
  health.clear();
  pending.clear();
  changed();
}

// device.health payload (telemetry/health.py): {id, kind, org_id, home_id, hub_id, sensor_pk, at, details}
// kind: hub_offline | hub_online | sensor_silent | sensor_back | low_battery
on("device.health", (p) => {
  const d = p as { kind?: string; home_id?: string; hub_id?: string; sensor_pk?: number | null; details?: { battery?: number } };
  let seniorId: string | undefined;
  if (d.home_id && homesBySenior) for (const [s, h] of homesBySenior) if (h.id === d.home_id) seniorId = s;
  if (!seniorId) return;
  const h = health.get(seniorId);
  if (!h) return;
  const next: Health = { ...h };
  if (d.kind === "hub_offline" || d.kind === "hub_online") {
    const c = d.kind === "hub_offline" ? "offline" : "online";
    next.hubs = h.hubs.map((hub) => (hub.id === d.hub_id ? { ...hub, connectivity: c } : hub));
  } else if (d.sensor_pk != null) {
    const pk = d.sensor_pk;
    if (d.kind === "low_battery") next.lowBattery = [...new Set([...h.lowBattery, pk])];
    if (d.kind === "sensor_silent") next.silent = [...new Set([...h.silent, pk])];
    if (d.kind === "sensor_back") next.silent = h.silent.filter((x) => x !== pk);
  }
  health.set(seniorId, next);
  changed();
});
