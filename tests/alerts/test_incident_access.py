"""Incident access: staff paged by an escalation may handle that incident; guardians never read staff notes."""

from __future__ import annotations

from datetime import timedelta

import httpx

from seniorsafe.alerts import escalation
from seniorsafe.deps import AppState
from tests.conftest import Org
from tests.realtime.conftest import open_alert, unique_kind


async def test_staff_paged_by_escalation_may_handle_that_incident_only(
    client: httpx.AsyncClient, wf_orgs: list[Org], state: AppState
) -> None:
    org, other = wf_orgs
    senior = org.seniors[2]["id"]  # assigned to staff2 only
    alert = await open_alert(state, org, 2, unique_kind())
    quiet = await open_alert(state, org, 2, unique_kind(), severity="caution")  # same senior, not escalated yet
    r = await client.get(f"/api/v1/alerts/{alert.id}", headers=org.h(org.staff1))
    assert r.status_code == 404  # not paged yet: staff1 cannot see staff2's senior
    await escalation.tick(state, alert.opened_at)
    assert (await client.get(f"/api/v1/alerts/{alert.id}", headers=org.h(org.staff1))).status_code == 404
    await escalation.tick(state, alert.opened_at + timedelta(minutes=2, seconds=1))

    r = await client.get(f"/api/v1/alerts/{alert.id}", headers=org.h(org.staff1))
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["senior"]["id"] == senior and detail["senior"]["name"].startswith("Senior 2")
    assert any(e["type"] == "notified" and "all_staff" in e["text"] for e in detail["timeline"])
    listed = await client.get("/api/v1/alerts", headers=org.h(org.staff1), params={"status": "all", "limit": 200})
    ids = {a["id"] for a in listed.json()["items"]}
    assert str(alert.id) in ids and str(quiet.id) not in ids  # the grant opens this incident, no other
    for path in (f"/api/v1/seniors/{senior}", f"/api/v1/seniors/{senior}/incidents",
                 f"/api/v1/alerts/{quiet.id}"):
        assert (await client.get(path, headers=org.h(org.staff1))).status_code == 404, path

    # Another organisation's staff and admin still see nothing of it.
    for who in (other.staff1, other.staff2, other.admin):
        assert (await client.get(f"/api/v1/alerts/{alert.id}", headers=other.h(who))).status_code == 404
        r = await client.post(f"/api/v1/alerts/{alert.id}/acknowledge", headers=other.h(who))
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
        r = await client.post(f"/api/v1/alerts/{alert.id}/notes", headers=other.h(who), json={"text": "x"})
        assert r.status_code == 404

    # The paged staff member acts on it: acknowledge, note, assign to themselves, resolve.
    r = await client.post(f"/api/v1/alerts/{alert.id}/acknowledge", headers=org.h(org.staff1))
    assert r.status_code == 200 and r.json()["acknowledged_by"] == org.staff1["id"], r.text
    r = await client.post(f"/api/v1/alerts/{alert.id}/notes", headers=org.h(org.staff1), json={"text": "on my way"})
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/alerts/{alert.id}/assign", headers=org.h(org.staff1),
                          json={"user_id": org.staff1["id"]})
    assert r.status_code == 200 and r.json()["assigned_to"] == org.staff1["id"], r.text
    r = await client.post(f"/api/v1/alerts/{alert.id}/resolve", headers=org.h(org.staff1),
                          json={"outcome": "resident_fine", "note": "checked in person"})
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text
    r = await client.post(f"/api/v1/alerts/{quiet.id}/acknowledge", headers=org.h(org.staff1))
    assert r.status_code == 404
    await open_alert(state, org, 2, quiet.kind, action="close")


async def test_guardians_never_read_staff_notes(client: httpx.AsyncClient, wf_orgs: list[Org],
                                                state: AppState) -> None:
    org, _ = wf_orgs
    alert = await open_alert(state, org, 0, unique_kind())  # senior 0: staff1's, with the guardian
    r = await client.post(f"/api/v1/alerts/{alert.id}/notes", headers=org.h(org.staff1),
                          json={"text": "INTERNAL son refuses visits"})
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/alerts/{alert.id}/resolve", headers=org.h(org.staff1),
                          json={"outcome": "false_alarm", "note": "INTERNAL sensor badly placed"})
    assert r.status_code == 200 and r.json()["resolution_note"] == "INTERNAL sensor badly placed"

    staff = (await client.get(f"/api/v1/alerts/{alert.id}", headers=org.h(org.staff1))).json()
    assert any(e["type"] == "note" for e in staff["timeline"])
    assert "INTERNAL sensor badly placed" in staff["resolution_note"]
    mine = (await client.get(f"/api/v1/alerts/{alert.id}", headers=org.h(org.guardian)))
    assert mine.status_code == 200, mine.text
    history = await client.get(f"/api/v1/seniors/{org.seniors[0]['id']}/incidents", headers=org.h(org.guardian))
    listed = await client.get("/api/v1/alerts", headers=org.h(org.guardian), params={"status": "all"})
    assert history.status_code == 200 and listed.status_code == 200
    for body in (mine.text, history.text, listed.text):
        assert "INTERNAL" not in body
    guardian = mine.json()
    assert guardian["resolution_note"] is None
    assert not [e for e in guardian["timeline"] if e["type"] == "note"]
    resolved = [e for e in guardian["timeline"] if e["type"] == "resolved"]
    assert resolved and resolved[0]["text"] == "resolved by staff1: false alarm"
