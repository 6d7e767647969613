"""The Socket.IO gateway against a real uvicorn api: auth, rooms, snapshot, events, watching, sessions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import socketio

from seniorsafe.accounts.models import Role
from seniorsafe.accounts.security import Principal, issue_access_token
from seniorsafe.config import Settings
from seniorsafe.deps import AppState
from tests.conftest import Org, login
from tests.realtime.conftest import Probe, guardian_and_staff, open_alert, unique_kind


async def test_refused_without_or_with_bad_token(live_url: str, probes: Callable[[str], Probe]) -> None:
    for auth in ({}, {"token": ""}, {"token": "not-a-jwt"}, {"robot_id": "r1", "secret": "x"}):
        p = probes("anon")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await p.sio.connect(live_url, auth=auth, transports=["websocket"], wait_timeout=5)
        assert not p.events


async def test_snapshot_is_scoped_to_what_the_user_may_see(
    live_url: str, rt_orgs: list[Org], state: AppState, probes: Callable[[str], Probe]
) -> None:
    org, other = rt_orgs
    mine = await open_alert(state, org, 0, unique_kind())
    theirs = await open_alert(state, org, 2, unique_kind())
    foreign = await open_alert(state, other, 0, unique_kind())
    staff1 = probes("staff1")
    await staff1.connect(live_url, org.staff1["token"])
    snap = await staff1.snapshot()
    seniors = {s["id"] for s in snap["seniors"]}
    assert {org.seniors[0]["id"], org.seniors[1]["id"]} <= seniors and org.seniors[2]["id"] not in seniors
    assert not seniors & {s["id"] for s in other.seniors}
    alert_ids = {a["id"] for a in snap["alerts"]}
    assert str(mine.id) in alert_ids
    assert str(theirs.id) not in alert_ids and str(foreign.id) not in alert_ids
    assert {s["id"]: s["risk_level"] for s in snap["seniors"]}[org.seniors[0]["id"]] == "danger"
    assert "hubs" in snap["devices"]
    admin = probes("admin")
    await admin.connect(live_url, org.admin["token"])
    snap = await admin.snapshot()
    assert {s["id"] for s in org.seniors} <= {s["id"] for s in snap["seniors"]}
    assert not {s["id"] for s in snap["seniors"]} & {s["id"] for s in other.seniors}
    assert {str(mine.id), str(theirs.id)} <= {a["id"] for a in snap["alerts"]}
    assert str(foreign.id) not in {a["id"] for a in snap["alerts"]}
    guardian = probes("guardian")
    await guardian.connect(live_url, org.guardian["token"])
    snap = await guardian.snapshot()
    visible = {s["id"] for s in snap["seniors"]}
    assert org.seniors[0]["id"] in visible and not visible & {org.seniors[1]["id"], org.seniors[2]["id"]}


async def test_events_reach_only_allowed_clients_and_every_tab(
    live_url: str, rt_orgs: list[Org], state: AppState, probes: Callable[[str], Probe]
) -> None:
    org, other = rt_orgs
    clients = {name: probes(name) for name in ("staff1a", "staff1b", "staff2", "admin", "guardian", "other")}
    tokens = {"staff1a": org.staff1, "staff1b": org.staff1, "staff2": org.staff2, "admin": org.admin,
              "guardian": org.guardian, "other": other.admin}
    for name, p in clients.items():
        await p.connect(live_url, tokens[name]["token"])
        await p.snapshot()
    k0, k2 = unique_kind(), unique_kind()
    a0 = await open_alert(state, org, 0, k0)  # staff1's senior with the guardian
    a2 = await open_alert(state, org, 2, k2)  # staff2's senior
    for name in ("staff1a", "staff1b", "admin", "guardian"):
        await clients[name].wait_for(lambda e, d: e == "alert.opened" and d["data"]["id"] == str(a0.id))
    for name in ("staff2", "admin"):
        await clients[name].wait_for(lambda e, d: e == "alert.opened" and d["data"]["id"] == str(a2.id))
    await clients["staff1a"].wait_for(lambda e, d: e == "senior.status_changed"
                                      and d["senior_id"] == org.seniors[0]["id"])
    await asyncio.sleep(0.3)
    assert not clients["staff2"].named("alert.opened", data__id=str(a0.id))
    assert not clients["staff1a"].named("alert.opened", data__id=str(a2.id))
    assert not clients["guardian"].named("alert.opened", data__id=str(a2.id))
    # Nothing of this organisation reaches the other one (its own alerts may change meanwhile: other tests'
    # api processes run the escalation worker over the shared database).
    ours = {s["id"] for s in org.seniors}
    assert not [e for e, d, _ in clients["other"].events
                if e != "snapshot" and (d.get("org_id") == org.id or d.get("senior_id") in ours)]
    assert len(clients["admin"].named("alert.opened", data__id=str(a0.id))) == 1  # org room + senior room: once


async def test_acknowledge_reaches_everyone_with_who_acted(
    live_url: str, rt_orgs: list[Org], state: AppState, probes: Callable[[str], Probe]
) -> None:
    org, _ = rt_orgs
    alert = await open_alert(state, org, 0, unique_kind())
    guardian, staff = await guardian_and_staff(live_url, org, probes)
    async with httpx.AsyncClient(base_url=live_url) as http:
        r = await http.post(f"/api/v1/alerts/{alert.id}/acknowledge", headers=org.h(org.guardian))
        assert r.status_code == 200, r.text
    for p in (guardian, staff):
        _, data = await p.wait_for(lambda e, d: e == "alert.acknowledged" and d["data"]["id"] == str(alert.id))
        assert data["data"]["actor"]["id"] == org.guardian["id"]
        assert data["data"]["acknowledged_by"] == org.guardian["id"]


async def test_watch_is_authorised_and_activity_flows_from_real_ingest(
    live_url: str, rt_orgs: list[Org], client: httpx.AsyncClient, probes: Callable[[str], Probe]
) -> None:
    from tests.telemetry.conftest import ev, register_hub

    org, other = rt_orgs
    hub = await register_hub(client, org)  # assigned to staff1, guardian linked
    foreign = await register_hub(client, other)
    staff1, staff2 = probes("staff1"), probes("staff2")
    await staff1.connect(live_url, org.staff1["token"])
    await staff2.connect(live_url, org.staff2["token"])
    assert await staff1.sio.call("senior.watch", {"senior_id": hub.senior_id}) == {"ok": True}
    assert (await staff2.sio.call("senior.watch", {"senior_id": hub.senior_id}))["ok"] is False
    assert (await staff1.sio.call("senior.watch", {"senior_id": foreign.senior_id}))["ok"] is False
    assert (await staff1.sio.call("senior.watch", {"senior_id": "nonsense"}))["ok"] is False
    async with httpx.AsyncClient(base_url=live_url) as http:
        r = await http.post("/api/v1/hub/events", auth=hub.basic(), json=[ev("pir-living", 1)])
        assert r.status_code in (200, 202), r.text
        r = await http.post("/api/v1/hub/events", auth=foreign.basic(), json=[ev("pir-living", 1)])
        assert r.status_code in (200, 202), r.text
        _, data = await staff1.wait_for(lambda e, d: e == "sensor.activity")
        assert data["senior_id"] == hub.senior_id and data["data"]["sensor"] == "pir-living"
        assert await staff1.sio.call("senior.unwatch", {"senior_id": hub.senior_id}) == {"ok": True}
        r = await http.post("/api/v1/hub/events", auth=hub.basic(), json=[ev("pir-living", 2)])
        assert r.status_code in (200, 202), r.text
    await asyncio.sleep(0.5)
    assert len(staff1.named("sensor.activity")) == 1
    assert not staff2.named("sensor.activity")
    assert all(d["senior_id"] != foreign.senior_id for d in staff1.named("sensor.activity"))


async def test_logout_disconnects_every_tab_of_that_session(
    live_url: str, rt_orgs: list[Org], client: httpx.AsyncClient, probes: Callable[[str], Probe]
) -> None:
    org, _ = rt_orgs
    tokens = await login(client, org.staff2["email"])
    tab1, tab2, other = probes("tab1"), probes("tab2"), probes("other-session")
    await tab1.connect(live_url, tokens["access_token"])
    await tab2.connect(live_url, tokens["access_token"])
    await other.connect(live_url, org.staff2["token"])
    r = await client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {tokens['access_token']}"},
                          json={})
    assert r.status_code in (200, 204), r.text
    await asyncio.wait_for(tab1.disconnected.wait(), 5)
    await asyncio.wait_for(tab2.disconnected.wait(), 5)
    assert tab1.named("session.ended")[0]["reason"] == "signed out"
    assert other.sio.connected
    with pytest.raises(socketio.exceptions.ConnectionError):
        await probes("again").connect(live_url, tokens["access_token"])


async def test_expiry_disconnects_unless_refreshed(
    live_url: str, live_settings: Settings, rt_orgs: list[Org], probes: Callable[[str], Probe]
) -> None:
    org, _ = rt_orgs
    principal = Principal(uuid.UUID(org.staff1["id"]), uuid.UUID(org.id), Role.staff, uuid.uuid4())
    lifetime = timedelta(minutes=live_settings.access_token_minutes)
    short, _ = issue_access_token(live_settings, principal, now=datetime.now(UTC) - lifetime + timedelta(seconds=2))
    lapsing, refreshed = probes("lapsing"), probes("refreshed")
    await lapsing.connect(live_url, short)
    await refreshed.connect(live_url, short)
    fresh, _ = issue_access_token(live_settings, principal)
    assert (await refreshed.sio.call("auth.refresh", {"token": fresh}))["ok"] is True
    other_user = Principal(uuid.UUID(org.staff2["id"]), uuid.UUID(org.id), Role.staff, uuid.uuid4())
    stolen, _ = issue_access_token(live_settings, other_user)
    assert (await refreshed.sio.call("auth.refresh", {"token": stolen}))["ok"] is False
    await asyncio.wait_for(lapsing.disconnected.wait(), 6)
    assert lapsing.named("session.ended")[0]["reason"] == "token expired"
    assert refreshed.sio.connected


async def test_alerts_wait_in_the_snapshot_when_nobody_is_connected(
    live_url: str, rt_orgs: list[Org], state: AppState, probes: Callable[[str], Probe]
) -> None:
    org, _ = rt_orgs
    alert = await open_alert(state, org, 1, unique_kind())  # no client connected for this org right now
    await asyncio.sleep(0.2)
    late = probes("late")
    await late.connect(live_url, org.staff1["token"])
    snap = await late.snapshot()
    assert str(alert.id) in {a["id"] for a in snap["alerts"]}
    r = await late.sio.call("snapshot.get")
    assert str(alert.id) in {a["id"] for a in r["snapshot"]["alerts"]}
