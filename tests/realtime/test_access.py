"""Live access: rooms follow assignments and guardian links at once; paged responders get their incident's
events only; guardians never receive internal staff notes. Real uvicorn api, real Socket.IO clients."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from seniorsafe.deps import AppState
from tests.conftest import Org
from tests.realtime.conftest import Probe, escalate_to_all_staff, guardian_and_staff, open_alert, unique_kind


def opened(alert_id: object) -> Callable[[str, object], bool]:
    return lambda e, d: e == "alert.opened" and isinstance(d, dict) and d["data"]["id"] == str(alert_id)


async def changed(probe: Probe, count: int) -> dict[str, Any]:
    """Wait for the probe's `count`-th access.changed event and return it."""
    await probe.wait_for(lambda e, _: len(probe.named("access.changed")) >= count)
    return dict(probe.named("access.changed")[count - 1])


async def publish_activity(state: AppState, senior_id: str, seq: int) -> None:
    await state.bus.redis.publish(state.bus.key("pub", f"senior:{senior_id}:activity"), orjson.dumps(
        {"senior_id": senior_id, "hub_id": "h", "sensor": "pir", "kind": "motion", "room": "living",
         "value": True, "ts": "2026-01-01T00:00:00Z", "seq": seq}))


async def test_assign_and_unassign_move_connected_sockets_live(
    live_url: str, rt_orgs: list[Org], state: AppState, probes: Callable[[str], Probe]
) -> None:
    org, _ = rt_orgs
    senior = org.seniors[0]["id"]  # staff1's; staff2 is not assigned to it
    staff1, staff2 = probes("staff1"), probes("staff2")
    await staff1.connect(live_url, org.staff1["token"])
    await staff2.connect(live_url, org.staff2["token"])
    await staff2.snapshot()
    async with httpx.AsyncClient(base_url=live_url) as http:
        try:
            r = await http.put(f"/api/v1/seniors/{senior}/staff/{org.staff2['id']}", headers=org.h(org.admin))
            assert r.status_code == 204, r.text
            assert (await changed(staff2, 1))["seniors"] == {"added": [senior], "removed": []}
            first = await open_alert(state, org, 0, unique_kind())
            await staff2.wait_for(opened(first.id))
            assert await staff2.sio.call("senior.watch", {"senior_id": senior}) == {"ok": True}
            await publish_activity(state, senior, 1)
            await staff2.wait_for(lambda e, _: e == "sensor.activity")
        finally:
            r = await http.delete(f"/api/v1/seniors/{senior}/staff/{org.staff2['id']}", headers=org.h(org.admin))
            assert r.status_code == 204, r.text
    assert (await changed(staff2, 2))["seniors"] == {"added": [], "removed": [senior]}
    before = len(staff2.events)
    second = await open_alert(state, org, 0, unique_kind())
    await publish_activity(state, senior, 2)
    await staff1.wait_for(opened(second.id))  # delivered to those still allowed...
    await asyncio.sleep(0.5)
    late = [(e, d) for e, d, _ in staff2.events[before:]]
    assert not [e for e, d in late if isinstance(d, dict) and d.get("senior_id") == senior], late  # ...not here
    assert len(staff2.named("sensor.activity")) == 1
    for alert in (first, second):
        await open_alert(state, org, 0, alert.kind, action="close")


async def test_guardian_link_changes_move_sockets_live(
    live_url: str, rt_orgs: list[Org], state: AppState, probes: Callable[[str], Probe]
) -> None:
    org, _ = rt_orgs
    senior = org.seniors[1]["id"]  # the guardian user is linked to senior 0 only
    guardian = probes("guardian")
    await guardian.connect(live_url, org.guardian["token"])
    await guardian.snapshot()
    async with httpx.AsyncClient(base_url=live_url) as http:
        r = await http.post(f"/api/v1/seniors/{senior}/guardians", headers=org.h(org.admin), json={
            "name": "Son", "relation": "son", "phone": "010-2222-3333", "user_id": org.guardian["id"]})
        assert r.status_code == 201, r.text
        link = r.json()["id"]
        assert (await changed(guardian, 1))["seniors"]["added"] == [senior]
        alert = await open_alert(state, org, 1, unique_kind())
        await guardian.wait_for(opened(alert.id))
        r = await http.delete(f"/api/v1/seniors/{senior}/guardians/{link}", headers=org.h(org.admin))
        assert r.status_code == 204, r.text
    assert (await changed(guardian, 2))["seniors"]["removed"] == [senior]
    await open_alert(state, org, 1, alert.kind, action="close")
    await asyncio.sleep(0.5)
    assert not guardian.named("alert.resolved", data__id=str(alert.id))


async def test_paged_staff_receive_their_incident_and_nothing_else_of_the_senior(
    live_url: str, rt_orgs: list[Org], state: AppState, probes: Callable[[str], Probe]
) -> None:
    org, other = rt_orgs
    senior = org.seniors[2]["id"]  # staff2's; staff1 is not assigned
    staff1, staff2, foreign = probes("staff1"), probes("staff2"), probes("other-org staff")
    await staff1.connect(live_url, org.staff1["token"])
    await staff2.connect(live_url, org.staff2["token"])
    await foreign.connect(live_url, other.staff1["token"])
    alert = await open_alert(state, org, 2, unique_kind())
    await staff2.wait_for(opened(alert.id))
    await escalate_to_all_staff(state, alert)
    change = await changed(staff1, 1)
    assert change["incidents"]["added"] == [str(alert.id)]
    # the page's alert itself comes with the change (its alert.escalated may have gone out before the join)
    assert [a["id"] for a in change["alerts"]] == [str(alert.id)]
    assert change["alerts"][0]["senior_id"] == senior
    snap = await staff1.sio.call("snapshot.get")
    assert str(alert.id) in {a["id"] for a in snap["snapshot"]["alerts"]}
    assert senior not in {s["id"] for s in snap["snapshot"]["seniors"]}
    async with httpx.AsyncClient(base_url=live_url) as http:
        r = await http.post(f"/api/v1/alerts/{alert.id}/acknowledge", headers=org.h(org.staff1))
        assert r.status_code == 200, r.text
        r = await http.post(f"/api/v1/alerts/{alert.id}/resolve", headers=org.h(org.staff1),
                            json={"outcome": "help_sent"})
        assert r.status_code == 200, r.text
    for p in (staff1, staff2):
        for event in ("alert.acknowledged", "alert.resolved"):
            await p.wait_for(lambda e, d, ev=event: e == ev and d["data"]["id"] == str(alert.id))
    await staff2.wait_for(lambda e, d: e == "senior.status_changed" and d["senior_id"] == senior)
    unrelated = await open_alert(state, org, 2, unique_kind())  # another incident of the same senior
    await staff2.wait_for(opened(unrelated.id))
    await asyncio.sleep(0.5)
    assert not staff1.named("senior.status_changed", senior_id=senior)
    assert not staff1.named("alert.opened", data__id=str(unrelated.id))
    assert not [e for e, d, _ in foreign.events if isinstance(d, dict) and d.get("org_id") == org.id]
    assert not foreign.named("access.changed")
    await open_alert(state, org, 2, unrelated.kind, action="close")


async def test_guardians_never_receive_internal_notes(
    live_url: str, rt_orgs: list[Org], state: AppState, probes: Callable[[str], Probe]
) -> None:
    org, _ = rt_orgs
    alert = await open_alert(state, org, 0, unique_kind())
    guardian, staff = await guardian_and_staff(live_url, org, probes)
    async with httpx.AsyncClient(base_url=live_url) as http:
        r = await http.post(f"/api/v1/alerts/{alert.id}/notes", headers=org.h(org.staff1),
                            json={"text": "INTERNAL family conflict"})
        assert r.status_code == 201, r.text
        r = await http.post(f"/api/v1/alerts/{alert.id}/resolve", headers=org.h(org.staff1),
                            json={"outcome": "resident_fine", "note": "INTERNAL was drunk"})
        assert r.status_code == 200, r.text
    _, noted = await staff.wait_for(lambda e, d: e == "alert.noted" and d["data"]["id"] == str(alert.id))
    assert noted["data"]["note"] == "INTERNAL family conflict"
    _, done = await staff.wait_for(lambda e, d: e == "alert.resolved" and d["data"]["id"] == str(alert.id))
    assert done["data"]["note"] == "INTERNAL was drunk"
    _, told = await guardian.wait_for(lambda e, d: e == "alert.resolved" and d["data"]["id"] == str(alert.id))
    assert told["data"]["outcome"] == "resident_fine" and "note" not in told["data"]
    assert not guardian.named("alert.noted")
    assert "INTERNAL" not in orjson.dumps([d for _, d, _ in guardian.events]).decode()


def test_family_copy_leaves_out_notes_and_who_was_paged() -> None:
    from seniorsafe.realtime.rooms import for_family

    escalated = {"event": "alert.escalated", "data": {"id": "a1", "severity": "danger", "note": "internal",
                 "escalation": {"level": 2, "notified": ["Kim (sms)"], "next_at": None}}}
    family = for_family(escalated)
    assert family is not None
    assert family["data"] == {"id": "a1", "severity": "danger", "escalation": {"level": 2, "next_at": None}}
    assert escalated["data"]["escalation"]["notified"] == ["Kim (sms)"]  # the staff copy is untouched
    assert for_family({"event": "alert.noted", "data": {"id": "a1"}}) is None
    plain = {"event": "alert.opened", "data": {"id": "a1"}}
    assert for_family(plain) is plain
