"""Robot commands (create, deliver state, results) and status: the logic, no HTTP and no MQTT here."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.security import Principal
from seniorsafe.alerts.models import AlertEvent
from seniorsafe.audit.service import record
from seniorsafe.bus import Bus
from seniorsafe.config import Settings
from seniorsafe.errors import Forbidden, Invalid
from seniorsafe.homes.models import DeviceStatus, Home, Robot
from seniorsafe.homes.service import get_visible_robot
from seniorsafe.robots.models import FINISHED, CommandState, RobotCommand, RobotStatus
from seniorsafe.robots.protocol import RUN_TIMEOUTS, Ack, CheckOutcome, Command, CommandType, Status
from seniorsafe.storage import Storage

COMMANDS_CHANNEL = "robots:commands"


def _now() -> datetime:
    return datetime.now(UTC)


async def senior_of_robot(session: AsyncSession, robot: Robot) -> uuid.UUID:
    senior_id = await session.scalar(select(Home.senior_id).where(Home.id == robot.home_id))
    assert senior_id is not None
    return senior_id


def new_command(settings: Settings, robot: Robot, senior_id: uuid.UUID, type_: str, args: dict[str, Any], *,
                source: str, alert_id: uuid.UUID | None = None, created_by: uuid.UUID | None = None) -> RobotCommand:
    kind = CommandType(type_)
    now = _now()
    return RobotCommand(
        id=uuid.uuid4(), org_id=robot.org_id, robot_id=robot.id, hub_id=robot.hub_id, senior_id=senior_id,
        alert_id=alert_id, type=kind.value, args=args, source=source, state=CommandState.pending.value, attempts=0,
        max_attempts=settings.robot_max_attempts, ack_timeout_s=settings.robot_ack_timeout_seconds,
        run_timeout_s=float(args.get("timeout_seconds") or RUN_TIMEOUTS[kind.value]), next_send_at=now,
        progress={}, result={}, created_by=created_by, created_at=now, updated_at=now)


async def notify_dispatcher(bus: Bus, command: RobotCommand) -> None:
    await bus.publish(COMMANDS_CHANNEL, {"event": "robot.command", "id": str(command.id)})


def _validate(type_: str, args: dict[str, Any]) -> None:
    try:
        kind = CommandType(type_)
    except ValueError as exc:
        raise Invalid(f"unknown command {type_!r}", extra={"errors": [
            {"field": "type", "message": f"one of {', '.join(t.value for t in CommandType)}"}]}) from exc
    if kind in (CommandType.go_to,) and not args.get("room"):
        raise Invalid("go_to needs a room", extra={"errors": [{"field": "args.room", "message": "required"}]})
    if kind is CommandType.speak and not str(args.get("text", "")).strip():
        raise Invalid("speak needs a text", extra={"errors": [{"field": "args.text", "message": "required"}]})


async def request_command(session: AsyncSession, bus: Bus, principal: Principal, robot_id: str, type_: str,
                          args: dict[str, Any], ip: str | None, settings: Settings | None = None,
                          alert_id: uuid.UUID | None = None) -> RobotCommand:
    """A person (staff/admin) sends a command: scoped to robots they may see, audited."""
    from seniorsafe.config import get_settings

    if principal.is_guardian:
        raise Forbidden("guardians cannot control robots")
    robot = await get_visible_robot(session, principal, robot_id)
    if robot.status is not DeviceStatus.active:
        raise Invalid("this robot's credential is revoked")
    _validate(type_, args)
    senior_id = await senior_of_robot(session, robot)
    command = new_command(settings or get_settings(), robot, senior_id, type_, args, source="staff",
                          alert_id=alert_id, created_by=principal.user_id)
    session.add(command)
    record(session, action="robot.command", entity="robot", entity_id=robot.id, org_id=robot.org_id,
           actor_id=principal.user_id, ip=ip, command_id=command.id, type=type_, args=args)
    await session.commit()
    await notify_dispatcher(bus, command)
    return command


async def list_commands(session: AsyncSession, principal: Principal, robot_id: str,
                        limit: int = 50) -> list[RobotCommand]:
    robot = await get_visible_robot(session, principal, robot_id)
    return list(await session.scalars(select(RobotCommand).where(RobotCommand.robot_id == robot.id)
                                      .order_by(RobotCommand.created_at.desc()).limit(limit)))


async def get_status(session: AsyncSession, principal: Principal, robot_id: str) -> RobotStatus | None:
    robot = await get_visible_robot(session, principal, robot_id)
    return await session.get(RobotStatus, robot.id)


# ---------------------------------------------------------------- delivery (used by the dispatcher)


def wire_command(command: RobotCommand) -> bytes:
    expires = command.created_at + timedelta(seconds=command.ack_timeout_s * command.max_attempts
                                             + command.run_timeout_s)
    return Command(id=str(command.id), robot_id=command.robot_id, type=CommandType(command.type), args=command.args,
                   attempt=command.attempts, expires_at=expires.isoformat()).model_dump_json().encode()


def mark_sent(command: RobotCommand, now: datetime) -> None:
    command.attempts += 1
    command.state = CommandState.sent.value
    command.next_send_at = now + timedelta(seconds=command.ack_timeout_s)
    command.updated_at = now


def finish(command: RobotCommand, state: CommandState, now: datetime, error: str | None = None) -> None:
    command.state, command.finished_at, command.updated_at, command.next_send_at = state.value, now, now, None
    if error:
        command.error = error


def check_due(command: RobotCommand, now: datetime) -> str:
    """What a due command needs: 'send' (first send or a retry), 'timeout', or 'none'."""
    if command.state == CommandState.accepted.value:
        return "timeout" if command.deadline_at and now >= command.deadline_at else "none"
    if command.attempts >= command.max_attempts:
        return "timeout"
    return "send"


async def store_snapshot(storage: Storage, command: RobotCommand, result: dict[str, Any]) -> dict[str, Any]:
    """The robot's snapshot (base64 JPEG in the result) goes to object storage; the result keeps its key."""
    raw = result.pop("snapshot_jpeg_b64", None)
    if not raw:
        return result
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return result
    key = f"robots/{command.robot_id}/snapshots/{command.id}.jpg"
    await storage.put(key, data, "image/jpeg")
    return {**result, "snapshot_key": key}


def apply_ack(command: RobotCommand, ack: Ack, now: datetime) -> bool:
    """Update the command from an acknowledgement. True when this ack finished the command."""
    if CommandState(command.state) in FINISHED:
        return False
    if ack.state in ("accepted", "progress"):
        if command.state != CommandState.accepted.value:
            command.state, command.acked_at = CommandState.accepted.value, now
            command.deadline_at = now + timedelta(seconds=command.run_timeout_s)
            command.next_send_at = command.deadline_at
        if ack.progress:
            command.progress = ack.progress
        command.updated_at = now
        return False
    command.result = ack.result
    command.acked_at = command.acked_at or now
    state = CommandState.succeeded if ack.state == "succeeded" else CommandState.failed
    finish(command, state, now, ack.error or (None if state is CommandState.succeeded else ack.state))
    return True


async def save_status(session: AsyncSession, status: Status, now: datetime) -> None:
    values = {"robot_id": status.robot_id, "state": status.state.value, "battery": status.battery,
              "room": status.room, "command_id": status.command_id, "reported_at": now, "last_seen_at": now}
    stmt = insert(RobotStatus).values(**values)
    await session.execute(stmt.on_conflict_do_update(index_elements=[RobotStatus.robot_id], set_=values))


def status_payload(status: RobotStatus | Status, robot: Robot) -> dict[str, Any]:
    state = status.state if isinstance(status.state, str) else status.state.value
    return {"robot_id": robot.id, "home_id": str(robot.home_id), "state": state, "battery": status.battery,
            "room": status.room, "ts": _now().isoformat()}


async def check_outcome_counts(session: AsyncSession, org_id: uuid.UUID | None,
                               days: float) -> list[tuple[str, str, int]]:
    """(source, outcome, count) of the safety checks that reported back in the last ``days``, for one organisation
    (or all, for the operators' metrics): source auto | early_check | staff, outcome as on the alert timeline
    (robots/safety.py ``outcome_of``: responded, no_response, not_found, failed, timed_out)."""
    outcome = AlertEvent.details["outcome"].astext
    query = (select(RobotCommand.source, outcome, func.count())
             .join(RobotCommand, cast(RobotCommand.id, String) == AlertEvent.details["command_id"].astext)
             .where(AlertEvent.type == "robot_result", AlertEvent.at > _now() - timedelta(days=days))
             .group_by(RobotCommand.source, outcome).order_by(RobotCommand.source, outcome))
    if org_id is not None:
        query = query.where(RobotCommand.org_id == org_id)
    return [(str(src), str(out), int(n)) for src, out, n in (await session.execute(query)).all()]


async def check_stats(session: AsyncSession, principal: Principal, days: int) -> dict[str, Any]:
    """The caller's organisation's safety checks of the last ``days`` (admins: the policy page shows how many early
    checks the residents answered, the rate the early check's danger pages depend on)."""
    rows = await check_outcome_counts(session, principal.org_id, days)
    early = [(outcome, n) for source, outcome, n in rows if source == "early_check"]
    return {"days": days, "checks": [{"source": src, "outcome": out, "count": n} for src, out, n in rows],
            "early_checks": sum(n for _, n in early),
            "early_answered": sum(n for outcome, n in early if outcome == CheckOutcome.responded.value)}
