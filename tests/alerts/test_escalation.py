"""Escalation with a controllable clock, and device-health decisions."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from seniorsafe.alerts import escalation
from seniorsafe.alerts.device_health import decision_for
from seniorsafe.alerts.models import Alert, AlertEvent
from seniorsafe.deps import AppState
from tests.conftest import Org
from tests.realtime.conftest import open_alert, unique_kind


async def _notified(state: AppState, alert_id: uuid.UUID) -> list[dict[str, Any]]:
    async with state.db.sessions() as session:
        rows = await session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id,
                                                              AlertEvent.type == "notified").order_by(AlertEvent.id))
        return [{"text": r.text, **r.details} for r in rows]


async def _alert(state: AppState, alert_id: uuid.UUID) -> Alert:
    async with state.db.sessions() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        return alert


async def test_unacknowledged_danger_climbs_the_levels_then_repeats(
    client: httpx.AsyncClient, wf_orgs: list[Org], state: AppState
) -> None:
    org, _ = wf_orgs
    alert = await open_alert(state, org, 0, unique_kind())
    t0 = alert.opened_at
    pubsub = state.bus.redis.pubsub()
    await pubsub.subscribe(state.bus.key("pub", f"org:{org.id}"))
    await escalation.tick(state, t0)
    steps = await _notified(state, alert.id)
    assert [s["levels"] for s in steps] == [["assigned_staff"]]
    assert "staff1 (dashboard only)" in steps[0]["text"] and "staff2" not in steps[0]["text"]
    assert (await _alert(state, alert.id)).escalation_level == 1
    await escalation.tick(state, t0 + timedelta(seconds=119))  # default: danger escalates after 2 minutes
    assert len(await _notified(state, alert.id)) == 1
    expected = [["all_staff"], ["admins"], ["guardians"]]
    at = t0
    for i, levels in enumerate(expected):
        at = at + timedelta(minutes=2, seconds=1)
        await escalation.tick(state, at)
        steps = await _notified(state, alert.id)
        assert steps[-1]["levels"] == levels and (await _alert(state, alert.id)).escalation_level == i + 2
    assert "staff1" in steps[1]["text"] and "staff2" in steps[1]["text"]
    assert "Admin" in steps[2]["text"] and "Daughter" in steps[3]["text"]
    at += timedelta(minutes=2, seconds=1)
    await escalation.tick(state, at)
    steps = await _notified(state, alert.id)
    assert steps[-1]["purpose"] == "reminder" and len(steps) == 5
    await escalation.tick(state, at + timedelta(minutes=4))  # reminders every 5 minutes
    assert len(await _notified(state, alert.id)) == 5
    r = await client.post(f"/api/v1/alerts/{alert.id}/acknowledge", headers=org.h(org.admin))
    assert r.status_code == 200
    await escalation.tick(state, at + timedelta(hours=2))
    assert len(await _notified(state, alert.id)) == 5
    escalated = []
    for _ in range(500):
        msg = await pubsub.get_message(timeout=0.1)
        if msg is None:
            break
        if msg["type"] != "message":
            continue
        body = orjson.loads(msg["data"])
        if body["event"] == "alert.escalated" and body["data"]["id"] == str(alert.id):
            escalated.append(body["data"]["escalation"]["level"])
    await pubsub.aclose()
    assert escalated == [2, 3, 4, 4]


async def test_device_alerts_skip_guardians_and_cautions_wait_longer(wf_orgs: list[Org], state: AppState) -> None:
    org, _ = wf_orgs
    dev = await open_alert(state, org, 1, "hub_offline", severity="caution")
    assert dev.category == "device"
    t0 = dev.opened_at
    for minutes in (0, 15.1, 30.2, 45.3, 60.4):
        await escalation.tick(state, t0 + timedelta(minutes=minutes))
    steps = await _notified(state, dev.id)
    assert [s["levels"] for s in steps[:3]] == [["assigned_staff"], ["all_staff"], ["admins"]]
    assert all("guardians" not in s["levels"] for s in steps)
    assert steps[3]["purpose"] == "reminder"


def test_health_items_map_to_device_decisions() -> None:
    offline = decision_for({"kind": "hub_offline", "hub_id": "h1", "at": "2026-03-01T05:10:00Z",
                            "details": {"last_seen_at": "2026-03-01T05:02:00Z"}}, "Asia/Seoul")
    assert offline is not None and (offline.action, offline.kind) == ("open", "hub_offline")
    assert offline.evidence == "communication lost with the hub since 14:02"
    online = decision_for({"kind": "hub_online", "hub_id": "h1", "at": "2026-03-01T06:00:00Z"}, "UTC")
    assert online is not None and (online.action, online.kind) == ("close", "hub_offline")
    battery = decision_for({"kind": "low_battery", "details": {"sensor": "pir-living", "battery": 12}}, "UTC")
    assert battery is not None and battery.kind == "low_battery" and "12%" in battery.evidence
    silent = decision_for({"kind": "sensor_silent", "details": {"sensor": "bed"}}, None)
    assert silent is not None and silent.kind == "sensor_silent"
    assert decision_for({"kind": "something_else"}, "UTC") is None


async def test_only_one_workflow_worker_leads(state: AppState) -> None:
    a, b = escalation.WorkflowWorker(state), escalation.WorkflowWorker(state)
    try:
        assert await a.is_leader() is True
        assert await b.is_leader() is False
        assert await a.is_leader() is True  # renewal
        await a.stop()  # releases the lock
        assert await b.is_leader() is True
    finally:
        await b.stop()


async def test_caution_turning_danger_escalates_without_waiting(wf_orgs: list[Org], state: AppState) -> None:
    org, _ = wf_orgs
    k = unique_kind()
    alert = await open_alert(state, org, 1, k, severity="caution")
    await escalation.tick(state, alert.opened_at)
    assert (await _alert(state, alert.id)).next_escalation_at == alert.opened_at + timedelta(minutes=15)
    await open_alert(state, org, 1, k, severity="danger", action="update")
    await escalation.tick(state, alert.opened_at + timedelta(minutes=1))
    steps = await _notified(state, alert.id)
    assert [s["levels"] for s in steps] == [["assigned_staff"], ["all_staff"]]
    await open_alert(state, org, 1, k, action="close")  # leave the senior as we found them
