// Today's activity as a care worker reads it, derived from the raw sensor events of
// GET /seniors/{id}/events: consecutive events in one room become a stay ("08:02–08:31 kitchen"),
// and events that matter on their own (front door, emergency button, smoke, water) stand alone.
import type { SensorEvent } from "./api";

export interface Stay {
  start: string;
  end: string;
  room: string;
  events: number;
  notable?: "door" | "button" | "smoke" | "water_leak" | "gas";
}

const GAP_MS = 10 * 60_000;
const NOTABLE: Record<string, Stay["notable"]> = { button: "button", smoke: "smoke", water_leak: "water_leak", gas: "gas" };

export function stays(events: SensorEvent[]): Stay[] {
  const sorted = [...events].sort((a, b) => a.ts.localeCompare(b.ts));
  const out: Stay[] = [];
  let cur: Stay | null = null;
  for (const e of sorted) {
    const notable = NOTABLE[e.kind] ?? (e.kind === "door" && e.room === "entrance" && e.value > 0 ? "door" : undefined);
    if (notable) {
      if (e.value > 0 || notable === "door") out.push({ start: e.ts, end: e.ts, room: e.room, events: 1, notable });
      continue;
    }
    if (e.value <= 0 && e.kind === "motion") continue; // a motion sensor resetting is not activity
    if (cur && cur.room === e.room && Date.parse(e.ts) - Date.parse(cur.end) <= GAP_MS) {
      cur.end = e.ts;
      cur.events++;
    } else {
      cur = { start: e.ts, end: e.ts, room: e.room, events: 1 };
      out.push(cur);
    }
  }
  return out;
}

export interface DayTrend {
  day: string;
  total: number;
  bathroomHours: number;
  nightEvents: number;
  kitchenHours: number;
  nightBathroomHours: number;
}

const isWet = (room: string) => room === "bathroom" || room === "toilet";
const hoursOf = (buckets: { hour: number }[]) => new Set(buckets.map((b) => b.hour)).size;

/** Per-day figures from hourly buckets: all activity, hours with bathroom activity, activity 00–05, hours with
 * kitchen activity (meals) and hours 00–04 with bathroom activity (night visits): the habits the detector's
 * routine-change cautions compare with the resident's own normal. */
export function dayTrends(buckets: { day: string; hour: number; room: string; n: number }[], days: string[]): DayTrend[] {
  return days.map((day) => {
    const mine = buckets.filter((b) => b.day === day);
    const wet = mine.filter((b) => isWet(b.room));
    return {
      day,
      total: mine.reduce((a, b) => a + b.n, 0),
      bathroomHours: hoursOf(wet),
      nightEvents: mine.filter((b) => b.hour < 6).reduce((a, b) => a + b.n, 0),
      kitchenHours: hoursOf(mine.filter((b) => b.room === "kitchen")),
      nightBathroomHours: hoursOf(wet.filter((b) => b.hour < 5)),
    };
  });
}
