// Organisation admin: users and roles, seniors and assignments, homes and devices (hub and robot
// credentials are shown once), escalation policy and detection thresholds. Loaded lazily.
import { useState, type FormEvent, type ReactNode } from "react";
import {
  api,
  ApiError,
  type DeviceCredential,
  type Home,
  type Hub,
  type Robot,
  type Role,
  type SeniorSummary,
  type Sensor,
  type User,
} from "../api";
import { tEnum, useI18n, type Key } from "../i18n";
import { Link, navigate } from "../router";
import { useOrg } from "../session";
import { OrgThresholdsSection, RobotSettingsSection } from "../thresholds";
import { Badge, CopyButton, Empty, ErrorBox, RiskBadge, Section, Show, Spinner, useLoad } from "../ui";

const ROOMS = ["bedroom", "living", "kitchen", "bathroom", "toilet", "entrance", "hall", "other"];
const KINDS = ["motion", "door", "contact", "presence", "power", "light", "flush", "button", "smoke", "gas", "water_leak", "temperature"];
const TABS: { path: string; key: Key }[] = [
  { path: "/admin/users", key: "admin.users" },
  { path: "/admin/seniors", key: "admin.seniors" },
  { path: "/admin/homes", key: "admin.homes" },
  { path: "/admin/policy", key: "admin.policy" },
];

export default function Admin({ path }: { path: string }) {
  const { t } = useI18n();
  const tab = TABS.find((x) => path.startsWith(x.path))?.path ?? "/admin/users";
  return (
    <div className="page">
      <h1>{t("admin.title")}</h1>
      <nav aria-label={t("admin.title")} className="tabs">
        {TABS.map((x) => (
          <Link key={x.path} to={x.path} aria-current={tab === x.path ? "page" : undefined}>
            {t(x.key)}
          </Link>
        ))}
      </nav>
      {tab === "/admin/users" && <Users />}
      {tab === "/admin/seniors" && <Seniors />}
      {tab === "/admin/homes" && <Homes />}
      {tab === "/admin/policy" && <Policy />}
    </div>
  );
}

function useAction(): [string | null, (fn: () => Promise<unknown>) => Promise<boolean>] {
  const [error, setError] = useState<string | null>(null);
  const run = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      return true;
    } catch (e) {
      if (e instanceof ApiError) setError(e.errors.length ? e.errors.map((x) => `${x.field}: ${x.message}`).join("; ") : e.detail);
      else setError(String(e));
      return false;
    }
  };
  return [error, run];
}

function FormError({ error }: { error: string | null }) {
  return error ? (
    <p className="error-box" role="alert">
      {error}
    </p>
  ) : null;
}

function Field({ id, label, children }: { id: string; label: string; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
    </div>
  );
}

// --------------------------------------------------------------------------------------------- users

function Users() {
  const { t, fmtDate } = useI18n();
  const [users, reload] = useLoad(() => api.users(), []);
  const [error, run] = useAction();
  const [form, setForm] = useState({ email: "", name: "", role: "staff" as Role, phone: "" });
  const [created, setCreated] = useState<User | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    await run(async () => {
      const u = await api.createUser({ ...form, phone: form.phone || null });
      setCreated(u);
      setForm({ email: "", name: "", role: "staff", phone: "" });
      reload();
    });
  };

  return (
    <div className="grid">
      <Section title={t("admin.users")} id="users">
        <Show value={users} retry={reload}>
          {(list) => (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t("common.name")}</th>
                    <th scope="col">{t("auth.email")}</th>
                    <th scope="col">{t("admin.role")}</th>
                    <th scope="col">{t("admin.lastSeen")}</th>
                    <th scope="col">{t("common.actions")}</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((u) => (
                    <tr key={u.id} className={u.is_active ? "" : "inactive"}>
                      <td>{u.name}</td>
                      <td>{u.email}</td>
                      <td>
                        <label className="sr-only" htmlFor={`role-${u.id}`}>
                          {t("admin.role")} {u.name}
                        </label>
                        <select
                          id={`role-${u.id}`}
                          value={u.role}
                          onChange={(e) => void run(() => api.updateUser(u.id, { role: e.target.value as Role }).then(reload))}
                        >
                          {(["admin", "staff", "guardian"] as Role[]).map((r) => (
                            <option key={r} value={r}>
                              {t(`role.${r}` as Key)}
                            </option>
                          ))}
                        </select>
                      </td>
                      <td>{fmtDate(u.last_login_at, true)}</td>
                      <td>
                        <button
                          type="button"
                          className="btn btn-small"
                          onClick={() => void run(() => api.updateUser(u.id, { is_active: !u.is_active }).then(reload))}
                        >
                          {u.is_active ? t("admin.deactivate") : t("admin.reactivate")}
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Show>
      </Section>
      <Section title={t("admin.newUser")} id="new-user">
        <form onSubmit={submit} className="form">
          <Field id="nu-email" label={t("auth.email")}>
            <input id="nu-email" type="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
          </Field>
          <Field id="nu-name" label={t("common.name")}>
            <input id="nu-name" required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
          </Field>
          <Field id="nu-phone" label={t("common.phone")}>
            <input id="nu-phone" type="tel" value={form.phone} onChange={(e) => setForm({ ...form, phone: e.target.value })} />
          </Field>
          <Field id="nu-role" label={t("admin.role")}>
            <select id="nu-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
              {(["staff", "admin", "guardian"] as Role[]).map((r) => (
                <option key={r} value={r}>
                  {t(`role.${r}` as Key)}
                </option>
              ))}
            </select>
          </Field>
          <FormError error={error} />
          <button type="submit" className="btn btn-primary">
            {t("common.add")}
          </button>
        </form>
        {created?.initial_password && (
          <div className="secret-box" role="status" data-testid="initial-password">
            <p>
              <strong>{created.email}</strong> — {t("admin.initialPassword")}
            </p>
            <code>{created.initial_password}</code> <CopyButton text={created.initial_password} />
          </div>
        )}
      </Section>
    </div>
  );
}

// ---------------------------------------------------------------------------- seniors, assignments

async function allSeniors(): Promise<SeniorSummary[]> {
  const out: SeniorSummary[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: SeniorSummary[]; next_cursor: string | null } = await api.seniors({ sort: "name", limit: 200, cursor });
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && out.length < 5000);
  return out;
}

function SeniorPicker({ seniors, value, onChange }: { seniors: SeniorSummary[]; value: string; onChange: (id: string) => void }) {
  const { t } = useI18n();
  return (
    <Field id="pick-senior" label={t("admin.chooseSenior")}>
      <select id="pick-senior" value={value} onChange={(e) => onChange(e.target.value)} data-testid="senior-picker">
        <option value="">—</option>
        {seniors.map((s) => (
          <option key={s.id} value={s.id}>
            {s.name}
          </option>
        ))}
      </select>
    </Field>
  );
}

function Seniors() {
  const { t } = useI18n();
  const [seniors, reload] = useLoad(allSeniors, []);
  const [staff] = useLoad(() => api.users("staff"), []);
  const [selected, setSelected] = useState("");
  const [error, run] = useAction();
  const [form, setForm] = useState({ name: "", birth_date: "", sex: "", mobility: "", phone: "", address: "", conditions: "", video_consent: false, staff_id: "" });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    await run(async () => {
      const s = await api.createSenior({
        name: form.name,
        birth_date: form.birth_date || null,
        sex: form.sex || null,
        mobility: form.mobility || null,
        phone: form.phone || null,
        address: form.address || null,
        health_conditions: form.conditions.split(",").map((x) => x.trim()).filter(Boolean),
        video_consent: form.video_consent,
        staff_ids: form.staff_id ? [form.staff_id] : [],
      });
      setForm({ name: "", birth_date: "", sex: "", mobility: "", phone: "", address: "", conditions: "", video_consent: false, staff_id: "" });
      reload();
      setSelected(s.id);
    });
  };

  return (
    <div className="grid">
      <Section title={t("admin.seniors")} id="seniors-admin">
        <Show value={seniors} retry={reload}>
          {(list) => (
            <>
              <SeniorPicker seniors={list} value={selected} onChange={setSelected} />
              {selected && <Assignments key={selected} seniorId={selected} staff={staff.state === "ok" ? staff.data : []} />}
            </>
          )}
        </Show>
      </Section>
      <Section title={t("admin.newSenior")} id="new-senior">
        <form onSubmit={submit} className="form">
          <Field id="ns-name" label={t("common.name")}>
            <input id="ns-name" required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
          </Field>
          <Field id="ns-birth" label={t("senior.birth")}>
            <input id="ns-birth" type="date" value={form.birth_date} onChange={(e) => setForm({ ...form, birth_date: e.target.value })} />
          </Field>
          <Field id="ns-sex" label={t("senior.sex")}>
            <select id="ns-sex" value={form.sex} onChange={(e) => setForm({ ...form, sex: e.target.value })}>
              <option value="">—</option>
              {["female", "male", "other"].map((x) => (
                <option key={x} value={x}>
                  {tEnum(t, "sex", x)}
                </option>
              ))}
            </select>
          </Field>
          <Field id="ns-mob" label={t("senior.mobility")}>
            <select id="ns-mob" value={form.mobility} onChange={(e) => setForm({ ...form, mobility: e.target.value })}>
              <option value="">—</option>
              {["independent", "cane", "walker", "wheelchair", "bedridden"].map((x) => (
                <option key={x} value={x}>
                  {tEnum(t, "mobility", x)}
                </option>
              ))}
            </select>
          </Field>
          <Field id="ns-phone" label={t("common.phone")}>
            <input id="ns-phone" type="tel" value={form.phone} onChange={(e) => setForm({ ...form, phone: e.target.value })} />
          </Field>
          <Field id="ns-addr" label={t("senior.address")}>
            <input id="ns-addr" value={form.address} onChange={(e) => setForm({ ...form, address: e.target.value })} />
          </Field>
          <Field id="ns-cond" label={t("senior.conditions")}>
            <input id="ns-cond" value={form.conditions} onChange={(e) => setForm({ ...form, conditions: e.target.value })} />
          </Field>
          <Field id="ns-staff" label={t("senior.staff")}>
            <select id="ns-staff" value={form.staff_id} onChange={(e) => setForm({ ...form, staff_id: e.target.value })}>
              <option value="">—</option>
              {(staff.state === "ok" ? staff.data : []).map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name}
                </option>
              ))}
            </select>
          </Field>
          <div className="field check">
            <input id="ns-video" type="checkbox" checked={form.video_consent} onChange={(e) => setForm({ ...form, video_consent: e.target.checked })} />
            <label htmlFor="ns-video">{t("senior.videoConsent")}</label>
          </div>
          <FormError error={error} />
          <button type="submit" className="btn btn-primary">
            {t("common.add")}
          </button>
        </form>
      </Section>
    </div>
  );
}

function Assignments({ seniorId, staff }: { seniorId: string; staff: User[] }) {
  const { t } = useI18n();
  const [senior, reload] = useLoad(() => api.senior(seniorId), [seniorId]);
  const [guardianUsers] = useLoad(() => api.users("guardian"), []);
  const [pick, setPick] = useState("");
  const [g, setG] = useState({ name: "", relation: "", phone: "", user_id: "" });
  const [error, run] = useAction();
  return (
    <Show value={senior} retry={reload}>
      {(s) => (
        <div className="assign">
          <p>
            <RiskBadge risk={s.risk_level} /> <Link to={`/seniors/${s.id}`}>{s.name}</Link>
          </p>
          <h3 className="h3">{t("senior.staff")}</h3>
          <ul className="people">
            {s.staff.map((st) => (
              <li key={st.user_id}>
                <span>
                  {st.name} {st.is_primary && <span className="muted">({t("senior.primary")})</span>}
                </span>
                <button type="button" className="btn btn-small" onClick={() => void run(() => api.unassignStaff(s.id, st.user_id).then(reload))}>
                  {t("common.delete")}
                  <span className="sr-only"> {st.name}</span>
                </button>
              </li>
            ))}
          </ul>
          <div className="row">
            <label className="sr-only" htmlFor="assign-staff">
              {t("admin.assign")}
            </label>
            <select id="assign-staff" value={pick} onChange={(e) => setPick(e.target.value)}>
              <option value="">—</option>
              {staff
                .filter((u) => u.is_active && !s.staff.some((x) => x.user_id === u.id))
                .map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.name}
                  </option>
                ))}
            </select>
            <button type="button" className="btn" disabled={!pick} onClick={() => void run(() => api.assignStaff(s.id, pick, s.staff.length === 0).then(reload))}>
              {t("admin.assign")}
            </button>
          </div>
          <h3 className="h3">{t("senior.guardians")}</h3>
          <ul className="people">
            {s.guardians.map((x) => (
              <li key={x.id}>
                <span>
                  {x.name} {x.relation && <span className="muted">({x.relation})</span>} {x.phone}
                </span>
                <button type="button" className="btn btn-small" onClick={() => void run(() => api.removeGuardian(s.id, x.id).then(reload))}>
                  {t("common.delete")}
                  <span className="sr-only"> {x.name}</span>
                </button>
              </li>
            ))}
          </ul>
          <form
            className="form"
            onSubmit={(e) => {
              e.preventDefault();
              void run(() =>
                api
                  .addGuardian(s.id, { name: g.name, relation: g.relation || null, phone: g.phone || null, user_id: g.user_id || null })
                  .then(() => {
                    setG({ name: "", relation: "", phone: "", user_id: "" });
                    reload();
                  }),
              );
            }}
          >
            <Field id="g-name" label={`${t("senior.guardians")} — ${t("common.name")}`}>
              <input id="g-name" required value={g.name} onChange={(e) => setG({ ...g, name: e.target.value })} />
            </Field>
            <Field id="g-rel" label="relation / 관계">
              <input id="g-rel" value={g.relation} onChange={(e) => setG({ ...g, relation: e.target.value })} />
            </Field>
            <Field id="g-phone" label={t("common.phone")}>
              <input id="g-phone" type="tel" value={g.phone} onChange={(e) => setG({ ...g, phone: e.target.value })} />
            </Field>
            <Field id="g-user" label={t("role.guardian")}>
              <select id="g-user" value={g.user_id} onChange={(e) => setG({ ...g, user_id: e.target.value })}>
                <option value="">—</option>
                {(guardianUsers.state === "ok" ? guardianUsers.data : []).map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.name} ({u.email})
                  </option>
                ))}
              </select>
            </Field>
            <button type="submit" className="btn">
              {t("common.add")}
            </button>
          </form>
          <FormError error={error} />
        </div>
      )}
    </Show>
  );
}

// ------------------------------------------------------------------------------------- homes, devices

function CredentialBox({ cred, onClose }: { cred: DeviceCredential; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <div className="secret-box" role="alert" data-testid="credential">
      <p>
        <strong>{t("admin.credential")}</strong>
      </p>
      <dl className="kv">
        <dt>ID / MQTT</dt>
        <dd>
          <code>{cred.mqtt_username}</code>
        </dd>
        <dt>{t("admin.secret")}</dt>
        <dd>
          <code data-testid="credential-secret">{cred.secret}</code> <CopyButton text={cred.secret} />
        </dd>
      </dl>
      <button type="button" className="btn" onClick={onClose}>
        {t("common.close")}
      </button>
    </div>
  );
}

function Homes() {
  const { t } = useI18n();
  const [seniors] = useLoad(allSeniors, []);
  const [selected, setSelected] = useState("");
  return (
    <div className="stack">
      <Section title={t("admin.homes")} id="homes">
        <Show value={seniors}>{(list) => <SeniorPicker seniors={list} value={selected} onChange={setSelected} />}</Show>
      </Section>
      {selected && <HomeDevices key={selected} seniorId={selected} />}
    </div>
  );
}

function HomeDevices({ seniorId }: { seniorId: string }) {
  const { t } = useI18n();
  const [home, reload] = useLoad<Home | null>(
    () => api.homeOf(seniorId).catch((e) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e))),
    [seniorId],
  );
  const [error, run] = useAction();
  const [address, setAddress] = useState("");
  if (home.state === "loading") return <Spinner />;
  if (home.state === "error") return <ErrorBox error={home.error} retry={reload} />;
  if (home.state !== "ok") return null;
  if (!home.data)
    return (
      <Section title={t("admin.createHome")} id="create-home">
        <form
          className="form"
          onSubmit={(e) => {
            e.preventDefault();
            void run(() => api.createHome(seniorId, { address: address || null }).then(reload));
          }}
        >
          <Field id="home-addr" label={t("senior.address")}>
            <input id="home-addr" value={address} onChange={(e) => setAddress(e.target.value)} />
          </Field>
          <FormError error={error} />
          <button type="submit" className="btn btn-primary">
            {t("admin.createHome")}
          </button>
        </form>
      </Section>
    );
  return <Devices home={home.data} />;
}

function Devices({ home }: { home: Home }) {
  const { t, fmtDate } = useI18n();
  const [hubs, reloadHubs] = useLoad(() => api.hubs(home.id), [home.id]);
  const [sensors, reloadSensors] = useLoad(() => api.sensors(home.id), [home.id]);
  const [robots, reloadRobots] = useLoad(() => api.robots(home.id), [home.id]);
  const [cred, setCred] = useState<DeviceCredential | null>(null);
  const [error, run] = useAction();
  const [hubForm, setHubForm] = useState({ id: "", name: "" });
  const [sensorForm, setSensorForm] = useState({ hub_id: "", sensor_id: "", kind: "motion", room: "bedroom", label: "" });
  const [robotForm, setRobotForm] = useState({ id: "", hub_id: "", model: "", dock_room: "living" });
  const hubList: Hub[] = hubs.state === "ok" ? hubs.data : [];
  const activeHubs = hubList.filter((h) => h.status === "active");

  const connectivity = (h: Hub) => (
    <Badge tone={h.connectivity === "online" ? "info" : h.connectivity === "offline" ? "bad" : "muted"}>
      {t(`admin.connectivity.${h.connectivity}` as Key)}
    </Badge>
  );

  return (
    <div className="grid">
      {cred && <CredentialBox cred={cred} onClose={() => setCred(null)} />}
      <FormError error={error} />
      <Section title={t("admin.hubs")} id="hubs">
        <Show value={hubs} retry={reloadHubs}>
          {(list) =>
            list.length ? (
              <ul className="devices" data-testid="hub-list">
                {list.map((h) => (
                  <li key={h.id}>
                    <span className="grow">
                      <strong>{h.name}</strong> <code>{h.id}</code> {connectivity(h)}{" "}
                      {h.status === "revoked" && <Badge tone="bad">{t("device.revoked")}</Badge>}
                      <span className="muted small block">
                        {t("admin.lastSeen")}: {fmtDate(h.last_seen_at, true)}
                      </span>
                    </span>
                    {h.status === "active" && (
                      <span className="actions">
                        <button type="button" className="btn btn-small" onClick={() => void run(() => api.rotateHub(h.id).then(setCred).then(reloadHubs))}>
                          {t("admin.rotate")}
                          <span className="sr-only"> {h.id}</span>
                        </button>
                        <button
                          type="button"
                          className="btn btn-small btn-danger-outline"
                          onClick={() => confirm(t("admin.confirmRevoke")) && void run(() => api.revokeHub(h.id).then(reloadHubs))}
                        >
                          {t("admin.revoke")}
                          <span className="sr-only"> {h.id}</span>
                        </button>
                      </span>
                    )}
                  </li>
                ))}
              </ul>
            ) : (
              <Empty>{t("common.none")}</Empty>
            )
          }
        </Show>
        <form
          className="form"
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              const h = await api.createHub(home.id, hubForm);
              setCred(h.credential);
              setHubForm({ id: "", name: "" });
              reloadHubs();
            });
          }}
        >
          <h3 className="h3">{t("admin.newHub")}</h3>
          <Field id="hub-id" label={t("admin.hubId")}>
            <input id="hub-id" required pattern="[A-Za-z0-9][A-Za-z0-9_\-]{2,63}" value={hubForm.id} onChange={(e) => setHubForm({ ...hubForm, id: e.target.value })} />
          </Field>
          <Field id="hub-name" label={t("common.name")}>
            <input id="hub-name" required value={hubForm.name} onChange={(e) => setHubForm({ ...hubForm, name: e.target.value })} />
          </Field>
          <button type="submit" className="btn btn-primary">
            {t("admin.newHub")}
          </button>
        </form>
      </Section>

      <Section title={t("admin.sensors")} id="sensors">
        <Show value={sensors} retry={reloadSensors}>
          {(list: Sensor[]) =>
            list.length ? (
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">ID</th>
                      <th scope="col">{t("admin.kind")}</th>
                      <th scope="col">{t("admin.room")}</th>
                      <th scope="col">{t("admin.label")}</th>
                      <th scope="col">{t("common.actions")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((s) => (
                      <tr key={s.id}>
                        <td>
                          <code>{s.sensor_id}</code>
                        </td>
                        <td>{s.kind}</td>
                        <td>
                          <label className="sr-only" htmlFor={`room-${s.id}`}>
                            {t("admin.room")} {s.sensor_id}
                          </label>
                          <select id={`room-${s.id}`} value={s.room} onChange={(e) => void run(() => api.updateSensor(s.id, { room: e.target.value }).then(reloadSensors))}>
                            {ROOMS.map((r) => (
                              <option key={r} value={r}>
                                {tEnum(t, "room", r)}
                              </option>
                            ))}
                          </select>
                        </td>
                        <td>{s.label}</td>
                        <td>
                          <button type="button" className="btn btn-small" onClick={() => void run(() => api.deleteSensor(s.id).then(reloadSensors))}>
                            {t("common.delete")}
                            <span className="sr-only"> {s.sensor_id}</span>
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : (
              <Empty>{t("senior.noSensors")}</Empty>
            )
          }
        </Show>
        {activeHubs.length > 0 && (
          <form
            className="form"
            onSubmit={(e) => {
              e.preventDefault();
              const hub = sensorForm.hub_id || activeHubs[0].id;
              void run(() =>
                api
                  .addSensor(hub, { sensor_id: sensorForm.sensor_id, kind: sensorForm.kind, room: sensorForm.room, label: sensorForm.label || undefined })
                  .then(() => {
                    setSensorForm({ ...sensorForm, sensor_id: "", label: "" });
                    reloadSensors();
                  }),
              );
            }}
          >
            <h3 className="h3">{t("admin.newSensor")}</h3>
            <Field id="s-hub" label={t("admin.hubs")}>
              <select id="s-hub" value={sensorForm.hub_id} onChange={(e) => setSensorForm({ ...sensorForm, hub_id: e.target.value })}>
                {activeHubs.map((h) => (
                  <option key={h.id} value={h.id}>
                    {h.name}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="s-id" label="ID">
              <input id="s-id" required value={sensorForm.sensor_id} onChange={(e) => setSensorForm({ ...sensorForm, sensor_id: e.target.value })} />
            </Field>
            <Field id="s-kind" label={t("admin.kind")}>
              <select id="s-kind" value={sensorForm.kind} onChange={(e) => setSensorForm({ ...sensorForm, kind: e.target.value })}>
                {KINDS.map((k) => (
                  <option key={k} value={k}>
                    {k}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="s-room" label={t("admin.room")}>
              <select id="s-room" value={sensorForm.room} onChange={(e) => setSensorForm({ ...sensorForm, room: e.target.value })}>
                {ROOMS.map((r) => (
                  <option key={r} value={r}>
                    {tEnum(t, "room", r)}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="s-label" label={t("admin.label")}>
              <input id="s-label" value={sensorForm.label} onChange={(e) => setSensorForm({ ...sensorForm, label: e.target.value })} />
            </Field>
            <button type="submit" className="btn">
              {t("admin.newSensor")}
            </button>
          </form>
        )}
      </Section>

      <Section title={t("admin.robots")} id="robots">
        <Show value={robots} retry={reloadRobots}>
          {(list: Robot[]) =>
            list.length ? (
              <ul className="devices">
                {list.map((r) => (
                  <li key={r.id}>
                    <span className="grow">
                      <strong>{r.model}</strong> <code>{r.id}</code> · {tEnum(t, "room", r.dock_room)}{" "}
                      {r.status === "revoked" && <Badge tone="bad">{t("device.revoked")}</Badge>}
                    </span>
                    {r.status === "active" && (
                      <span className="actions">
                        <button type="button" className="btn btn-small" onClick={() => void run(() => api.rotateRobot(r.id).then(setCred).then(reloadRobots))}>
                          {t("admin.rotate")}
                          <span className="sr-only"> {r.id}</span>
                        </button>
                        <button
                          type="button"
                          className="btn btn-small btn-danger-outline"
                          onClick={() => confirm(t("admin.confirmRevoke")) && void run(() => api.revokeRobot(r.id).then(reloadRobots))}
                        >
                          {t("admin.revoke")}
                          <span className="sr-only"> {r.id}</span>
                        </button>
                      </span>
                    )}
                  </li>
                ))}
              </ul>
            ) : (
              <Empty>{t("common.none")}</Empty>
            )
          }
        </Show>
        {activeHubs.length > 0 && (
          <form
            className="form"
            onSubmit={(e) => {
              e.preventDefault();
              void run(async () => {
                const r = await api.createRobot(home.id, { ...robotForm, hub_id: robotForm.hub_id || activeHubs[0].id });
                setCred(r.credential);
                setRobotForm({ id: "", hub_id: "", model: "", dock_room: "living" });
                reloadRobots();
              });
            }}
          >
            <h3 className="h3">{t("admin.newRobot")}</h3>
            <Field id="r-id" label="ID">
              <input id="r-id" required value={robotForm.id} onChange={(e) => setRobotForm({ ...robotForm, id: e.target.value })} />
            </Field>
            <Field id="r-hub" label={t("admin.hubs")}>
              <select id="r-hub" value={robotForm.hub_id} onChange={(e) => setRobotForm({ ...robotForm, hub_id: e.target.value })}>
                {activeHubs.map((h) => (
                  <option key={h.id} value={h.id}>
                    {h.name}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="r-model" label={t("admin.model")}>
              <input id="r-model" required value={robotForm.model} onChange={(e) => setRobotForm({ ...robotForm, model: e.target.value })} />
            </Field>
            <Field id="r-dock" label={t("admin.dockRoom")}>
              <select id="r-dock" value={robotForm.dock_room} onChange={(e) => setRobotForm({ ...robotForm, dock_room: e.target.value })}>
                {ROOMS.map((r) => (
                  <option key={r} value={r}>
                    {tEnum(t, "room", r)}
                  </option>
                ))}
              </select>
            </Field>
            <button type="submit" className="btn">
              {t("admin.newRobot")}
            </button>
          </form>
        )}
      </Section>
    </div>
  );
}

// ------------------------------------------------------------------------------------------- policy

function Policy() {
  const { t } = useI18n();
  const org = useOrg();
  const [form, setForm] = useState({ name: org?.name ?? "", phone: org?.phone ?? "" });
  const [saved, setSaved] = useState(false);
  const [error, run] = useAction();
  const [escalation] = useLoad(() => api.escalationPolicy(), []);
  return (
    <div className="grid">
      <Section title={t("admin.org")} id="org">
        <form
          className="form"
          onSubmit={(e) => {
            e.preventDefault();
            setSaved(false);
            void run(() => api.updateOrganisation({ name: form.name, phone: form.phone || null })).then((ok) => {
              setSaved(ok);
              if (ok) navigate("/admin/policy", true);
            });
          }}
        >
          <Field id="org-name" label={t("common.name")}>
            <input id="org-name" required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
          </Field>
          <Field id="org-phone" label={t("common.phone")}>
            <input id="org-phone" type="tel" value={form.phone} onChange={(e) => setForm({ ...form, phone: e.target.value })} />
          </Field>
          <FormError error={error} />
          {saved && (
            <p className="notice" role="status">
              ✓ {t("common.save")}
            </p>
          )}
          <button type="submit" className="btn btn-primary">
            {t("common.save")}
          </button>
        </form>
      </Section>
      <Section title={t("admin.escalation")} id="escalation">
        <Show value={escalation}>
          {(p) => (
            <dl className="kv" data-testid="escalation">
              <dt>on</dt>
              <dd>{p.enabled ? "✓" : "—"}</dd>
              <dt>{tEnum(t, "risk", "danger")}</dt>
              <dd>{p.danger_minutes} min</dd>
              <dt>{tEnum(t, "risk", "caution")}</dt>
              <dd>{p.caution_minutes} min</dd>
              <dt>↻</dt>
              <dd>{p.repeat_minutes} min</dd>
              <dt>1 → {p.levels.length}</dt>
              <dd>{p.levels.join(" → ")}</dd>
            </dl>
          )}
        </Show>
      </Section>
      <RobotSettingsSection />
      <OrgThresholdsSection />
    </div>
  );
}
