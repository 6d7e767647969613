import { lazy, Suspense, useEffect, useState } from "react";
import { loadAlerts, resetAlerts, useAlerts, dismissBanner, seniorName } from "./alerts";
import { tEnum, useI18n, type Key } from "./i18n";
import { useLiveStatus } from "./realtime";
import { Link, match, navigate, usePath } from "./router";
import { useSession } from "./session";
import { Spinner } from "./ui";
import { Login } from "./screens/Login";
import { Home } from "./screens/Home";
import { SeniorDetailScreen } from "./screens/SeniorDetail";
import { AlertCentre } from "./screens/Alerts";
import { GuardianHome } from "./screens/Guardian";

// Rarely used or heavy screens load on demand, keeping the first paint small.
const Admin = lazy(() => import("./screens/Admin"));
const Video = lazy(() => import("./screens/Video"));

export function App() {
  const { state } = useSession();
  if (state.status === "loading")
    return (
      <main className="center-page">
        <Spinner />
      </main>
    );
  if (state.status === "signedOut") return <Login expired={state.expired} />;
  return <Shell key={state.me.id} />;
}

function Shell() {
  const { state, logout } = useSession();
  const { t, lang, setLang } = useI18n();
  const path = usePath();
  const live = useLiveStatus();
  const alerts = useAlerts();
  const me = state.status === "signedIn" ? state.me : null;
  const [menuOpen, setMenuOpen] = useState(false);

  useEffect(() => {
    void loadAlerts();
    return () => resetAlerts();
  }, []);
  useEffect(() => {
    if (path === "/login") navigate("/", true);
    setMenuOpen(false);
  }, [path]);

  if (!me) return null;
  const isGuardian = me.role === "guardian";
  const nav: { to: string; key: Key; show: boolean; count?: number }[] = [
    { to: "/", key: isGuardian ? "guardian.title" : "nav.home", show: true },
    { to: "/alerts", key: "nav.alerts", show: !isGuardian, count: alerts.status === "ok" ? alerts.open.length : undefined },
    { to: "/admin", key: "nav.admin", show: me.role === "admin" },
  ];
  const current = (to: string) => (to === "/" ? path === "/" || path.startsWith("/seniors") : path.startsWith(to));

  return (
    <>
      <a className="skip-link" href="#main">
        {t("nav.skip")}
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          <img src="/favicon.svg" alt="" width={28} height={28} />
          <span>{t("app.name")}</span>
        </Link>
        <nav aria-label={t("nav.menu")} className="mainnav">
          <ul>
            {nav
              .filter((n) => n.show)
              .map((n) => (
                <li key={n.to}>
                  <Link to={n.to} aria-current={current(n.to) ? "page" : undefined}>
                    {t(n.key)}
                    {n.count ? (
                      <span className="count" data-testid="nav-alert-count">
                        {n.count}
                      </span>
                    ) : null}
                  </Link>
                </li>
              ))}
          </ul>
        </nav>
        <div className="topbar-right">
          <span className={`live live-${live}`} title={t(`live.${live}` as Key)}>
            <span className="dot" aria-hidden="true" />
            <span className="live-text">{t(`live.${live}` as Key)}</span>
          </span>
          <button
            type="button"
            className="btn btn-ghost"
            lang={lang === "ko" ? "en" : "ko"}
            data-testid="lang-switch"
            onClick={() => setLang(lang === "ko" ? "en" : "ko")}
          >
            <span className="sr-only" lang={lang}>
              {t("lang.label")}:{" "}
            </span>
            {t("lang.switch")}
          </button>
          <div className="menu">
            <button
              type="button"
              className="btn btn-ghost"
              aria-expanded={menuOpen}
              aria-controls="account-menu"
              onClick={() => setMenuOpen((o) => !o)}
            >
              <span className="me-name">{me.name}</span> <span className="muted">({t(`role.${me.role}` as Key)})</span>
            </button>
            {menuOpen && (
              <div id="account-menu" className="menu-pop">
                <p className="muted small">{me.email}</p>
                <button type="button" className="btn" onClick={() => void logout(false)}>
                  {t("auth.logout")}
                </button>
                <button type="button" className="btn" onClick={() => void logout(true)}>
                  {t("auth.logoutEverywhere")}
                </button>
              </div>
            )}
          </div>
        </div>
      </header>
      {alerts.unseenDanger && !isGuardian && (
        <div className="danger-banner" role="alert" data-testid="danger-banner">
          <strong>{t("alerts.banner", { name: seniorName(alerts.unseenDanger, alerts.names) || tEnum(t, "alertKind", alerts.unseenDanger.kind) })}</strong>
          <span>
            {tEnum(t, "alertKind", alerts.unseenDanger.kind)} · {alerts.unseenDanger.evidence}
          </span>
          <Link className="btn btn-light" to={`/alerts?id=${alerts.unseenDanger.id}`} onClick={() => dismissBanner()}>
            {t("alerts.bannerOpen")}
          </Link>
          <button type="button" className="btn btn-ghost-light" onClick={() => dismissBanner()} aria-label={t("common.close")}>
            ✕
          </button>
        </div>
      )}
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Spinner />}>
          <Routes path={path} isGuardian={isGuardian} isAdmin={me.role === "admin"} />
        </Suspense>
      </main>
    </>
  );
}

function Routes({ path, isGuardian, isAdmin }: { path: string; isGuardian: boolean; isAdmin: boolean }) {
  const { t } = useI18n();
  let m: Record<string, string> | null;
  if (path === "/") return isGuardian ? <GuardianHome /> : <Home />;
  if ((m = match("/seniors/:id/video", path))) return <Video seniorId={m.id} />;
  if ((m = match("/seniors/:id", path))) return isGuardian ? <GuardianHome seniorId={m.id} /> : <SeniorDetailScreen id={m.id} />;
  if (path === "/alerts" && !isGuardian) return <AlertCentre />;
  if (path.startsWith("/admin") && isAdmin) return <Admin path={path} />;
  return (
    <div className="page">
      <h1>404</h1>
      <p>
        <Link to="/">{t("common.back")}</Link>
      </p>
    </div>
  );
}
