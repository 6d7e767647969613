// Alert centre: the live list of open alerts, who handles what, and the incident timeline with the
// actions (acknowledge, take, note, resolve with an outcome). Danger alerts get a banner, an optional
// sound and a browser notification (see alerts.ts).
import { lazy, Suspense, useEffect, useState, type FormEvent } from "react";
import { api, ApiError, OUTCOMES, type Alert, type AlertDetail as AlertDetailT, type Outcome } from "../api";
import {
  enableNotifications,
  enableSound,
  loadAlerts,
  notificationsEnabled,
  payloadAlert,
  seniorName,
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
                <li key={a.id} data-alert-id={a.id} data-kind={a.kind}>
                  <button
                    type="button"
                    className={`alert-item sev-${a.severity}`}
                    aria-current={selected === a.id ? "true" : undefined}
                    onClick={() => select(a.id)}
                  >
                    <RiskBadge risk={a.severity === "danger" ? "danger" : "caution"} />
                    <span className="grow">
                      <strong>{seniorName(a, alerts.names)}</strong> {tEnum(t, "alertKind", a.kind)}
                      <span className="muted small block">
                        {t("alerts.openedAt")} {fmtTime(a.opened_at)} · {a.evidence}
                      </span>
                    </span>
                    <span className="muted small" data-testid="alert-status">
                      {tEnum(t, "alerts.status", a.status)}
                    </span>
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
  const alerts = useAlerts();
  const [alert, reload, setAlert] = useLoad(() => api.alert(id), [id]);
  const [note, setNote] = useState("");
  const [outcome, setOutcome] = useState<Outcome>("resident_fine");
  const [error, setError] = useState<string | null>(null);

  // any change to this alert (by anyone, in any tab) brings the timeline up to date
  useLive(ALERT_EVENTS, (p) => {
    if (payloadAlert(p)?.id === id) reload();
  });

  const act = async (fn: () => Promise<Alert>) => {
    setError(null);
    try {
      const a = await fn();
      upsertAlert(a);
      reload(); // the timeline (who did what) comes with GET /alerts/{id}
    } catch (e) {
      // 409: someone else acted first — show who, from the fresh state
      setError(e instanceof ApiError ? e.detail : String(e));
      reload();
    }
  };

  if (alert.state === "loading") return <Spinner />;
  if (alert.state === "unavailable") return <NotAvailable />;
  if (alert.state === "error") return <ErrorBox error={alert.error} retry={reload} />;
  const a: AlertDetailT = alert.data;
  void setAlert;
  const closed = a.status === "closed";
  const name = a.senior?.name || seniorName(a, alerts.names);
  const profile = a.senior?.profile_visible ?? true;
  const ack = [...a.timeline].reverse().find((e) => e.type === "acknowledged");
  const assigned = [...a.timeline].reverse().find((e) => e.type === "assigned");
  const handler = assigned ? String(assigned.details?.assignee_name ?? assigned.text.replace(/^assigned to (.*) by .*$/, "$1")) : null;
  return (
    <Section title={`${name ? `${name} — ` : ""}${tEnum(t, "alertKind", a.kind)}`} id="alert-detail">
      <p>
        <RiskBadge risk={a.severity === "danger" ? "danger" : "caution"} /> <span className="muted">{fmtDate(a.opened_at, true)}</span>{" "}
        <span className="muted small" data-testid="alert-detail-status">
          · {tEnum(t, "alerts.status", a.status)}
        </span>
      </p>
      <p>{a.evidence}</p>
      <p>
        {t("alerts.handler")}: <strong>{handler ?? t("alerts.unassigned")}</strong>
        {ack?.actor_name && <> · {t("alerts.ackBy", { name: ack.actor_name })}</>}
      </p>
      {a.senior?.address && (
        <p data-testid="alert-address">
          {t("alerts.address")}: {a.senior.address}
        </p>
      )}
      {profile ? (
        <p>
          <Link to={`/seniors/${a.senior_id}`}>{t("nav.home")} →</Link>
        </p>
      ) : (
        <p className="muted small" data-testid="responder-note">
          {t("alerts.responderOnly")}
        </p>
      )}
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
          {a.assigned_to !== me.id && me.role !== "guardian" && (
            <button type="button" className="btn" onClick={() => void act(() => api.assignAlert(a.id, me.id))}>
              {t("alerts.assignMe")}
            </button>
          )}
        </div>
      )}
      {a.severity === "danger" && a.category === "resident" && !closed && profile && (
        <Suspense fallback={<Spinner />}>
          <SeniorVideoPanel seniorId={a.senior_id} alertId={a.id} compact />
        </Suspense>
      )}
      <h3 className="h3">{t("alerts.timeline")}</h3>
      <ol className="timeline" data-testid="timeline">
        {a.timeline.map((e) => (
          <li key={e.id} data-type={e.type}>
            <time dateTime={e.at}>{fmtTime(e.at)}</time> <strong>{tEnum(t, "timeline", e.type)}</strong>{" "}
            <span>{e.type === "note" ? e.text : e.actor_name ? "" : e.text}</span>
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
              void act(() => api.resolveAlert(a.id, outcome, note.trim() || undefined)).then(() => setNote(""));
            }}
          >
            <label htmlFor="alert-outcome">{t("alerts.outcome")}</label>
            <select id="alert-outcome" value={outcome} onChange={(e) => setOutcome(e.target.value as Outcome)}>
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
        <p data-testid="alert-outcome">
          {t("alerts.outcome")}: <strong>{tEnum(t, "alerts.outcome", a.outcome)}</strong>
        </p>
      )}
    </Section>
  );
}
