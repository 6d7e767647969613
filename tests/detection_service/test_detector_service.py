"""The detector service in-process: stream → HomeDetector → alerts.lifecycle (real PostgreSQL and Redis)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from sqlalchemy import select, update

from seniorsafe.alerts.lifecycle import Decision, apply_decision
from seniorsafe.alerts.models import AlertEvent, AlertStatus, Outcome
from seniorsafe.deps import AppState
from seniorsafe.detection.detector_service import DetectorConfig, DetectorService
from seniorsafe.homes.models import Connectivity, Hub
from seniorsafe.seniors.models import RiskLevel, Senior
from seniorsafe.telemetry.live import stream_key
from tests.conftest import Org
from tests.detection_service.conftest import alerts_of, daytime_home, drain, new_home, send
from tests.telemetry.conftest import HubFixture


async def risk_of(state: AppState, senior_id: str) -> RiskLevel:
    async with state.db.sessions() as session:
        level = await session.scalar(select(Senior.risk_level).where(Senior.id == uuid.UUID(senior_id)))
    assert level is not None
    return level


async def test_button_opens_one_danger_alert_and_sets_risk(client: httpx.AsyncClient, state: AppState,
                                                           det_orgs: list[Org], detector: DetectorService) -> None:
    hub = await new_home(client, det_orgs[0])
    now = time.time()
    await send(state, hub, [("pir-living", True, now - 5), ("button", True, now)])
    assert await drain(detector) >= 2
    alerts = await alerts_of(state, hub.senior_id, "emergency_button")
    assert len(alerts) == 1
    assert alerts[0].severity.value == "danger" and alerts[0].status is AlertStatus.open
    assert alerts[0].category == "resident" and alerts[0].source == "detector"
    assert "emergency button pressed" in alerts[0].evidence
    assert await risk_of(state, hub.senior_id) is RiskLevel.danger
    # the latch: pressing again updates the same alert
    await send(state, hub, [("button", False, now + 1), ("button", True, now + 2)])
    await drain(detector)
    alerts = await alerts_of(state, hub.senior_id, "emergency_button")
    assert len(alerts) == 1
    async with state.db.sessions() as session:
        types = list(await session.scalars(select(AlertEvent.type).where(AlertEvent.alert_id == alerts[0].id)))
    assert types.count("detected") == 1 and "updated" in types
    pending = await state.bus.redis.xpending(stream_key(state.bus), detector.config.group)
    assert pending["pending"] == 0  # acknowledged after commit


async def test_inactivity_latch_and_close_on_activity(client: httpx.AsyncClient, state: AppState,
                                                      det_orgs: list[Org], detector: DetectorService) -> None:
    hub = await daytime_home(client, det_orgs[0])
    now = time.time()
    await send(state, hub, [("pir-kitchen", True, now)])
    await drain(detector)
    assert await detector.tick(now + 13 * 3600) >= 2  # stillness grows without events
    await detector.tick(now + 14 * 3600)
    await detector.tick(now + 15 * 3600)
    inactivity = await alerts_of(state, hub.senior_id, "inactivity")
    # the 12-hour no-activity rule is about the same stillness: it updated the open alert, no second page
    assert await alerts_of(state, hub.senior_id, "no_activity") == []
    assert len(inactivity) == 1 and inactivity[0].severity.value == "danger"
    assert inactivity[0].status is AlertStatus.open
    assert "nothing at all has happened at home" in inactivity[0].evidence
    assert await risk_of(state, hub.senior_id) is RiskLevel.danger
    await send(state, hub, [("pir-living", True, time.time())])
    await drain(detector)
    for alert in await alerts_of(state, hub.senior_id):
        assert alert.status is AlertStatus.closed and alert.outcome is Outcome.auto_cleared, alert.kind
    assert await risk_of(state, hub.senior_id) is RiskLevel.safe


async def test_late_events_do_not_alarm(client: httpx.AsyncClient, state: AppState, det_orgs: list[Org],
                                        detector: DetectorService) -> None:
    hub = await new_home(client, det_orgs[0])
    ten_min_ago = time.time() - 600
    await send(state, hub, [("pir-living", True, ten_min_ago - 30), ("button", True, ten_min_ago)])
    entries: Any = await state.bus.redis.xrevrange(stream_key(state.bus), count=1)
    assert entries[0][1][b"late"] == b"1"  # the field telemetry marks a hub backlog with
    await drain(detector)
    assert await alerts_of(state, hub.senior_id) == []
    # a live press afterwards still alarms
    await send(state, hub, [("button", True, time.time())])
    await drain(detector)
    assert len(await alerts_of(state, hub.senior_id, "emergency_button")) == 1


async def test_hub_offline_suppresses_inactivity(client: httpx.AsyncClient, state: AppState, det_orgs: list[Org],
                                                 detector: DetectorService) -> None:
    hub = await daytime_home(client, det_orgs[0])
    now = time.time()
    await send(state, hub, [("pir-kitchen", True, now)])
    await drain(detector)
    async with state.db.sessions() as session:
        await session.execute(update(Hub).where(Hub.id == hub.hub_id).values(connectivity=Connectivity.offline))
        await session.commit()
    await detector.refresh_health()
    await detector.tick(now + 13 * 3600)
    kinds = {a.kind for a in await alerts_of(state, hub.senior_id)}
    assert not kinds & {"inactivity", "no_activity", "routine_deviation"}, kinds
    # hard rules still apply while the hub is offline (a button press that got through)
    await send(state, hub, [("button", True, time.time())])
    await drain(detector)
    assert {a.kind for a in await alerts_of(state, hub.senior_id)} == {"emergency_button"}


async def test_device_health_message_marks_home_offline(client: httpx.AsyncClient, state: AppState,
                                                        det_orgs: list[Org], detector: DetectorService) -> None:
    hub = await new_home(client, det_orgs[0])
    await send(state, hub, [("pir-kitchen", True, time.time())])
    await drain(detector)
    home = detector.homes[uuid.UUID(hub.home_id)]
    assert not home.info.hub_offline
    await detector.handle_message(f"{state.bus.prefix}pub:org:{det_orgs[0].id}:device_health",
                                  {"kind": "hub_offline", "home_id": hub.home_id, "hub_id": hub.hub_id})
    assert home.info.hub_offline


async def test_a_stillness_resolved_as_fine_restarts_the_detectors_clock(
        client: httpx.AsyncClient, state: AppState, det_orgs: list[Org], detector: DetectorService) -> None:
    """Staff (or the robot's check) found the resident fine: the detector hears `alert.resolved` and takes it
    as a sign of life. Without that, the same silence would page danger minutes after the resolution."""
    org = det_orgs[0]
    hub = await daytime_home(client, org)
    now = time.time()
    # past the caution (at most 1 h 40), not the danger (the day ceiling's 1 h 50 at the latest)
    await send(state, hub, [("pir-kitchen", True, now - 105 * 60)])
    await drain(detector)
    await detector.tick(now)
    [caution] = await alerts_of(state, hub.senior_id, "inactivity")
    assert caution.severity.value == "caution" and caution.status is not AlertStatus.closed
    r = await client.post(f"/api/v1/alerts/{caution.id}/resolve", headers=org.h(org.admin),
                          json={"outcome": "resident_fine", "note": "called her, she was reading"})
    assert r.status_code == 200, r.text
    channel = f"{state.bus.prefix}pub:org:{org.id}"
    await detector.handle_message(channel, {"event": "alert.resolved", "data": r.json()})
    await detector.tick(now + 3600)  # the old danger deadline has passed
    assert [a.status for a in await alerts_of(state, hub.senior_id, "inactivity")] == [AlertStatus.closed]
    await detector.tick(now + 3 * 3600)
    alerts = await alerts_of(state, hub.senior_id, "inactivity")
    assert len(alerts) == 2
    fresh = next(a for a in alerts if a.id != caution.id)
    assert "since the resident was found fine at" in fresh.evidence


async def _restart_with_an_open_alert(client: httpx.AsyncClient, state: AppState, org: Org,
                                     decision: Decision) -> tuple[HubFixture, DetectorService]:
    """A home with recent activity and an open detector alert in the database, then a fresh detector started."""
    hub = await new_home(client, org)
    await send(state, hub, [("pir-kitchen", True, time.time() - 60)])
    async with state.db.sessions() as session:
        await apply_decision(session, state.bus, org_id=org.id, senior_id=uuid.UUID(hub.senior_id),
                             home_id=uuid.UUID(hub.home_id), decision=decision)
    restarted = DetectorService(state.db, state.bus, state.storage,
                                DetectorConfig(name=f"t-{uuid.uuid4().hex[:8]}", lease_s=5, tick_s=0.2))
    await restarted.start()
    return hub, restarted


async def test_a_routine_change_survives_a_detector_restart(client: httpx.AsyncClient, state: AppState,
                                                           det_orgs: list[Org]) -> None:
    """A night-bathroom caution is checked once a morning, maybe before the 24 h a restarted detector replays:
    the restart adopts the open alert (the detector still closes it when a night is normal) instead of
    closing it as "the condition ended"."""
    hub, restarted = await _restart_with_an_open_alert(
        client, state, det_orgs[0], Decision("open", "routine_change", "caution", "bathroom",
                                             "4 bathroom visits last night", time.time() - 30 * 3600,
                                             {"reason": "night_bathroom", "visits": 4}))
    try:
        home = restarted.homes[uuid.UUID(hub.home_id)]
        assert home.det.open["routine_change"].details["reason"] == "night_bathroom"
        [alert] = await alerts_of(state, hub.senior_id, "routine_change")
        assert alert.status is not AlertStatus.closed
    finally:
        await restarted.close()


async def test_a_not_back_alert_survives_a_restart_and_closes_on_return(client: httpx.AsyncClient, state: AppState,
                                                                         det_orgs: list[Org]) -> None:
    """An outing may have begun before the 24 h a restarted detector replays: the open "not back home" caution is
    adopted (not closed as "ended while restarting") and closes when the resident is sensed inside again."""
    hub, restarted = await _restart_with_an_open_alert(
        client, state, det_orgs[0], Decision("open", "not_back", "caution", "entrance",
                                             "not back home: out since Sat 11:36", time.time() - 30,
                                             {"out_since": 0}))
    try:
        assert "not_back" in restarted.homes[uuid.UUID(hub.home_id)].det.open
        [alert] = await alerts_of(state, hub.senior_id, "not_back")
        assert alert.status is not AlertStatus.closed
        await send(state, hub, [("pir-living", True, time.time())])
        await drain(restarted)
        [alert] = await alerts_of(state, hub.senior_id, "not_back")
        assert alert.status is AlertStatus.closed and alert.outcome is Outcome.auto_cleared
    finally:
        await restarted.close()


async def test_a_failing_sensor_is_a_device_alert_not_the_residents_risk(client: httpx.AsyncClient,
                                                                         state: AppState, det_orgs: list[Org]) -> None:
    """A flat battery or a faulty sensor (`device_fault`) is about the equipment: category `device`, so it neither
    raises the resident's risk level nor sends the robot on an early check (robots/safety.wants_check)."""
    org = det_orgs[0]
    hub = await new_home(client, org)
    async with state.db.sessions() as session:
        alert = await apply_decision(session, state.bus, org_id=org.id, senior_id=uuid.UUID(hub.senior_id),
                                     home_id=uuid.UUID(hub.home_id),
                                     decision=Decision("open", "device_fault", "caution", "kitchen",
                                                       "battery of pir-kitchen at 9 %", time.time(), {}))
    assert alert is not None and alert.category == "device"
    assert await risk_of(state, hub.senior_id) is RiskLevel.safe
