"""The safety-check flow: danger (or, if the organisation wants it, a caution) → robot check → follow-up.

- dispatch: one automatic check per alert, to where the person was last sensed; a video session opens
  (video is allowed while a check is active) and every step goes on the incident timeline.
- responded → the alert closes as `resident_fine`, guardians get the closing message, the robot docks, video ends.
- no response / not found / failed / timed out → the alert becomes danger and urgent at once (every escalation
  level notified now), live video starts for authorised viewers.
Settings per organisation: organisations.settings["robot"] = {"auto_dispatch": true, "early_check": false}
(robots/preferences.py; changed with PUT /api/v1/organisation/robot-settings).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.models import Organisation
from seniorsafe.alerts.lifecycle import (
    add_timeline,
    close_alert,
    publish_alert,
    publish_risk,
    refresh_risk_level,
)
from seniorsafe.alerts.models import Alert, Outcome, Severity
from seniorsafe.deps import AppState
from seniorsafe.detection.events import AWAY_KINDS
from seniorsafe.homes.models import Home, Robot
from seniorsafe.robots import service
from seniorsafe.robots.models import RobotCommand
from seniorsafe.robots.preferences import prefs_of
from seniorsafe.robots.protocol import CheckOutcome
from seniorsafe.seniors.models import Senior
from seniorsafe.webrtc import service as video

log = logging.getLogger(__name__)

WORDS = {"responded": "the resident answered the robot", "no_response": "the resident did not answer the robot",
         "not_found": "the robot could not find the resident", "failed": "the robot could not complete the check",
         "timed_out": "the robot did not report back in time"}


def _now() -> datetime:
    return datetime.now(UTC)


async def robot_settings(session: AsyncSession, org_id: uuid.UUID) -> dict[str, Any]:
    """The organisation's preferences (robots/preferences.py; `GET/PUT /api/v1/organisation/robot-settings`)."""
    return dict(prefs_of(await session.scalar(select(Organisation.settings).where(Organisation.id == org_id))))


def wants_check(body: dict[str, Any], prefs: dict[str, Any]) -> str | None:
    """'auto' / 'early_check' when this bus event should send the robot, else None."""
    data = body.get("data") or {}
    if data.get("category") != "resident" or data.get("status") == "closed" or data.get("kind") in AWAY_KINDS:
        return None  # a resident who is out: the robot would only find an empty home
    if data.get("severity") == "danger" and body.get("event") in ("alert.opened", "alert.escalated"):
        return "auto" if prefs["auto_dispatch"] else None
    if data.get("severity") == "caution" and body.get("event") == "alert.opened":
        return "early_check" if prefs["early_check"] else None
    return None


async def on_bus_event(state: AppState, body: dict[str, Any]) -> RobotCommand | None:
    if body.get("event") not in ("alert.opened", "alert.escalated") or not body.get("org_id"):
        return None
    async with state.db.sessions() as session:
        source = wants_check(body, await robot_settings(session, uuid.UUID(body["org_id"])))
        if source is None:
            return None
        alert = await session.get(Alert, uuid.UUID(body["data"]["id"]), with_for_update=True)
        if alert is None or alert.closed_at is not None:
            return None
        return await dispatch_check(state, session, alert, source)


async def last_sensed_room(session: AsyncSession, home_id: uuid.UUID | None) -> str | None:
    if home_id is None:
        return None
    from seniorsafe.homes.models import SensorKind
    from seniorsafe.telemetry.models import SensorEvent

    return await session.scalar(select(SensorEvent.room).where(
        SensorEvent.home_id == home_id, SensorEvent.kind.in_([SensorKind.motion, SensorKind.presence]),
        SensorEvent.value > 0).order_by(SensorEvent.ts.desc()).limit(1))


async def dispatch_check(state: AppState, session: AsyncSession, alert: Alert, source: str) -> RobotCommand | None:
    """Send the home's robot to check on the resident (once per alert). Commits."""
    exists = await session.scalar(select(RobotCommand.id).where(RobotCommand.alert_id == alert.id,
                                                                RobotCommand.type == "safety_check").limit(1))
    robot = await video.robot_of_senior(session, alert.senior_id)
    if exists is not None or robot is None:
        return None
    room = alert.room or await last_sensed_room(session, alert.home_id) or robot.dock_room.value
    args: dict[str, Any] = {"room": str(room), "wait_seconds": 30, "discreet": source == "early_check",
                            "message": "Hello, are you all right? Please answer or touch the screen."}
    command = service.new_command(state.settings, robot, alert.senior_id, "safety_check", args, source=source,
                                  alert_id=alert.id)
    session.add(command)
    senior = await session.get(Senior, alert.senior_id)
    assert senior is not None
    await video.start_session(session, senior=senior, robot=robot, reason="safety_check", alert_id=alert.id)
    what = "discreet early check" if source == "early_check" else "safety check"
    add_timeline(session, alert, "robot_dispatched", f"robot dispatched to the {room} for a {what}",
                 robot_id=robot.id, command_id=str(command.id), room=str(room), source=source)
    await session.commit()
    await service.notify_dispatcher(state.bus, command)
    await publish_alert(state.bus, alert, "alert.updated")
    return command


async def record_progress(state: AppState, command: RobotCommand) -> None:
    """Timeline entries for the robot's steps (accepted, arrived and asking)."""
    stage = command.progress.get("stage")
    if command.alert_id is None or stage != "asking":
        return
    async with state.db.sessions() as session:
        alert = await session.get(Alert, command.alert_id)
        if alert is None or alert.closed_at is not None:
            return
        add_timeline(session, alert, "robot_asking", f"robot in the {command.progress.get('room')}: asking the "
                     "resident by voice and touchscreen", command_id=str(command.id))
        await session.commit()


def outcome_of(command: RobotCommand) -> str:
    if command.state == "succeeded":
        return str(command.result.get("outcome", CheckOutcome.responded.value))
    if command.result.get("outcome") == CheckOutcome.not_found.value:
        return CheckOutcome.not_found.value
    return "timed_out" if command.state == "timed_out" else "failed"


async def on_command_finished(state: AppState, command: RobotCommand) -> None:
    """Follow up a finished safety check that belongs to an alert (FR-15)."""
    if command.type != "safety_check" or command.alert_id is None:
        return
    outcome = outcome_of(command)
    async with state.db.sessions() as session:
        alert = await session.get(Alert, command.alert_id, with_for_update=True)
        robot = await session.get(Robot, command.robot_id)
        if alert is None or robot is None:
            return
        check = {"response": command.result.get("response"), "command_id": str(command.id), "outcome": outcome,
                 "room": command.result.get("room"),
                 "snapshot_key": command.result.get("snapshot_key"), "checked_at": _now().isoformat()}
        alert.details = {**(alert.details or {}), "robot_check": check}
        if outcome == CheckOutcome.responded.value:
            await _resident_fine(state, session, alert, robot, check)
        else:
            await _escalate(state, session, alert, robot, check)


async def _resident_fine(state: AppState, session: AsyncSession, alert: Alert, robot: Robot,
                         check: dict[str, Any]) -> None:
    now = _now()
    text = f"{WORDS['responded']} ({command_response(check)}) — all well"
    add_timeline(session, alert, "robot_result", text, at=now, **check)
    if alert.closed_at is None:
        await close_alert(session, alert, at=now, outcome=Outcome.resident_fine,
                          text="closed after the robot's check: the resident is fine")
    level = await refresh_risk_level(session, alert.senior_id)
    await _enqueue_closing(session, alert, now)
    dock = service.new_command(state.settings, robot, alert.senior_id, "return_to_dock", {}, source="flow",
                               alert_id=alert.id)
    session.add(dock)
    await session.commit()
    await video.end_sessions(session, alert.senior_id, "resident_fine")
    await service.notify_dispatcher(state.bus, dock)
    await publish_alert(state.bus, alert, "alert.resolved")
    await publish_risk(state.bus, alert.org_id, alert.senior_id, level)


def command_response(check: dict[str, Any]) -> str:
    return {"touch": "touchscreen", "voice": "voice"}.get(str(check.get("response")), "answered")


async def _enqueue_closing(session: AsyncSession, alert: Alert, now: datetime) -> None:
    try:
        from seniorsafe.notifications.service import enqueue_closing
    except ImportError:  # no notification service: alert.resolved on the bus is the closing signal
        return
    await enqueue_closing(session, alert, now)


async def _escalate(state: AppState, session: AsyncSession, alert: Alert, robot: Robot,
                    check: dict[str, Any]) -> None:
    now = _now()
    add_timeline(session, alert, "robot_result", WORDS[check["outcome"]], at=now, **check)
    if alert.closed_at is None:
        alert.severity = Severity.danger
        alert.details = {**alert.details, "urgent": True}
        alert.updated_at = now
        notified = await _notify_everyone(state, session, alert, now)
        add_timeline(session, alert, "escalated", "urgent: " + WORDS[check["outcome"]] + "; live video started"
                     + (f"; notified {', '.join(notified)}" if notified else ""), at=now, severity="danger")
    senior = await session.get(Senior, alert.senior_id)
    assert senior is not None
    vs = await video.start_session(session, senior=senior, robot=robot, reason="incident", alert_id=alert.id)
    vs.reason = "incident"
    start = service.new_command(state.settings, robot, alert.senior_id, "start_video", {}, source="flow",
                                alert_id=alert.id)
    session.add(start)
    level = await refresh_risk_level(session, alert.senior_id)
    await session.commit()
    await service.notify_dispatcher(state.bus, start)
    await publish_alert(state.bus, alert, "alert.escalated")
    await publish_risk(state.bus, alert.org_id, alert.senior_id, level)
    await state.bus.publish_event("video.started", alert.org_id, alert.senior_id,
                                  {"robot_id": robot.id, "session_id": str(vs.id), "alert_id": str(alert.id)})


async def _notify_everyone(state: AppState, session: AsyncSession, alert: Alert, now: datetime) -> list[str]:
    """Every escalation level at once (staff, admins, guardians): the workflow's notification service."""
    try:
        from seniorsafe.alerts.escalation import get_policy, levels_for
        from seniorsafe.notifications.service import enqueue_alert
    except ImportError:
        return []
    policy = await get_policy(session, alert.org_id)
    levels = levels_for(alert, policy)
    notified = await enqueue_alert(session, state.settings, alert, [str(lv) for lv in levels], "escalation", now)
    alert.escalation_level = max(alert.escalation_level, len(levels))
    return notified


async def home_senior(session: AsyncSession, home_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(select(Home.senior_id).where(Home.id == home_id))
