// Small shared pieces: data loading, badges, empty/error states, call buttons.
import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { api, ApiError, Unavailable, type Risk } from "./api";
import { useI18n, type Key } from "./i18n";

export type Loaded<T> =
  | { state: "loading" }
  | { state: "ok"; data: T }
  | { state: "unavailable" }
  | { state: "error"; error: ApiError | Error };

/** Load data; `reload()` runs it again. An endpoint the server lacks becomes `unavailable`. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): [Loaded<T>, () => void, (d: T) => void] {
  const [value, setValue] = useState<Loaded<T>>({ state: "loading" });
  const [n, setN] = useState(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    let live = true;
    fnRef
      .current()
      .then((data) => live && setValue({ state: "ok", data }))
      .catch((error) => live && setValue(error instanceof Unavailable ? { state: "unavailable" } : { state: "error", error }));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  const set = useCallback((data: T) => setValue({ state: "ok", data }), []);
  return [value, reload, set];
}

export function RiskBadge({ risk, large }: { risk: Risk; large?: boolean }) {
  const { t } = useI18n();
  const icon = { danger: "!", caution: "▲", safe: "✓", unknown: "?" }[risk];
  return (
    <span className={`badge risk-${risk}${large ? " badge-lg" : ""}`} data-risk={risk}>
      <span aria-hidden="true" className="badge-icon">
        {icon}
      </span>
      {t(`risk.${risk}` as Key)}
    </span>
  );
}

export function Badge({ tone, children }: { tone: "warn" | "bad" | "info" | "muted"; children: ReactNode }) {
  return <span className={`badge tone-${tone}`}>{children}</span>;
}

export function Spinner() {
  const { t } = useI18n();
  return (
    <p className="muted" role="status">
      {t("common.loading")}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function NotAvailable() {
  const { t } = useI18n();
  return (
    <p className="empty not-available" data-testid="not-available">
      {t("common.notAvailable")}
    </p>
  );
}

export function ErrorBox({ error, retry }: { error: Error; retry?: () => void }) {
  const { t } = useI18n();
  return (
    <div className="error-box" role="alert">
      <strong>{t("common.error")}</strong>: {error.message}{" "}
      {retry && (
        <button type="button" className="btn btn-small" onClick={retry}>
          {t("common.retry")}
        </button>
      )}
    </div>
  );
}

/** Render the states of a `Loaded` value; `children` gets the data. */
export function Show<T>({ value, retry, children }: { value: Loaded<T>; retry?: () => void; children: (d: T) => ReactNode }) {
  if (value.state === "loading") return <Spinner />;
  if (value.state === "unavailable") return <NotAvailable />;
  if (value.state === "error") return <ErrorBox error={value.error} retry={retry} />;
  return <>{children(value.data)}</>;
}

export function CallLink({ phone, label, tone = "default" }: { phone: string; label: string; tone?: "default" | "danger" }) {
  const { t } = useI18n();
  return (
    <a className={`btn btn-call${tone === "danger" ? " btn-danger" : ""}`} href={`tel:${phone.replace(/[^0-9+]/g, "")}`}>
      <span aria-hidden="true">☎</span> {label}
      <span className="sr-only">
        {" "}
        ({t("common.call")} {phone})
      </span>
    </a>
  );
}

export function Section({ title, children, id, actions }: { title: string; children: ReactNode; id?: string; actions?: ReactNode }) {
  const hid = id ? `${id}-h` : undefined;
  return (
    <section className="card" aria-labelledby={hid} id={id}>
      <div className="card-head">
        <h2 id={hid}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function age(birth: string | null): number | null {
  if (!birth) return null;
  const b = new Date(birth);
  const now = new Date();
  let a = now.getFullYear() - b.getFullYear();
  if (now.getMonth() < b.getMonth() || (now.getMonth() === b.getMonth() && now.getDate() < b.getDate())) a--;
  return a;
}

export function Avatar({ name, seniorId, large }: { name: string; seniorId?: string | null; large?: boolean }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    if (!seniorId) return;
    let url: string | null = null;
    let live = true;
    api
      .photo(seniorId)
      .then((u) => (live ? setSrc((url = u)) : URL.revokeObjectURL(u)))
      .catch(() => undefined);
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [seniorId]);
  if (src) return <img className={`avatar${large ? " avatar-lg" : ""}`} src={src} alt="" />;
  return (
    <span className={`avatar avatar-initial${large ? " avatar-lg" : ""}`} aria-hidden="true">
      {name.slice(0, 1)}
    </span>
  );
}

export function CopyButton({ text }: { text: string }) {
  const { t } = useI18n();
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="btn btn-small"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => setDone(true));
      }}
    >
      {done ? t("common.copied") : t("common.copy")}
    </button>
  );
}
