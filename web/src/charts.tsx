// Hand-drawn SVG charts (no charting library): the 4-week routine heat map and per-room bars.
import type { T } from "./i18n";
import type { Key } from "./i18n";

export interface Bucket {
  day: string; // YYYY-MM-DD in the home's time zone
  hour: number; // 0..23 in the home's time zone
  room: string;
  n: number;
}

/** Local calendar day and hour of an instant in a time zone (the home's, not the viewer's). */
export function zoned(tz: string | undefined): (d: Date) => { day: string; hour: number } {
  const f = new Intl.DateTimeFormat("en-CA", {
    timeZone: tz,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    hourCycle: "h23",
  });
  return (d) => {
    const p = Object.fromEntries(f.formatToParts(d).map((x) => [x.type, x.value]));
    return { day: `${p.year}-${p.month}-${p.day}`, hour: Number(p.hour) % 24 };
  };
}

/** Rows of GET /homes/{id}/activity/hourly ({bucket, room, events}) → buckets in the home's time zone. */
export function toBuckets(rows: { bucket: string; room: string; events: number }[], tz?: string): Bucket[] {
  const z = zoned(tz);
  return rows.map((r) => ({ ...z(new Date(r.bucket)), room: r.room, n: r.events }));
}

export function lastDays(days: number, tz?: string): string[] {
  const z = zoned(tz);
  const out: string[] = [];
  for (let i = days - 1; i >= 0; i--) out.push(z(new Date(Date.now() - i * 86_400_000)).day);
  return [...new Set(out)];
}

export function HeatMap({ buckets, days, tz, t }: { buckets: Bucket[]; days: number; tz?: string; t: T }) {
  const dayList = lastDays(days, tz);
  const grid = new Map<string, number>();
  for (const b of buckets) {
    const k = `${b.day}|${b.hour}`;
    grid.set(k, (grid.get(k) ?? 0) + b.n);
  }
  const max = Math.max(1, ...grid.values());
  const cell = 14;
  const left = 40;
  const top = 18;
  const width = left + 24 * cell + 4;
  const height = top + dayList.length * cell + 4;
  const total = [...grid.values()].reduce((a, b) => a + b, 0);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${t("senior.routine")}: ${total}`} className="heatmap">
        {[0, 6, 12, 18].map((h) => (
          <text key={h} x={left + h * cell} y={12} className="axis">
            {String(h).padStart(2, "0")}
          </text>
        ))}
        {dayList.map((d, i) => (
          <g key={d}>
            {(i % 7 === 0 || i === dayList.length - 1) && (
              <text x={0} y={top + i * cell + cell - 3} className="axis">
                {d.slice(5).replace("-", "/")}
              </text>
            )}
            {Array.from({ length: 24 }, (_, h) => {
              const v = grid.get(`${d}|${h}`) ?? 0;
              const a = v ? 0.15 + 0.85 * (v / max) : 0;
              return (
                <rect
                  key={h}
                  x={left + h * cell}
                  y={top + i * cell}
                  width={cell - 1}
                  height={cell - 1}
                  rx={2}
                  fill={v ? `rgba(31,78,121,${a.toFixed(2)})` : "#eef1f4"}
                >
                  <title>{`${d} ${h}:00 — ${v}`}</title>
                </rect>
              );
            })}
          </g>
        ))}
      </svg>
      <figcaption className="muted small">{t("senior.routineHint")}</figcaption>
    </figure>
  );
}

export function RoomBars({ buckets, t }: { buckets: Bucket[]; t: T }) {
  const byRoom = new Map<string, number>();
  for (const b of buckets) byRoom.set(b.room, (byRoom.get(b.room) ?? 0) + b.n);
  const rows = [...byRoom.entries()].sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...rows.map((r) => r[1]));
  return (
    <dl className="bars">
      {rows.map(([room, n]) => {
        const label = t(`room.${room}` as Key);
        return (
          <div key={room} className="bar-row">
            <dt>{label.startsWith("room.") ? room : label}</dt>
            <dd>
              <span className="bar" style={{ width: `${(100 * n) / max}%` }} />
              <span className="bar-n">{n}</span>
            </dd>
          </div>
        );
      })}
    </dl>
  );
}

/** A small line of values (one per day) for a trend such as hours of sleep. */
export function Sparkline({ values, label, unit }: { values: (number | null)[]; label: string; unit: string }) {
  const pts = values.map((v, i) => [i, v] as const).filter((p): p is readonly [number, number] => p[1] !== null);
  if (!pts.length) return null;
  const max = Math.max(...pts.map((p) => p[1]), 1);
  const w = 160;
  const h = 40;
  const x = (i: number) => (values.length > 1 ? (i / (values.length - 1)) * (w - 4) + 2 : w / 2);
  const y = (v: number) => h - 3 - (v / max) * (h - 6);
  const last = pts[pts.length - 1][1];
  return (
    <div className="spark">
      <svg viewBox={`0 0 ${w} ${h}`} width={w} height={h} role="img" aria-label={`${label}: ${last} ${unit}`}>
        <polyline fill="none" stroke="#1f4e79" strokeWidth={2} points={pts.map(([i, v]) => `${x(i)},${y(v)}`).join(" ")} />
      </svg>
      <span>
        <strong>{label}</strong> {last} {unit}
      </span>
    </div>
  );
}
