// The guardian's view: only their own relative(s) — status, recent activity, incidents, video when the
// senior consented, and one-tap calls to the agency and 119. The server scopes every read; this screen
// never asks for anything else.
import { api, type SeniorDetail } from "../api";
import { HeatMap, toBuckets } from "../charts";
import { useI18n } from "../i18n";
import { useLive } from "../realtime";
import { Link } from "../router";
import { useOrg } from "../session";
import { CallLink, Empty, Section, Show, Spinner, useLoad } from "../ui";
import { AlertList, SeniorHeader } from "./SeniorDetail";

export function GuardianHome({ seniorId }: { seniorId?: string }) {
  const { t } = useI18n();
  const [list, reload] = useLoad(() => api.seniors({ limit: 20 }), []);
  useLive(["senior.status_changed"], () => reload());
  return (
    <div className="page">
      <Show value={list} retry={reload}>
        {(page) => {
          if (!page.items.length) return <Empty>{t("guardian.none")}</Empty>;
          const chosen = seniorId ?? page.items[0].id;
          return (
            <>
              {page.items.length > 1 && (
                <nav aria-label={t("guardian.title")} className="chips">
                  {page.items.map((s) => (
                    <Link key={s.id} to={`/seniors/${s.id}`} className="chip" aria-current={s.id === chosen ? "page" : undefined}>
                      {s.name}
                    </Link>
                  ))}
                </nav>
              )}
              <GuardianSenior key={chosen} id={chosen} />
            </>
          );
        }}
      </Show>
    </div>
  );
}

function GuardianSenior({ id }: { id: string }) {
  const { t } = useI18n();
  const org = useOrg();
  const [senior, , setSenior] = useLoad(() => api.senior(id), [id]);
  const [activity] = useLoad(async () => {
    const s = await api.senior(id);
    if (!s.home_id) return { buckets: [], tz: undefined };
    const home = await api.homeOf(id);
    return { buckets: toBuckets(await api.hourlyActivity(home.id, 7), home.timezone), tz: home.timezone };
  }, [id]);
  const [alerts] = useLoad(() => api.alerts({ senior_id: id, status: "all", limit: 10 }), [id]);
  useLive(["senior.status_changed"], (p) => {
    const d = p as { senior_id?: string; risk_level?: SeniorDetail["risk_level"] };
    if (d.senior_id === id && d.risk_level && senior.state === "ok") setSenior({ ...senior.data, risk_level: d.risk_level });
  });
  if (senior.state === "loading") return <Spinner />;
  if (senior.state !== "ok") return <Empty>{t("senior.notFound")}</Empty>;
  const s = senior.data;
  return (
    <div data-testid="guardian-view">
      <SeniorHeader s={{ ...s, home_id: s.video_consent ? s.home_id : null }} guardian />
      <div className="call-row">
        {org?.phone && <CallLink phone={org.phone} label={`${t("guardian.callAgency")} (${org.name})`} />}
        <CallLink phone="119" label={t("guardian.call119")} tone="danger" />
      </div>
      <div className="grid">
        <Section title={t("guardian.summary")} id="g-activity">
          <Show value={activity}>
            {({ buckets, tz }) =>
              buckets.length ? <HeatMap buckets={buckets} days={7} tz={tz} t={t} /> : <Empty>{t("routine.none")}</Empty>
            }
          </Show>
        </Section>
        <Section title={t("guardian.incidents")} id="g-incidents">
          <Show value={alerts}>{(a) => (a.length ? <AlertList alerts={a} /> : <Empty>{t("senior.noAlerts")}</Empty>)}</Show>
        </Section>
        <Section title={t("senior.staff")} id="g-staff">
          <ul className="people">
            {s.staff.map((st) => (
              <li key={st.user_id}>
                <strong>{st.name}</strong>
                {st.phone && <CallLink phone={st.phone} label={st.phone} />}
              </li>
            ))}
          </ul>
          {s.staff.length === 0 && <Empty>{t("common.none")}</Empty>}
        </Section>
      </div>
    </div>
  );
}
