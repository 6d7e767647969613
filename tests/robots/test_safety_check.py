"""The safety-check flow end to end: alert → dispatcher → robot (simulated, over MQTT) → follow-up."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from sqlalchemy import select, update

from seniorsafe.accounts.models import Organisation
from seniorsafe.alerts.lifecycle import Decision, apply_decision
from seniorsafe.alerts.models import Alert, AlertEvent, Outcome, Severity
from seniorsafe.deps import AppState
from seniorsafe.monitoring import render_metrics
from seniorsafe.robots.models import RobotCommand
from seniorsafe.robots.safety import wants_check
from seniorsafe.webrtc.models import VideoSession
from tests.conftest import Org
from tests.robots.helpers import RobotHome, wait_for


async def _raise(state: AppState, home: RobotHome, severity: str = "danger", kind: str = "inactivity") -> Alert:
    async with state.db.sessions() as session:
        home_id = uuid.UUID(home.home_id)
        decision = Decision(action="open", kind=kind, severity=severity, room="bedroom",
                            evidence="no movement in the bedroom for 2 h (normally < 40 min)", at=time.time(),
                            details={})
        alert = await apply_decision(session, state.bus, org_id=uuid.UUID(home.org.id),
                                     senior_id=uuid.UUID(home.senior_id), home_id=home_id, decision=decision)
    assert alert is not None
    return alert


async def _alert(state: AppState, alert_id: uuid.UUID) -> Alert:
    async with state.db.sessions() as session:
        alert = await session.get(Alert, alert_id)
    assert alert is not None
    return alert


async def _timeline(state: AppState, alert_id: uuid.UUID) -> list[str]:
    async with state.db.sessions() as session:
        return list(await session.scalars(select(AlertEvent.type).where(AlertEvent.alert_id == alert_id)
                                          .order_by(AlertEvent.at, AlertEvent.id)))


async def _commands(state: AppState, alert_id: uuid.UUID) -> list[RobotCommand]:
    async with state.db.sessions() as session:
        return list(await session.scalars(select(RobotCommand).where(RobotCommand.alert_id == alert_id)
                                          .order_by(RobotCommand.created_at)))


async def _open_video(state: AppState, senior_id: str) -> VideoSession | None:
    async with state.db.sessions() as session:
        return await session.scalar(select(VideoSession).where(VideoSession.senior_id == uuid.UUID(senior_id),
                                                               VideoSession.ended_at.is_(None)))


async def test_danger_dispatches_and_resident_fine_closes(home: RobotHome, dispatcher: Any, start_sim: Any,
                                                          state: AppState) -> None:
    sim = await start_sim("fine")
    alert = await _raise(state, home)

    async def closed() -> bool:
        return (await _alert(state, alert.id)).closed_at is not None

    await wait_for(closed, 20)
    final = await _alert(state, alert.id)
    assert final.outcome is Outcome.resident_fine
    assert final.details["robot_check"]["outcome"] == "responded"
    key = final.details["robot_check"]["snapshot_key"]
    assert (await state.storage.get(key))[:2] == b"\xff\xd8"  # a JPEG in object storage
    timeline = await _timeline(state, alert.id)
    assert [t for t in timeline if t.startswith("robot") or t == "resolved"] == \
        ["robot_dispatched", "robot_asking", "robot_result", "resolved"]
    commands = await wait_for(lambda: _docked(state, alert.id), 15)
    assert [c.type for c in commands] == ["safety_check", "return_to_dock"]
    assert commands[0].args["room"] == "bedroom" and commands[0].source == "auto"
    assert sim.world.room == sim.world.dock_room
    assert await _open_video(state, home.senior_id) is None  # video ended with the check


async def _docked(state: AppState, alert_id: uuid.UUID) -> list[RobotCommand] | None:
    commands = await _commands(state, alert_id)
    return commands if len(commands) == 2 and commands[1].state == "succeeded" else None


async def _escalated(state: AppState, alert_id: uuid.UUID) -> Alert | None:
    alert = await _alert(state, alert_id)
    return alert if alert.details.get("urgent") else None


async def test_no_response_escalates_with_live_video(home: RobotHome, dispatcher: Any, start_sim: Any,
                                                     state: AppState) -> None:
    await start_sim("fall")
    alert = await _raise(state, home)
    final = await wait_for(lambda: _escalated(state, alert.id), 20)
    assert final.closed_at is None and final.severity is Severity.danger
    assert final.details["robot_check"]["outcome"] == "no_response"
    assert final.escalation_level >= 1  # everyone notified at once
    timeline = await _timeline(state, alert.id)
    assert "robot_result" in timeline and timeline[-1] == "escalated"
    video = await _open_video(state, home.senior_id)
    assert video is not None and video.reason in ("incident", "safety_check")
    commands = await _commands(state, alert.id)
    assert [c.type for c in commands] == ["safety_check", "start_video"]
    await _notifications(state, alert.id)


async def _notifications(state: AppState, alert_id: uuid.UUID) -> None:
    try:
        from seniorsafe.notifications.models import Delivery
    except ImportError:
        return
    async with state.db.sessions() as session:
        purposes = set(await session.scalars(select(Delivery.purpose).where(Delivery.alert_id == alert_id)))
    assert "escalation" in purposes


async def test_person_not_found_is_a_failed_check(home: RobotHome, dispatcher: Any, start_sim: Any,
                                                  state: AppState) -> None:
    await start_sim("absent")
    alert = await _raise(state, home)
    final = await wait_for(lambda: _escalated(state, alert.id), 20)
    assert final.details["robot_check"]["outcome"] == "not_found"
    assert (await _commands(state, alert.id))[0].state == "failed"


async def test_no_dispatch_when_the_organisation_turned_it_off(home: RobotHome, dispatcher: Any, start_sim: Any,
                                                               state: AppState) -> None:
    await _set_robot_settings(state, home, {"auto_dispatch": False})
    alert = await _raise(state, home)
    import asyncio

    await asyncio.sleep(1.0)
    assert await _commands(state, alert.id) == []


async def _set_robot_settings(state: AppState, home: RobotHome, robot: dict[str, Any]) -> None:
    async with state.db.sessions() as session:
        await session.execute(update(Organisation).where(Organisation.id == uuid.UUID(home.org.id))
                              .values(settings={"robot": robot}))
        await session.commit()


async def test_early_check_on_caution(home: RobotHome, dispatcher: Any, start_sim: Any, state: AppState,
                                      client: httpx.AsyncClient, other_org: Org) -> None:
    await _set_robot_settings(state, home, {"early_check": True})
    await start_sim("fall")
    alert = await _raise(state, home, severity="caution")
    final = await wait_for(lambda: _escalated(state, alert.id), 20)
    assert final.severity is Severity.danger  # a silent resident is escalated to danger at once
    commands = await _commands(state, alert.id)
    assert commands[0].source == "early_check" and commands[0].args["discreet"] is True
    assert [c.type for c in commands].count("safety_check") == 1  # the escalation does not send a second check
    # operators see the early checks' outcomes (the answer rate the page count depends on) ...
    metrics = await render_metrics(state)
    line = next(x for x in metrics.splitlines()
                if x.startswith('seniorsafe_robot_checks_7d{source="early_check",outcome="no_response"}'))
    assert float(line.split()[-1]) >= 1
    # ... and so does the organisation's admin, for their own organisation only
    org = home.org
    r = await client.get("/api/v1/organisation/robot-checks", headers=org.h(org.admin))
    assert r.status_code == 200, r.text
    assert r.json() == {"days": 7, "checks": [{"source": "early_check", "outcome": "no_response", "count": 1}],
                        "early_checks": 1, "early_answered": 0}
    r = await client.get("/api/v1/organisation/robot-checks", headers=other_org.h(other_org.admin))
    assert r.json()["checks"] == [] and r.json()["early_checks"] == 0
    assert (await client.get("/api/v1/organisation/robot-checks", headers=org.h(org.staff1))).status_code == 403
    bad = await client.get("/api/v1/organisation/robot-checks?days=0", headers=org.h(org.admin))
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


def test_no_check_is_sent_for_a_resident_who_is_out() -> None:
    """`not_back`: the resident went out and has not come back; the robot would only find an empty home, and its
    "not found" would page danger. Every other caution about the resident still sends it (early check on)."""
    prefs = {"auto_dispatch": True, "early_check": True}

    def opened(kind: str) -> dict[str, Any]:
        return {"event": "alert.opened", "org_id": str(uuid.uuid4()),
                "data": {"category": "resident", "kind": kind, "severity": "caution", "status": "open"}}

    assert wants_check(opened("inactivity"), prefs) == "early_check"
    assert wants_check(opened("routine_change"), prefs) == "early_check"
    assert wants_check(opened("not_back"), prefs) is None
