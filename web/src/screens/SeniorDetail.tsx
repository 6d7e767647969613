// One senior: profile, health, people, the home's sensors by room, today, 4-week routine, trends,
// emergency history (GET /seniors/{id}/incidents) and model status (GET /seniors/{id}/model). Live:
// risk (`senior.status_changed`), sensors (`sensor.activity`, watched while the page is open), alerts.
import { lazy, Suspense, useRef, useState } from "react";
import { api, LOW_BATTERY_PERCENT, Unavailable, type Alert, type DailyRoutine, type ModelStatus, type SensorEvent, type SeniorDetail, type Sensor, type SensorState } from "../api";
import { dayTrends, stays } from "../activity";
import { HeatMap, lastDays, RoomBars, Sparkline, toBuckets, type Bucket } from "../charts";
import { tEnum, useI18n, type Key } from "../i18n";
import { ALERT_EVENTS, useLive, useWatch } from "../realtime";
import { Link } from "../router";
import { useMe } from "../session";
import { age, Avatar, CallLink, Empty, ErrorBox, RiskBadge, Section, Show, Spinner, useLoad, type Loaded } from "../ui";

// admins set a senior's own detection thresholds here (loaded only for them)
const SeniorThresholds = lazy(() => import("../thresholds").then((m) => ({ default: m.SeniorThresholdsSection })));

export function SeniorDetailScreen({ id }: { id: string }) {
  const { t } = useI18n();
  const isAdmin = useMe().role === "admin";
  const [senior, reload, setSenior] = useLoad(() => api.senior(id), [id]);
  const homeId = senior.state === "ok" ? senior.data.home_id : null;
  const [home] = useLoad(() => (homeId ? api.homeOf(id) : Promise.resolve(null)), [homeId]);
  const tz = home.state === "ok" ? home.data?.timezone : undefined;
  useWatch(id); // sensor.activity of this senior while the page is open

  useLive(["senior.status_changed"], (p) => {
    const d = p as { senior_id?: string; risk_level?: SeniorDetail["risk_level"]; risk_changed_at?: string };
    if (d.senior_id === id && d.risk_level && senior.state === "ok")
      setSenior({ ...senior.data, risk_level: d.risk_level, risk_changed_at: d.risk_changed_at ?? new Date().toISOString() });
  });

  if (senior.state === "loading") return <Spinner />;
  if (senior.state === "error") {
    const notFound = "status" in senior.error && (senior.error.status === 404 || senior.error.status === 403);
    return (
      <div className="page">
        {notFound ? <Empty>{t("senior.notFound")}</Empty> : <ErrorBox error={senior.error} retry={reload} />}
        <Link to="/">{t("common.back")}</Link>
      </div>
    );
  }
  if (senior.state !== "ok") return null;
  return <SeniorPage s={senior.data} tz={tz} isAdmin={isAdmin} />;
}

function SeniorPage({ s, tz, isAdmin }: { s: SeniorDetail; tz?: string; isAdmin: boolean }) {
  // one request for the model's status: its card, and the day-by-day routine in the trends
  const [model] = useLoad(() => api.modelStatus(s.id), [s.id]);
  const daily = model.state === "ok" ? (model.data.daily ?? []) : [];
  return (
    <div className="page">
      <SeniorHeader s={s} />
      <div className="grid">
        <ProfileCard s={s} />
        <PeopleCard s={s} />
        <HomeStateCard s={s} />
        <TodayCard s={s} />
        <HistoryCard seniorId={s.id} />
        <RoutineCard s={s} tz={tz} />
        <TrendsCard s={s} tz={tz} daily={daily} />
        <ModelCard data={model} />
        {isAdmin && (
          <Suspense fallback={<Spinner />}>
            <SeniorThresholds seniorId={s.id} />
          </Suspense>
        )}
      </div>
    </div>
  );
}

export function SeniorHeader({ s, guardian }: { s: SeniorDetail; guardian?: boolean }) {
  const { t, fmtDate } = useI18n();
  const a = age(s.birth_date);
  return (
    <div className="senior-header">
      {!guardian && (
        <Link to="/" className="back-link">
          ← {t("common.back")}
        </Link>
      )}
      <div className="senior-header-main">
        <Avatar name={s.name} seniorId={s.has_photo ? s.id : null} large />
        <div>
          <h1 data-testid="senior-name">{s.name}</h1>
          <p className="muted">
            {a !== null ? t("home.age", { n: a }) : ""}
            {s.sex ? ` · ${t(`sex.${s.sex}` as Key)}` : ""}
            {s.address ? ` · ${s.address}` : ""}
          </p>
        </div>
        <div className="senior-header-risk">
          <RiskBadge risk={s.risk_level} large />
          {s.risk_changed_at && (
            <span className="muted small">
              {t("home.since")} {fmtDate(s.risk_changed_at, true)}
            </span>
          )}
        </div>
      </div>
      <div className="actions">
        {s.phone && <CallLink phone={s.phone} label={`${s.name} ${t("common.call")}`} />}
        {s.home_id && (
          <Link className="btn" to={`/seniors/${s.id}/video`} data-testid="video-link">
            <span aria-hidden="true">▶</span> {t("senior.video")}
          </Link>
        )}
      </div>
    </div>
  );
}

function ProfileCard({ s }: { s: SeniorDetail }) {
  const { t, fmtDate } = useI18n();
  return (
    <Section title={t("senior.health")} id="health">
      <dl className="kv">
        <dt>{t("senior.birth")}</dt>
        <dd>{fmtDate(s.birth_date)}</dd>
        <dt>{t("senior.mobility")}</dt>
        <dd>{tEnum(t, "mobility", s.mobility)}</dd>
        <dt>{t("senior.conditions")}</dt>
        <dd>
          {s.health_conditions.length ? (
            <ul className="tags">
              {s.health_conditions.map((c) => (
                <li key={c}>{c}</li>
              ))}
            </ul>
          ) : (
            t("common.none")
          )}
        </dd>
        <dt>{t("senior.medications")}</dt>
        <dd>
          {s.medications.length ? (
            <ul className="plain">
              {s.medications.map((m, i) => (
                <li key={i}>
                  {m.name}
                  {m.dose ? ` ${m.dose}` : ""}
                  {m.schedule ? ` — ${m.schedule}` : ""}
                </li>
              ))}
            </ul>
          ) : (
            t("common.none")
          )}
        </dd>
        <dt>{t("senior.videoConsent")}</dt>
        <dd>{s.video_consent ? t("common.yes") : t("common.no")}</dd>
        {s.notes && (
          <>
            <dt>{t("senior.notes")}</dt>
            <dd className="pre">{s.notes}</dd>
          </>
        )}
      </dl>
    </Section>
  );
}

function PeopleCard({ s }: { s: SeniorDetail }) {
  const { t } = useI18n();
  return (
    <Section title={`${t("senior.guardians")} · ${t("senior.staff")}`} id="people">
      <h3 className="h3">{t("senior.guardians")}</h3>
      {s.guardians.length === 0 && <Empty>{t("common.none")}</Empty>}
      <ul className="people" data-testid="guardians">
        {s.guardians.map((g) => (
          <li key={g.id}>
            <span>
              <strong>{g.name}</strong> {g.relation && <span className="muted">({g.relation})</span>}
            </span>
            {g.phone && <CallLink phone={g.phone} label={g.phone} />}
          </li>
        ))}
      </ul>
      <h3 className="h3">{t("senior.staff")}</h3>
      {s.staff.length === 0 && <Empty>{t("common.none")}</Empty>}
      <ul className="people" data-testid="staff">
        {s.staff.map((st) => (
          <li key={st.user_id}>
            <span>
              <strong>{st.name}</strong> {st.is_primary && <span className="muted">({t("senior.primary")})</span>}
            </span>
            {st.phone && <CallLink phone={st.phone} label={st.phone} />}
          </li>
        ))}
      </ul>
    </Section>
  );
}

type Live = Record<string, SensorState>;

function HomeStateCard({ s }: { s: SeniorDetail }) {
  const { t, fmtTime } = useI18n();
  const homeId = s.home_id;
  const [sensors] = useLoad(() => (homeId ? api.sensors(homeId) : Promise.resolve([] as Sensor[])), [homeId]);
  const [state, , setState] = useLoad<Live | null>(
    () =>
      homeId
        ? api
            .sensorState(homeId)
            .then((rows) => Object.fromEntries(rows.map((r) => [r.sensor_id, r])))
            .catch((e) => (e instanceof Unavailable ? null : Promise.reject(e)))
        : Promise.resolve(null),
    [homeId],
  );
  const [lastRoom, setLastRoom] = useState<string | null>(null);

  // sensor.activity payload (telemetry/service.py): {senior_id, home_id, hub_id, sensor, kind, room, value, ts, seq}
  useLive(["sensor.activity"], (p) => {
    const d = p as { senior_id?: string; home_id?: string; sensor?: string; room?: string; value?: number; ts?: string };
    if ((d.home_id && d.home_id !== homeId) || (d.senior_id && d.senior_id !== s.id) || !d.sensor) return;
    const cur = state.state === "ok" && state.data ? state.data : {};
    const old = cur[d.sensor];
    if (old?.ts && d.ts && old.ts > d.ts) return; // a late event never overwrites the live state
    setState({ ...cur, [d.sensor]: { ...old, sensor_id: d.sensor, value: d.value, ts: d.ts, room: d.room } });
    if (d.room) setLastRoom(d.room);
  });

  if (!homeId)
    return (
      <Section title={t("senior.homeState")} id="home-state">
        <Empty>{t("senior.noHome")}</Empty>
      </Section>
    );
  return (
    <Section title={t("senior.homeState")} id="home-state">
      <Show value={sensors}>
        {(list) => {
          if (!list.length) return <Empty>{t("senior.noSensors")}</Empty>;
          const live = state.state === "ok" ? state.data : null;
          const rooms = new Map<string, Sensor[]>();
          list.forEach((x) => rooms.set(x.room, [...(rooms.get(x.room) ?? []), x]));
          return (
            <>
              {live === null && state.state !== "loading" && (
                <p className="muted small" data-testid="state-unavailable">
                  {t("common.notAvailable")}
                </p>
              )}
              <div className="rooms" data-testid="rooms">
                {[...rooms.entries()].map(([room, ss]) => (
                  <div key={room} className={`room${lastRoom === room ? " room-active" : ""}`}>
                    <h3 className="h3">{tEnum(t, "room", room)}</h3>
                    <ul className="plain">
                      {ss.map((x) => {
                        const v = live?.[x.sensor_id];
                        const on = v?.value === true || (typeof v?.value === "number" && v.value > 0);
                        return (
                          <li key={x.id} className="sensor" data-sensor={x.sensor_id}>
                            <span className={`sdot${v?.ts ? (on ? " on" : " off") : ""}`} aria-hidden="true" />
                            <span>{x.label ?? x.sensor_id}</span>
                            <span className="muted small">
                              {v?.ts ? `${sensorValue(x.kind, v.value)} · ${fmtTime(v.ts)}` : t("senior.noEvent")}
                            </span>
                            {typeof v?.battery === "number" && v.battery < LOW_BATTERY_PERCENT && (
                              <span className="badge tone-warn">
                                {t("device.lowBattery")} {v.battery}%
                              </span>
                            )}
                            {v?.silent_since && <span className="badge tone-muted">{t("device.silent")}</span>}
                          </li>
                        );
                      })}
                    </ul>
                  </div>
                ))}
              </div>
            </>
          );
        }}
      </Show>
    </Section>
  );
}

function sensorValue(kind: string, v: SensorState["value"]): string {
  if (v === null || v === undefined) return "—";
  if (kind === "power") return `${Number(v).toFixed(0)} W`;
  if (kind === "temperature") return `${Number(v).toFixed(1)} °C`;
  return Number(v) > 0 ? "ON" : "OFF";
}

function startOfToday(): Date {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d;
}

function TodayCard({ s }: { s: SeniorDetail }) {
  const { t, fmtTime } = useI18n();
  const [all, setAll] = useState(false);
  const [tl, reload] = useLoad(async () => {
    const out: SensorEvent[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: SensorEvent[]; next_cursor: string | null } = await api.events(s.id, startOfToday(), undefined, cursor);
      out.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && out.length < 5000);
    return stays(out).reverse();
  }, [s.id]);
  // refresh the summary now and then while live events arrive
  const last = useRef(0);
  useLive(["sensor.activity"], (p) => {
    if ((p as { senior_id?: string }).senior_id !== s.id || Date.now() - last.current < 30_000) return;
    last.current = Date.now();
    reload();
  });
  return (
    <Section title={t("senior.today")} id="today">
      <Show value={tl}>
        {(items) =>
          items.length ? (
            <ol className="timeline" data-testid="today">
              {items.slice(0, all ? 200 : 10).map((e, i) => (
                <li key={i} className={e.notable ? "notable" : undefined}>
                  <time dateTime={e.start}>{fmtTime(e.start)}</time>
                  {e.end !== e.start && <>–{fmtTime(e.end)}</>}{" "}
                  <span>
                    {e.notable ? t(`notable.${e.notable}` as Key) : tEnum(t, "room", e.room)}
                    {!e.notable && <span className="muted small"> ({t("today.events", { n: e.events })})</span>}
                  </span>
                </li>
              ))}
              {items.length > 10 && (
                <li>
                  <button type="button" className="btn btn-small" aria-expanded={all} onClick={() => setAll(!all)}>
                    {all ? t("today.less") : t("today.more", { n: items.length - 10 })}
                  </button>
                </li>
              )}
            </ol>
          ) : (
            <Empty>{t("today.none")}</Empty>
          )
        }
      </Show>
    </Section>
  );
}

function useHourly(s: SeniorDetail, tz: string | undefined, days: number) {
  return useLoad(
    () => (s.home_id ? api.hourlyActivity(s.home_id, days).then((rows) => toBuckets(rows, tz)) : Promise.resolve([] as Bucket[])),
    [s.home_id, tz, days],
  );
}

function RoutineCard({ s, tz }: { s: SeniorDetail; tz?: string }) {
  const { t } = useI18n();
  const [data] = useHourly(s, tz, 28);
  return (
    <Section title={t("senior.routine")} id="routine">
      {!s.home_id ? (
        <Empty>{t("senior.noHome")}</Empty>
      ) : (
        <Show value={data}>
          {(buckets) =>
            buckets.length ? (
              <div className="routine">
                <HeatMap buckets={buckets} days={28} tz={tz} t={t} />
                <RoomBars buckets={buckets} t={t} />
              </div>
            ) : (
              <Empty>{t("routine.none")}</Empty>
            )
          }
        </Show>
      )}
    </Section>
  );
}

/** Up at / night rest / time out per day from the model's routine (hours of the day as e.g. 7.5 = 07:30). */
function RoutineSparks({ daily }: { daily: DailyRoutine[] }) {
  const { t } = useI18n();
  if (!daily.length) return null;
  return (
    <div className="sparks" data-testid="routine-trends">
      <Sparkline values={daily.map((d) => d.night_rest_h)} label={t("trend.nightRest")} unit={t("trend.h")} />
      <Sparkline values={daily.map((d) => d.up_at)} label={t("trend.upAt")} unit={t("trend.oclock")} />
      <Sparkline values={daily.map((d) => d.out_h)} label={t("trend.out")} unit={t("trend.h")} />
    </div>
  );
}

function TrendsCard({ s, tz, daily }: { s: SeniorDetail; tz?: string; daily: DailyRoutine[] }) {
  const { t } = useI18n();
  const [data] = useHourly(s, tz, 28);
  return (
    <Section title={t("senior.trends")} id="trends">
      {!s.home_id ? (
        <Empty>{t("senior.noHome")}</Empty>
      ) : (
        <Show value={data}>
          {(buckets) => {
            if (!buckets.length) return <Empty>{t("routine.none")}</Empty>;
            const rows = dayTrends(buckets, lastDays(28, tz));
            return (
              <>
                <div className="sparks">
                  <Sparkline values={rows.map((r) => r.total)} label={t("trend.activity")} unit={t("trend.perDay")} />
                  <Sparkline values={rows.map((r) => r.bathroomHours)} label={t("trend.bathroom")} unit={t("trend.hours")} />
                  <Sparkline values={rows.map((r) => r.nightEvents)} label={t("trend.night")} unit={t("trend.perDay")} />
                  <Sparkline values={rows.map((r) => r.kitchenHours)} label={t("trend.kitchen")} unit={t("trend.hours")} />
                  <Sparkline
                    values={rows.map((r) => r.nightBathroomHours)}
                    label={t("trend.nightBathroom")}
                    unit={t("trend.hours")}
                  />
                </div>
                <RoutineSparks daily={daily} />
                <p className="muted small">{t("trend.note")}</p>
              </>
            );
          }}
        </Show>
      )}
    </Section>
  );
}

export function AlertList({ alerts, compact }: { alerts: Alert[]; compact?: boolean }) {
  const { t, fmtDate } = useI18n();
  return (
    <ul className="alert-history" data-testid="alert-history">
      {alerts.map((a) => (
        <li key={a.id} className={`sev-${a.severity}`} data-alert-id={a.id} data-status={a.status}>
          <span className={`badge risk-${a.severity === "danger" ? "danger" : "caution"}`}>{tEnum(t, "risk", a.severity)}</span>
          <span className="grow">
            <strong>{tEnum(t, "alertKind", a.kind)}</strong>
            {!compact && a.evidence && <span className="muted small block">{a.evidence}</span>}
          </span>
          <span className="muted small">
            {fmtDate(a.opened_at, true)}
            {a.outcome ? ` · ${tEnum(t, "alerts.outcome", a.outcome)}` : ` · ${tEnum(t, "alerts.status", a.status)}`}
          </span>
        </li>
      ))}
    </ul>
  );
}

function HistoryCard({ seniorId }: { seniorId: string }) {
  const { t } = useI18n();
  const [data, reload] = useLoad(() => api.incidents(seniorId, 20), [seniorId]);
  useLive(ALERT_EVENTS, (p) => {
    if ((p as { senior_id?: string })?.senior_id === seniorId) reload();
  });
  return (
    <Section title={t("senior.history")} id="history">
      <Show value={data}>{(alerts) => (alerts.length ? <AlertList alerts={alerts} /> : <Empty>{t("senior.noAlerts")}</Empty>)}</Show>
    </Section>
  );
}

function ModelCard({ data }: { data: Loaded<ModelStatus> }) {
  const { t, fmtDate } = useI18n();
  return (
    <Section title={t("senior.model")} id="model">
      <Show value={data}>
        {(m) => (
          <>
            <p data-testid="model-status" data-status={m.status}>
              <span className={`badge ${m.status === "ready" ? "risk-safe" : "risk-unknown"}`}>{tEnum(t, "model", m.status)}</span>{" "}
              <span className="muted">
                {t("model.days", { n: Math.floor(m.days) })}
                {m.trained_at ? ` · ${t("model.trainedAt")} ${fmtDate(m.trained_at, true)}` : ""}
              </span>
            </p>
            {m.summary && <p className="muted small">{m.summary}</p>}
            {m.blind_spots && m.blind_spots.length > 0 && (
              <div data-testid="blind-spots">
                <p className="small">{t("model.blindSpots")}</p>
                <ul className="muted small">
                  {m.blind_spots.map((gap) => (
                    <li key={gap}>{gap}</li>
                  ))}
                </ul>
              </div>
            )}
          </>
        )}
      </Show>
    </Section>
  );
}
