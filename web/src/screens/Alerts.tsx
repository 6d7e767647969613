// Alert centre: the live list of open alerts, who handles what, and the incident timeline with the
// actions (acknowledge, take, note, resolve with an outcome). Danger alerts get a banner, an optional
// sound and a browser notification (see alerts.ts).
import { lazy, Suspense, useEffect, useState, type FormEvent } from "react";
import { api, ApiError, type Alert } from "../api";
import {
  enableNotifications,
  enableSound,
  loadAlerts,
  notificationsEnabled,
  soundEnabled,
  upsertAlert,
  useAlerts,
} from "../alerts";
import { tEnum, useI18n } from "../i18n";
import { ALERT_EVENTS, useLive } from "../realtime";
import { Link, usePath } from "../router";
import { useMe } from "../session";
import { Empty, ErrorBox, NotAvailable, RiskBadge, Section, Spinner, useLoad } from "../ui";

// the video/robot panel (WebRTC) loads only when a danger alert is opened
const SeniorVideoPanel = lazy(() => import("./Video").then((m) => ({ default: m.SeniorVideoPanel })));

const OUTCOMES = ["safe", "false_alarm", "rescued", "hospital", "other"] as const;

function selectedFromUrl(): string | null {
  return new URLSearchParams(location.search).get("id");
}

export function AlertCentre() {
  const { t, fmtTime } = useI18n();
  const alerts = useAlerts();
  usePath();
  const [selected, setSelected] = useState<string | null>(selectedFromUrl());
  const [sound, setSound] = useState(soundEnabled());
  const [notif, setNotif] = useState(notificationsEnabled());

  useEffect(() => {
    void loadAlerts();
  }, []);
  useEffect(() => {
    const onPop = () => setSelected(selectedFromUrl());
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, []);

  const select = (id: string) => {
    history.replaceState(null, "", `/alerts?id=${id}`);
    setSelected(id);
  };

  const open = [...alerts.open].sort(
    (a, b) => (a.severity === "danger" ? 0 : 1) - (b.severity === "danger" ? 0 : 1) || b.opened_at.localeCompare(a.opened_at),
  );

  return (
    <div className="page">
      <div className="page-head">
        <h1>{t("alerts.title")}</h1>
        <div className="actions">
          <button type="button" className="btn" aria-pressed={sound} onClick={() => (enableSound(), setSound(true))}>
            {sound ? t("alerts.soundOn") : t("alerts.sound")}
          </button>
          <button
            type="button"
            className="btn"
            aria-pressed={notif}
            onClick={() => void enableNotifications().then(setNotif)}
          >
            {notif ? t("alerts.notifyOn") : t("alerts.notify")}
          </button>
        </div>
      </div>
      {alerts.status === "loading" || alerts.status === "idle" ? <Spinner /> : null}
      {alerts.status === "unavailable" && <NotAvailable />}
      {alerts.status === "error" && <ErrorBox error={new Error(t("common.error"))} retry={() => void loadAlerts()} />}
      {alerts.status === "ok" && (
        <div className="split">
          <section aria-labelledby="open-h" className="card">
            <h2 id="open-h">
              {t("alerts.open")} ({open.length})
            </h2>
            {open.length === 0 && <Empty>{t("alerts.empty")}</Empty>}
            <ul className="alert-list" data-testid="alert-list">
              {open.map((a) => (
                <li key={a.id}>
                  <button
                    type="button"
                    className={`alert-item sev-${a.severity}`}
                    aria-current={selected === a.id ? "true" : undefined}
                    onClick={() => select(a.id)}
                  >
                    <RiskBadge risk={a.severity === "danger" ? "danger" : "caution"} />
                    <span className="grow">
                      <strong>{a.senior_name ?? ""}</strong> {a.title ?? a.kind}
                      <span className="muted small block">
                        {t("alerts.openedAt")} {fmtTime(a.opened_at)} · {t("alerts.handler")}:{" "}
                        {a.assigned_to_name ?? a.acknowledged_by_name ?? t("alerts.unassigned")}
                      </span>
                    </span>
                    <span className="muted small">{a.status}</span>
                  </button>
                </li>
              ))}
            </ul>
          </section>
          {selected ? <AlertDetail key={selected} id={selected} /> : null}
        </div>
      )}
    </div>
  );
}

function AlertDetail({ id }: { id: string }) {
  const { t, fmtDate, fmtTime } = useI18n();
  const me = useMe();
  const [alert, reload, setAlert] = useLoad(() => api.alert(id), [id]);
  const [note, setNote] = useState("");
  const [outcome, setOutcome] = useState<string>("safe");
  const [error, setError] = useState<string | null>(null);

  useLive(ALERT_EVENTS, (p) => {
    const a = ((p as { alert?: Alert }).alert ?? p) as Alert;
    if (a?.id === id) reload();
  });

  const act = async (fn: () => Promise<Alert>) => {
    setError(null);
    try {
      const a = await fn();
      if (a && typeof a === "object" && "id" in a) {
        setAlert(a);
        upsertAlert(a);
      } else reload();
    } catch (e) {
      // 409: someone else acted first — show who, from the fresh state
      setError(e instanceof ApiError ? e.detail : String(e));
      reload();
    }
  };

  if (alert.state === "loading") return <Spinner />;
  if (alert.state === "unavailable") return <NotAvailable />;
  if (alert.state === "error") return <ErrorBox error={alert.error} retry={reload} />;
  const a = alert.data;
  const closed = a.status === "resolved";
  return (
    <Section title={`${a.senior_name ?? ""} — ${a.title ?? a.kind ?? ""}`} id="alert-detail">
      <p>
        <RiskBadge risk={a.severity === "danger" ? "danger" : "caution"} /> <span className="muted">{fmtDate(a.opened_at, true)}</span>
      </p>
      {a.summary && <p>{a.summary}</p>}
      <p>
        {t("alerts.handler")}: <strong>{a.assigned_to_name ?? t("alerts.unassigned")}</strong>
        {a.acknowledged_by_name && <> · {t("alerts.ackBy", { name: a.acknowledged_by_name })}</>}
      </p>
      <p>
        <Link to={`/seniors/${a.senior_id}`}>{t("nav.home")} →</Link>
      </p>
      {error && (
        <p className="error-box" role="alert">
          {error}
        </p>
      )}
      {!closed && (
        <div className="actions">
          {!a.acknowledged_at && (
            <button type="button" className="btn btn-primary" onClick={() => void act(() => api.acknowledgeAlert(a.id))}>
              {t("alerts.ack")}
            </button>
          )}
          {a.assigned_to !== me.id && (
            <button type="button" className="btn" onClick={() => void act(() => api.assignAlert(a.id, me.id))}>
              {t("alerts.assignMe")}
            </button>
          )}
        </div>
      )}
      {a.severity === "danger" && !closed && (
        <Suspense fallback={<Spinner />}>
          <SeniorVideoPanel seniorId={a.senior_id} compact />
        </Suspense>
      )}
      <h3 className="h3">{t("alerts.timeline")}</h3>
      <ol className="timeline">
        {(a.events ?? []).map((e, i) => (
          <li key={i}>
            <time dateTime={e.at}>{fmtTime(e.at)}</time> <span>{e.text ?? e.note ?? e.action ?? e.kind}</span>
            {e.actor_name && <span className="muted small"> — {e.actor_name}</span>}
          </li>
        ))}
      </ol>
      {!closed && (
        <>
          <form
            className="inline-form"
            onSubmit={(e: FormEvent) => {
              e.preventDefault();
              if (note.trim()) void act(() => api.noteAlert(a.id, note.trim())).then(() => setNote(""));
            }}
          >
            <label htmlFor="alert-note">{t("alerts.note")}</label>
            <textarea id="alert-note" value={note} onChange={(e) => setNote(e.target.value)} placeholder={t("alerts.notePlaceholder")} />
            <button type="submit" className="btn" disabled={!note.trim()}>
              {t("alerts.note")}
            </button>
          </form>
          <form
            className="inline-form"
            onSubmit={(e: FormEvent) => {
              e.preventDefault();
              void act(() => api.resolveAlert(a.id, outcome, note.trim() || undefined));
            }}
          >
            <label htmlFor="alert-outcome">{t("alerts.outcome")}</label>
            <select id="alert-outcome" value={outcome} onChange={(e) => setOutcome(e.target.value)}>
              {OUTCOMES.map((o) => (
                <option key={o} value={o}>
                  {tEnum(t, "alerts.outcome", o)}
                </option>
              ))}
            </select>
            <button type="submit" className="btn btn-primary">
              {t("alerts.resolve")}
            </button>
          </form>
        </>
      )}
      {closed && a.outcome && (
        <p>
          {t("alerts.outcome")}: <strong>{tEnum(t, "alerts.outcome", a.outcome)}</strong>
        </p>
      )}
    </Section>
  );
}
