// Detection thresholds (organisation-wide in Admin → policy; per senior on the senior page, admins only) and
// the robot safety-check preferences. PUT replaces a layer: an empty field sends no override, so the layer
// below (organisation, then the built-in default) applies. Loaded lazily with the screens that use it.
import { useState, type FormEvent } from "react";
import { api, ApiError, type OrgThresholds, type RobotCheckStats, type RobotSettings, type SeniorThresholds, type ThresholdLayer } from "./api";
import { useI18n, type Key } from "./i18n";
import { Section, Show, useLoad } from "./ui";

type Unit = "min" | "h" | "hour" | "p" | "perday" | "cautionday" | "pct" | "days" | "visits" | "bool";

interface FieldDef {
  name: string;
  unit: Unit;
  main: boolean; // shown at once; the others are under "advanced"
}

// the order and units of src/seniorsafe/detection/thresholds.py
export const THRESHOLD_FIELDS: FieldDef[] = [
  { name: "bathroom_stay_min", unit: "min", main: true },
  { name: "no_activity_hours", unit: "h", main: true },
  { name: "night_exit_return_min", unit: "min", main: true },
  { name: "day_stillness_limit_min", unit: "min", main: true },
  { name: "inactivity_caution_per_day", unit: "cautionday", main: true },
  { name: "inactivity_danger_per_day", unit: "perday", main: true },
  { name: "use_personal_model", unit: "bool", main: true },
  { name: "night_start_hour", unit: "hour", main: false },
  { name: "night_end_hour", unit: "hour", main: false },
  { name: "day_start_hour", unit: "hour", main: false },
  { name: "day_end_hour", unit: "hour", main: false },
  { name: "inactivity_caution_floor_min", unit: "min", main: false },
  { name: "inactivity_danger_floor_min", unit: "min", main: false },
  { name: "routine_silence_p", unit: "p", main: false },
  { name: "routine_min_silence_hours", unit: "h", main: false },
  { name: "late_wakeup_margin_min", unit: "min", main: false },
  { name: "meal_margin_min", unit: "min", main: false },
  { name: "night_bathroom_extra", unit: "visits", main: false },
  { name: "away_margin_min", unit: "min", main: false },
  { name: "young_model_days", unit: "days", main: false },
  { name: "low_battery_pct", unit: "pct", main: false },
];

type Form = Record<string, string>; // "" = no override; booleans as "true"/"false"

function toForm(layer: ThresholdLayer): Form {
  const out: Form = {};
  for (const f of THRESHOLD_FIELDS) out[f.name] = f.name in layer ? String(layer[f.name]) : "";
  return out;
}

function fromForm(form: Form): ThresholdLayer {
  const out: ThresholdLayer = {};
  for (const f of THRESHOLD_FIELDS) {
    const raw = (form[f.name] ?? "").trim();
    if (raw === "") continue;
    out[f.name] = f.unit === "bool" ? raw === "true" : Number(raw);
  }
  return out;
}

function useLabels() {
  const { t } = useI18n();
  const label = (name: string) => t(`thr.${name}` as Key);
  const unit = (u: Unit) => (u === "bool" ? "" : t(`thr.unit.${u}` as Key));
  const show = (f: FieldDef, v: number | boolean | undefined) =>
    v === undefined ? "—" : f.unit === "bool" ? (v ? t("common.yes") : t("common.no")) : `${v} ${unit(f.unit)}`;
  return { label, unit, show };
}

// the server's limits (thresholds.py): probabilities and danger budgets at most 1, caution budgets at most 3
const MAX_OF: Partial<Record<Unit, number>> = { p: 1, perday: 1, cautionday: 3, hour: 24 };

function FieldInput({ f, scope, value, onChange, inherited }: { f: FieldDef; scope: string; value: string; onChange: (v: string) => void; inherited: string }) {
  const { t } = useI18n();
  const { label, unit } = useLabels();
  const id = `thr-${scope}-${f.name}`;
  const hint = `${id}-hint`;
  return (
    <div className="field thr-field">
      <label htmlFor={id}>
        {label(f.name)}
        {f.unit !== "bool" && <span className="muted"> ({unit(f.unit)})</span>}
      </label>
      {f.unit === "bool" ? (
        <select id={id} value={value} onChange={(e) => onChange(e.target.value)} aria-describedby={hint}>
          <option value="">{t("thr.inherit")}</option>
          <option value="true">{t("common.yes")}</option>
          <option value="false">{t("common.no")}</option>
        </select>
      ) : (
        <input
          id={id}
          type="number"
          inputMode="decimal"
          step="any"
          min={0}
          max={MAX_OF[f.unit]}
          value={value}
          placeholder={inherited}
          onChange={(e) => onChange(e.target.value)}
          aria-describedby={hint}
        />
      )}
      <span className="muted small" id={hint}>
        {t("thr.inherited")}: {inherited}
        {f.unit === "p" ? ` · ${t("thr.hint.p")}` : ""}
        {f.name === "inactivity_caution_per_day" ? ` · ${t("thr.hint.cautionPerDay")}` : ""}
      </span>
    </div>
  );
}

/** The form for one layer; `below` is what applies when a field is empty (org effective or defaults). */
function LayerForm({ scope, layer, below, belowLabel, onSave }: { scope: string; layer: ThresholdLayer; below: ThresholdLayer; belowLabel: string; onSave: (l: ThresholdLayer) => Promise<void> }) {
  const { t } = useI18n();
  const { label, show } = useLabels();
  const [form, setForm] = useState<Form>(() => toForm(layer));
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    setBusy(true);
    try {
      await onSave(fromForm(form));
      setSaved(true);
    } catch (err) {
      if (err instanceof ApiError && err.errors.length) setError(err.errors.map((x) => `${label(x.field)} (${x.field}): ${x.message}`).join("; "));
      else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  const input = (f: FieldDef) => (
    <FieldInput
      key={f.name}
      f={f}
      scope={scope}
      value={form[f.name] ?? ""}
      inherited={`${show(f, below[f.name])} (${belowLabel})`}
      onChange={(v) => {
        setSaved(false);
        setForm({ ...form, [f.name]: v });
      }}
    />
  );
  return (
    <form className="form thr-form" onSubmit={submit} data-testid={`thresholds-${scope}`} noValidate>
      <div className="thr-grid">{THRESHOLD_FIELDS.filter((f) => f.main).map(input)}</div>
      <details className="thr-more">
        <summary>{t("thr.more")}</summary>
        <div className="thr-grid">{THRESHOLD_FIELDS.filter((f) => !f.main).map(input)}</div>
      </details>
      <SaveFeedback error={error} saved={saved} />
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {t("common.save")}
        </button>
        <button type="button" className="btn" onClick={() => setForm(toForm({}))}>
          {t("thr.clear")}
        </button>
      </div>
    </form>
  );
}

/** Admin → policy: the organisation's overrides, with the defaults shown. */
export function OrgThresholdsSection() {
  const { t } = useI18n();
  const [data, reload, set] = useLoad(() => api.orgThresholds(), []);
  return (
    <Section title={t("thr.title")} id="thresholds">
      <p className="muted small">{t("thr.intro")}</p>
      <Show value={data} retry={reload}>
        {(d: OrgThresholds) => (
          <LayerForm
            scope="org"
            layer={d.organisation}
            below={d.defaults}
            belowLabel={t("thr.default")}
            onSave={async (layer) => set(await api.setOrgThresholds(layer))}
          />
        )}
      </Show>
    </Section>
  );
}

/** Senior page (admins): the senior's own overrides over the organisation's values. */
export function SeniorThresholdsSection({ seniorId }: { seniorId: string }) {
  const { t } = useI18n();
  const [data, reload, set] = useLoad(() => api.seniorThresholds(seniorId), [seniorId]);
  return (
    <Section title={t("thr.seniorTitle")} id="thresholds">
      <p className="muted small">{t("thr.seniorIntro")}</p>
      <Show value={data} retry={reload}>
        {(d: SeniorThresholds) => {
          const below = { ...d.defaults, ...d.organisation };
          const label = Object.keys(d.organisation).length ? `${t("thr.fromOrg")} / ${t("thr.default")}` : t("thr.default");
          return (
            <LayerForm
              key={d.senior_id}
              scope="senior"
              layer={d.senior}
              below={below}
              belowLabel={label}
              onSave={async (layer) => set(await api.setSeniorThresholds(seniorId, layer))}
            />
          );
        }}
      </Show>
    </Section>
  );
}

/** Admin → policy: whether the robot checks on danger (auto) and on caution (early). */
export function RobotSettingsSection() {
  const { t } = useI18n();
  const [data, reload, set] = useLoad(() => api.robotSettings(), []);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const change = async (current: RobotSettings, patch: Partial<RobotSettings>) => {
    setError(null);
    setSaved(false);
    try {
      set(await api.setRobotSettings({ ...current, ...patch }));
      setSaved(true);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <Section title={t("robot.settings")} id="robot-settings">
      <Show value={data} retry={reload}>
        {(r: RobotSettings) => (
          <div className="form" data-testid="robot-settings">
            <div className="field check">
              <input id="robot-auto" type="checkbox" checked={r.auto_dispatch} onChange={(e) => void change(r, { auto_dispatch: e.target.checked })} />
              <label htmlFor="robot-auto">{t("robot.autoDispatch")}</label>
            </div>
            <div className="field check">
              <input id="robot-early" type="checkbox" aria-describedby="robot-early-hint" checked={r.early_check} onChange={(e) => void change(r, { early_check: e.target.checked })} />
              <label htmlFor="robot-early">{t("robot.earlyCheck")}</label>
            </div>
            <p className="muted small" id="robot-early-hint">{t("robot.earlyCheckHint")}</p>
            <EarlyCheckStats />
            <SaveFeedback error={error} saved={saved} />
          </div>
        )}
      </Show>
    </Section>
  );
}

/** How many early checks of the last 7 days the residents answered: each unanswered one paged staff as danger. */
function EarlyCheckStats() {
  const { t } = useI18n();
  const [stats] = useLoad(() => api.robotCheckStats(7), []);
  if (stats.state !== "ok") return null; // a secondary figure: the switches work without it
  const s: RobotCheckStats = stats.data;
  const text =
    s.early_checks === 0
      ? t("robot.earlyStatsNone", { days: s.days })
      : t("robot.earlyStats", {
          days: s.days,
          n: s.early_checks,
          answered: s.early_answered,
          pct: Math.round((100 * s.early_answered) / s.early_checks),
        });
  return (
    <p className="small" data-testid="early-check-stats">
      {text}
    </p>
  );
}

/** The outcome of a save: the error (announced at once) or a confirmation (a polite status line). */
function SaveFeedback({ error, saved }: { error: string | null; saved: boolean }) {
  const { t } = useI18n();
  return (
    <>
      {error && (
        <p className="error-box" role="alert">
          {error}
        </p>
      )}
      <p className={saved ? "notice" : "sr-only"} role="status">
        {saved ? `✓ ${t("thr.saved")}` : ""}
      </p>
    </>
  );
}
