import { useState, type FormEvent } from "react";
import { ApiError } from "../api";
import { useI18n } from "../i18n";
import { useSession } from "../session";

export function Login({ expired }: { expired?: boolean }) {
  const { login } = useSession();
  const { t, lang, setLang } = useI18n();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(email.trim(), password);
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="center-page" id="main">
      <div className="login-card card">
        <div className="login-brand">
          <img src="/favicon.svg" alt="" width={48} height={48} />
          <div>
            <h1>{t("app.name")}</h1>
            <p className="muted">{t("app.tagline")}</p>
          </div>
        </div>
        {expired && (
          <p className="notice" role="status">
            {t("auth.expired")}
          </p>
        )}
        <form onSubmit={submit} aria-labelledby="login-title" noValidate>
          <h2 id="login-title">{t("auth.title")}</h2>
          <label htmlFor="email">{t("auth.email")}</label>
          <input
            id="email"
            name="email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
          <label htmlFor="password">{t("auth.password")}</label>
          <input
            id="password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          {error && (
            <p className="error-box" role="alert" data-testid="login-error">
              {t("auth.failed")}: {error}
            </p>
          )}
          <button type="submit" className="btn btn-primary btn-block" disabled={busy || !email || !password}>
            {t("auth.submit")}
          </button>
        </form>
        <button
          type="button"
          className="btn btn-ghost lang-login"
          lang={lang === "ko" ? "en" : "ko"}
          data-testid="lang-switch"
          onClick={() => setLang(lang === "ko" ? "en" : "ko")}
        >
          <span className="sr-only" lang={lang}>
            {t("lang.label")}:{" "}
          </span>
          {t("lang.switch")}
        </button>
      </div>
    </main>
  );
}
