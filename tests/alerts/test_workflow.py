"""REST workflow: list, detail, history, acknowledgement race, assign, note, resolve; all scoped."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select

from seniorsafe.alerts.models import Alert
from seniorsafe.deps import AppState
from seniorsafe.seniors.models import Senior
from tests.conftest import Org
from tests.realtime.conftest import open_alert, unique_kind


async def test_first_acknowledgement_wins(client: httpx.AsyncClient, wf_orgs: list[Org], state: AppState) -> None:
    org, _ = wf_orgs
    for _ in range(3):
        alert = await open_alert(state, org, 0, unique_kind())
        url = f"/api/v1/alerts/{alert.id}/acknowledge"
        r1, r2, r3 = await asyncio.gather(client.post(url, headers=org.h(org.staff1)),
                                          client.post(url, headers=org.h(org.admin)),
                                          client.post(url, headers=org.h(org.guardian)))
        codes = sorted([r1.status_code, r2.status_code, r3.status_code])
        assert codes == [200, 409, 409], (r1.text, r2.text, r3.text)
        winner = next(r for r in (r1, r2, r3) if r.status_code == 200).json()
        for loser in (r for r in (r1, r2, r3) if r.status_code == 409):
            body = loser.json()
            assert body["acknowledged_by"]["id"] == winner["acknowledged_by"]
            assert "already acknowledged by" in body["detail"]
        detail = (await client.get(f"/api/v1/alerts/{alert.id}", headers=org.h(org.admin))).json()
        acks = [t for t in detail["timeline"] if t["type"] == "acknowledged"]
        assert len(acks) == 1 and acks[0]["actor_id"] == winner["acknowledged_by"]
        assert detail["status"] == "acknowledged"


async def test_scoping_of_reads_and_actions(client: httpx.AsyncClient, wf_orgs: list[Org], state: AppState) -> None:
    org, other = wf_orgs
    a2 = await open_alert(state, org, 2, unique_kind())  # staff2's senior
    for who in (org.staff1, org.guardian, other.admin):
        assert (await client.get(f"/api/v1/alerts/{a2.id}", headers=org.h(who))).status_code == 404
        r = await client.post(f"/api/v1/alerts/{a2.id}/acknowledge", headers=org.h(who))
        assert r.status_code == 404
        ids = {a["id"] for a in (await client.get("/api/v1/alerts", headers=org.h(who))).json()["items"]}
        assert str(a2.id) not in ids
    assert (await client.get(f"/api/v1/seniors/{org.seniors[2]['id']}/incidents",
                             headers=org.h(org.staff1))).status_code == 404
    ids = {a["id"] for a in (await client.get("/api/v1/alerts", headers=org.h(org.staff2))).json()["items"]}
    assert str(a2.id) in ids


async def test_guardian_acknowledges_but_cannot_manage(client: httpx.AsyncClient, wf_orgs: list[Org],
                                                      state: AppState) -> None:
    org, _ = wf_orgs
    alert = await open_alert(state, org, 0, unique_kind())
    g = org.h(org.guardian)
    assert (await client.post(f"/api/v1/alerts/{alert.id}/assign", headers=g,
                              json={"user_id": org.staff1["id"]})).status_code == 403
    assert (await client.post(f"/api/v1/alerts/{alert.id}/resolve", headers=g,
                              json={"outcome": "resident_fine"})).status_code == 403
    assert (await client.post(f"/api/v1/alerts/{alert.id}/notes", headers=g, json={"text": "hi"})).status_code == 403
    r = await client.post(f"/api/v1/alerts/{alert.id}/acknowledge", headers=g)
    assert r.status_code == 200 and r.json()["acknowledged_by"] == org.guardian["id"]


async def test_assign_note_resolve_and_timeline(client: httpx.AsyncClient, wf_orgs: list[Org],
                                               state: AppState) -> None:
    org, _ = wf_orgs
    alert = await open_alert(state, org, 1, unique_kind())
    h = org.h(org.staff1)
    r = await client.post(f"/api/v1/alerts/{alert.id}/assign", headers=h, json={"user_id": org.staff2["id"]})
    assert r.status_code == 422  # staff2 is not responsible for this senior
    r = await client.post(f"/api/v1/alerts/{alert.id}/assign", headers=h, json={"user_id": org.staff1["id"]})
    assert r.status_code == 200 and r.json()["assigned_to"] == org.staff1["id"]
    r = await client.post(f"/api/v1/alerts/{alert.id}/notes", headers=h, json={"text": "called her, no answer"})
    assert r.status_code == 201
    assert (await client.post(f"/api/v1/alerts/{alert.id}/notes", headers=h, json={"text": "  "})).status_code == 422
    r = await client.post(f"/api/v1/alerts/{alert.id}/resolve", headers=h,
                          json={"outcome": "false_alarm", "note": "she was asleep"})
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "false_alarm" and r.json()["status"] == "closed"
    r = await client.post(f"/api/v1/alerts/{alert.id}/resolve", headers=h, json={"outcome": "other"})
    assert r.status_code == 409
    assert (await client.post(f"/api/v1/alerts/{alert.id}/acknowledge", headers=h)).status_code == 409
    detail = (await client.get(f"/api/v1/alerts/{alert.id}", headers=h)).json()
    types = [t["type"] for t in detail["timeline"]]
    assert types == ["detected", "assigned", "note", "resolved"]
    assert detail["timeline"][2]["text"] == "called her, no answer"
    assert detail["timeline"][3]["actor_name"] == "staff1" and "false alarm" in detail["timeline"][3]["text"]
    async with state.db.sessions() as session:  # the trainer's feedback reads alerts.outcome
        row = await session.get(Alert, alert.id)
        assert row is not None and row.outcome is not None and row.outcome.value == "false_alarm"
        assert row.resolution_note == "she was asleep"
        risk = await session.scalar(select(Senior.risk_level).where(Senior.id == alert.senior_id))
    assert risk is not None and risk.value == "safe"


async def test_list_filters_pagination_and_history(client: httpx.AsyncClient, wf_orgs: list[Org],
                                                   state: AppState) -> None:
    org, _ = wf_orgs
    k = unique_kind()
    made = [await open_alert(state, org, 2, k[:-1] + str(i), severity="caution" if i % 2 else "danger")
            for i in range(5)]
    h = org.h(org.staff2)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"status": "all", "senior_id": org.seniors[2]["id"], "limit": 2, **({"cursor": cursor} if cursor
                                                                                    else {})}
        page = (await client.get("/api/v1/alerts", headers=h, params=params)).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and {str(a.id) for a in made} <= set(seen)
    cautions = (await client.get("/api/v1/alerts", headers=h, params={"severity": "caution", "limit": 200})).json()
    assert all(a["severity"] == "caution" for a in cautions["items"])
    one = (await client.get("/api/v1/alerts", headers=h, params={"kind": made[0].kind})).json()["items"]
    assert [a["id"] for a in one] == [str(made[0].id)]
    assert (await client.get("/api/v1/alerts", headers=h, params={"cursor": "%%%"})).status_code == 422
    r = await client.post(f"/api/v1/alerts/{made[0].id}/resolve", headers=h, json={"outcome": "help_sent"})
    assert r.status_code == 200
    hist = (await client.get(f"/api/v1/seniors/{org.seniors[2]['id']}/incidents", headers=h,
                             params={"limit": 100})).json()
    resolved = next(i for i in hist["items"] if i["id"] == str(made[0].id))
    assert resolved["outcome"] == "help_sent" and resolved["timeline"][0]["type"] == "detected"
    open_ids = {a["id"] for a in (await client.get("/api/v1/alerts", headers=h, params={"limit": 200})).json()["items"]}
    assert str(made[0].id) not in open_ids and str(made[1].id) in open_ids


async def test_escalation_policy_is_admin_editable(client: httpx.AsyncClient, wf_orgs: list[Org]) -> None:
    org, other = wf_orgs
    r = await client.get("/api/v1/organisation/escalation", headers=org.h(org.admin))
    assert r.status_code == 200 and r.json()["levels"][0] == "assigned_staff"
    assert (await client.get("/api/v1/organisation/escalation", headers=org.h(org.staff1))).status_code == 403
    policy = {"enabled": True, "danger_minutes": 1, "caution_minutes": 10, "repeat_minutes": 3,
              "levels": ["assigned_staff", "admins"]}
    assert (await client.put("/api/v1/organisation/escalation", headers=org.h(org.staff1),
                             json=policy)).status_code == 403
    bad = {**policy, "levels": ["admins", "admins"]}
    assert (await client.put("/api/v1/organisation/escalation", headers=org.h(org.admin), json=bad)).status_code == 422
    r = await client.put("/api/v1/organisation/escalation", headers=org.h(org.admin), json=policy)
    assert r.status_code == 200
    assert (await client.get("/api/v1/organisation/escalation", headers=org.h(org.admin))).json() == policy
    assert (await client.get("/api/v1/organisation/escalation",
                             headers=other.h(other.admin))).json()["levels"][-1] == "guardians"
    reset = {"levels": ["assigned_staff", "all_staff", "admins", "guardians"]}
    assert (await client.put("/api/v1/organisation/escalation", headers=org.h(org.admin),
                             json=reset)).status_code == 200
