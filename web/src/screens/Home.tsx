// Care staff's home screen: assigned seniors, most urgent first, with live risk and device badges.
import { useEffect, useMemo, useRef, useState } from "react";
import { api, RISKS, type Risk, type SeniorSummary } from "../api";
import { useAlerts } from "../alerts";
import { hasHome, healthOf, requestHealth, useDeviceHealthVersion } from "../devices";
import { useI18n, type Key } from "../i18n";
import { useLive } from "../realtime";
import { Link } from "../router";
import { age, Avatar, Badge, Empty, ErrorBox, RiskBadge, Spinner } from "../ui";

const RANK: Record<Risk, number> = { danger: 3, caution: 2, safe: 1, unknown: 0 };

export function sortByUrgency(items: SeniorSummary[]): SeniorSummary[] {
  return [...items].sort(
    (a, b) => RANK[b.risk_level] - RANK[a.risk_level] || a.name.localeCompare(b.name) || a.id.localeCompare(b.id),
  );
}

const PAGE = 50;

export function Home() {
  const { t } = useI18n();
  const [q, setQ] = useState("");
  const [query, setQuery] = useState("");
  const [risk, setRisk] = useState<Risk[]>([]);
  const [items, setItems] = useState<SeniorSummary[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [n, setN] = useState(0);
  const alerts = useAlerts();
  useDeviceHealthVersion();

  // debounce the search box
  useEffect(() => {
    const id = setTimeout(() => setQuery(q.trim()), 250);
    return () => clearTimeout(id);
  }, [q]);

  useEffect(() => {
    let live = true;
    setError(null);
    api
      .seniors({ q: query, risk, limit: PAGE })
      .then((page) => {
        if (!live) return;
        setItems(page.items);
        setCursor(page.next_cursor);
      })
      .catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [query, risk, n]);

  useEffect(() => {
    if (items?.length) void requestHealth(items.map((s) => s.id));
  }, [items]);

  const loadMore = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const page = await api.seniors({ q: query, risk, limit: PAGE, cursor });
      setItems((old) => [...(old ?? []), ...page.items.filter((s) => !old?.some((o) => o.id === s.id))]);
      setCursor(page.next_cursor);
    } catch (e) {
      setError(e as Error);
    } finally {
      setLoadingMore(false);
    }
  };

  // live risk changes: update in place and keep the urgency order
  useLive(["senior.status_changed"], (p) => {
    const d = p as { senior_id?: string; id?: string; risk_level?: Risk; risk?: Risk; risk_changed_at?: string; changed_at?: string };
    const id = d.senior_id ?? d.id;
    const level = d.risk_level ?? d.risk;
    if (!id || !level) return;
    setItems((old) => {
      if (!old) return old;
      const found = old.some((s) => s.id === id);
      if (!found) {
        // someone newly in a filtered view: reload to respect the filter and paging
        if (risk.length === 0 || risk.includes(level)) setN((x) => x + 1);
        return old;
      }
      const next = old.map((s) =>
        s.id === id ? { ...s, risk_level: level, risk_changed_at: d.risk_changed_at ?? d.changed_at ?? new Date().toISOString() } : s,
      );
      return sortByUrgency(risk.length ? next.filter((s) => risk.includes(s.risk_level)) : next);
    });
  });
  useLive(["snapshot"], () => setN((x) => x + 1));

  const counts = useMemo(() => {
    const c: Record<Risk, number> = { danger: 0, caution: 0, safe: 0, unknown: 0 };
    items?.forEach((s) => c[s.risk_level]++);
    return c;
  }, [items]);

  const alertsBySenior = useMemo(() => {
    const m = new Map<string, number>();
    alerts.open.forEach((a) => m.set(a.senior_id, (m.get(a.senior_id) ?? 0) + 1));
    return m;
  }, [alerts.open]);

  const toggle = (r: Risk) => setRisk((cur) => (cur.includes(r) ? cur.filter((x) => x !== r) : [...cur, r]));

  return (
    <div className="page">
      <div className="page-head">
        <h1>{t("home.title")}</h1>
        <OpenAlertsSummary />
      </div>

      {items && risk.length === 0 && !query && (
        <ul className="summary" aria-label={t("home.counts")}>
          {RISKS.map((r) => (
            <li key={r} className={`summary-item risk-${r}`}>
              <span className="summary-n" data-testid={`count-${r}`}>
                {counts[r]}
                {cursor ? "+" : ""}
              </span>
              <span>{t(`risk.${r}` as Key)}</span>
            </li>
          ))}
        </ul>
      )}

      <div className="toolbar" role="search">
        <label className="sr-only" htmlFor="senior-search">
          {t("home.searchLabel")}
        </label>
        <input
          id="senior-search"
          type="search"
          placeholder={t("home.search")}
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
        <div className="chips" role="group" aria-label={t("risk.filter")}>
          <button type="button" className="chip" aria-pressed={risk.length === 0} onClick={() => setRisk([])}>
            {t("risk.all")}
          </button>
          {RISKS.map((r) => (
            <button
              key={r}
              type="button"
              className={`chip chip-${r}`}
              aria-pressed={risk.includes(r)}
              data-testid={`filter-${r}`}
              onClick={() => toggle(r)}
            >
              {t(`risk.${r}` as Key)}
            </button>
          ))}
        </div>
      </div>

      {error && <ErrorBox error={error} retry={() => setN((x) => x + 1)} />}
      {!items && !error && <Spinner />}
      {items && items.length === 0 && <Empty>{t("home.empty")}</Empty>}
      {items && items.length > 0 && (
        <ul className="senior-list" data-testid="senior-list">
          {items.map((s) => (
            <SeniorRow key={s.id} s={s} openAlerts={alertsBySenior.get(s.id) ?? 0} />
          ))}
        </ul>
      )}
      {cursor && (
        <LoadMore onVisible={loadMore} busy={loadingMore}>
          {t("home.more")}
        </LoadMore>
      )}
    </div>
  );
}

function OpenAlertsSummary() {
  const { t } = useI18n();
  const alerts = useAlerts();
  if (alerts.status !== "ok") return null;
  const danger = alerts.open.filter((a) => a.severity === "danger").length;
  return (
    <Link to="/alerts" className={`alerts-pill${danger ? " has-danger" : ""}`} data-testid="open-alerts">
      {t("home.openAlerts")}: <strong>{alerts.open.length}</strong>
    </Link>
  );
}

function SeniorRow({ s, openAlerts }: { s: SeniorSummary; openAlerts: number }) {
  const { t, fmtDate, fmtShort } = useI18n();
  const h = healthOf(s.id);
  const a = age(s.birth_date);
  const offline = h?.hubs.some((hub) => hub.connectivity === "offline");
  const noHub = h && h.hubs.length === 0 && hasHome(s.id) !== undefined;
  return (
    <li className={`senior-row risk-edge-${s.risk_level}`} data-testid="senior-row" data-risk={s.risk_level}>
      <Link to={`/seniors/${s.id}`} className="senior-link">
        <Avatar name={s.name} seniorId={s.has_photo ? s.id : null} />
        <span className="senior-main">
          <span className="senior-name">{s.name}</span>
          <span className="muted small">
            {a !== null ? t("home.age", { n: a }) : ""}
            {s.sex ? ` · ${t(`sex.${s.sex}` as Key)}` : ""}
            {s.address ? ` · ${s.address}` : ""}
          </span>
          <span className="badges">
            {offline && <Badge tone="bad">{t("device.hubOffline")}</Badge>}
            {noHub && <Badge tone="muted">{t("device.noHub")}</Badge>}
            {h && h.lowBattery.length > 0 && <Badge tone="warn">{t("device.lowBattery")}</Badge>}
            {h && h.silent.length > 0 && <Badge tone="muted">{t("device.silentSensors", { n: h.silent.length })}</Badge>}
            {openAlerts > 0 && (
              <Badge tone="bad">
                {t("home.openAlerts")} {openAlerts}
              </Badge>
            )}
          </span>
        </span>
        <span className="senior-risk">
          <RiskBadge risk={s.risk_level} />
          {s.risk_changed_at && (
            <time className="muted small" dateTime={s.risk_changed_at} title={fmtDate(s.risk_changed_at, true)}>
              {fmtShort(s.risk_changed_at)}
            </time>
          )}
        </span>
      </Link>
    </li>
  );
}

function LoadMore({ onVisible, busy, children }: { onVisible: () => void; busy: boolean; children: string }) {
  const ref = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof IntersectionObserver === "undefined") return;
    const io = new IntersectionObserver((entries) => entries[0].isIntersecting && !busy && onVisible());
    io.observe(el);
    return () => io.disconnect();
  }, [onVisible, busy]);
  return (
    <button ref={ref} type="button" className="btn btn-block" disabled={busy} onClick={onVisible}>
      {children}
    </button>
  );
}
