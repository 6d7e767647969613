"""The people side of an alert: list, read, acknowledge (first wins), assign, note, resolve.

Scoped by `access.alert_visible_to` (the senior is visible, or the caller was paged about this incident and
holds a responder grant). Guardians read alerts without the staff's internal notes.

Every change is committed first and published on the bus (`org:{org_id}`) afterwards, as
{"event", "org_id", "senior_id", "data": alert_payload + {"actor": {"id", "name"}, ...}}.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from typing import Any, NoReturn

import orjson
from sqlalchemy import Select, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.models import Role, User
from seniorsafe.accounts.security import Principal
from seniorsafe.alerts.access import alert_visible_to, guardian_alert, guardian_timeline, is_responder
from seniorsafe.alerts.lifecycle import (
    add_timeline,
    alert_payload,
    close_alert,
    publish_risk,
    refresh_risk_level,
)
from seniorsafe.alerts.models import Alert, AlertEvent, AlertStatus, Outcome
from seniorsafe.bus import Bus
from seniorsafe.errors import Conflict, Forbidden, Invalid, NotFound
from seniorsafe.seniors.models import Senior, StaffAssignment
from seniorsafe.seniors.service import get_visible_senior, visible_to

OUTCOME_WORDS = {
    "resident_fine": "the resident is fine", "false_alarm": "false alarm", "help_sent": "help was sent",
    "hospital": "taken to hospital", "other": "other",
}


def _now() -> datetime:
    return datetime.now(UTC)


def _visible_alerts(principal: Principal) -> Select[Any]:
    return select(Alert).where(alert_visible_to(principal))


# ---------------------------------------------------------------- reading


def _encode_cursor(alert: Alert) -> str:
    raw = orjson.dumps([alert.opened_at.isoformat(), str(alert.id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, ident = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(at), uuid.UUID(ident)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise Invalid("cursor is not valid for this listing",
                      extra={"errors": [{"field": "cursor", "message": "malformed cursor"}]}) from exc


async def list_alerts(
    session: AsyncSession, principal: Principal, *, status: str = "open", senior_id: uuid.UUID | None = None,
    severity: str | None = None, kind: str | None = None, limit: int = 50, cursor: str | None = None,
) -> tuple[list[Alert], str | None]:
    """Newest first (keyset on opened_at, id)."""
    query = _visible_alerts(principal)
    if status == "open":
        query = query.where(Alert.closed_at.is_(None))
    elif status == "closed":
        query = query.where(Alert.closed_at.is_not(None))
    if senior_id is not None:
        query = query.where(Alert.senior_id == senior_id)
    if severity:
        query = query.where(Alert.severity == severity)
    if kind:
        query = query.where(Alert.kind == kind)
    if cursor:
        at, ident = _decode_cursor(cursor)
        query = query.where(tuple_(Alert.opened_at, Alert.id) < tuple_(at, ident))
    rows = list(await session.scalars(query.order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit + 1)))
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def timelines(session: AsyncSession, alert_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    out: dict[uuid.UUID, list[dict[str, Any]]] = {i: [] for i in alert_ids}
    if not alert_ids:
        return out
    rows = await session.execute(
        select(AlertEvent, User.name).outerjoin(User, User.id == AlertEvent.actor_id)
        .where(AlertEvent.alert_id.in_(alert_ids)).order_by(AlertEvent.at, AlertEvent.id))
    for event, name in rows:
        out[event.alert_id].append({"id": event.id, "at": event.at, "type": event.type, "actor_id": event.actor_id,
                                    "actor_name": name, "text": event.text, "details": event.details})
    return out


def alert_dict(alert: Alert, principal: Principal | None = None) -> dict[str, Any]:
    """The alert's columns as the caller may read them (guardians: without the internal resolution note)."""
    fields = {c.key: getattr(alert, c.key) for c in Alert.__table__.columns}
    return guardian_alert(fields) if principal is not None and principal.is_guardian else fields


async def timeline_for(session: AsyncSession, principal: Principal,
                       alert_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    lines = await timelines(session, alert_ids)
    if principal.is_guardian:
        return {k: guardian_timeline(v, OUTCOME_WORDS) for k, v in lines.items()}
    return lines


async def _senior_summary(session: AsyncSession, principal: Principal, senior_id: uuid.UUID) -> dict[str, Any]:
    """What handling an incident needs to know of the person: who and where (not their profile), and whether
    the caller may open the profile (a responder paged about someone else's resident may not)."""
    row = (await session.execute(select(Senior.id, Senior.name, Senior.address,
                                        visible_to(principal).label("profile_visible"))
                                 .where(Senior.id == senior_id))).one()
    return {"id": row.id, "name": row.name, "address": row.address, "profile_visible": bool(row.profile_visible)}


async def get_alert(session: AsyncSession, principal: Principal, alert_id: uuid.UUID,
                    *, for_update: bool = False) -> Alert:
    query = _visible_alerts(principal).where(Alert.id == alert_id)
    if for_update:
        query = query.with_for_update(of=Alert)
    alert = await session.scalar(query)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    return alert


async def alert_detail(session: AsyncSession, principal: Principal, alert_id: uuid.UUID) -> dict[str, Any]:
    alert = await get_alert(session, principal, alert_id)
    return {**alert_dict(alert, principal), "senior": await _senior_summary(session, principal, alert.senior_id),
            "timeline": (await timeline_for(session, principal, [alert.id]))[alert.id]}


async def senior_history(session: AsyncSession, principal: Principal, senior_id: uuid.UUID, *, limit: int,
                         cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The senior's incidents (FR-04), newest first, each with its timeline."""
    await get_visible_senior(session, principal, senior_id)
    alerts, next_cursor = await list_alerts(session, principal, status="all", senior_id=senior_id, limit=limit,
                                            cursor=cursor)
    lines = await timeline_for(session, principal, [a.id for a in alerts])
    senior = await _senior_summary(session, principal, senior_id)
    return [{**alert_dict(a, principal), "senior": senior, "timeline": lines[a.id]} for a in alerts], next_cursor


# ---------------------------------------------------------------- acting


async def _actor(session: AsyncSession, principal: Principal) -> dict[str, str]:
    name = await session.scalar(select(User.name).where(User.id == principal.user_id))
    return {"id": str(principal.user_id), "name": name or "unknown", "role": principal.role.value}


async def publish(bus: Bus, alert: Alert, event: str, **extra: Any) -> None:
    await bus.publish_event(event, alert.org_id, alert.senior_id, {**alert_payload(alert), **extra})


def _require_staff(principal: Principal) -> None:
    if principal.is_guardian:
        raise Forbidden("guardians may acknowledge alerts, not assign, annotate or resolve them")


async def acknowledge(session: AsyncSession, bus: Bus, principal: Principal, alert_id: uuid.UUID,
                      now: datetime | None = None) -> Alert:
    """First acknowledgement wins (one conditional UPDATE); the loser gets 409 naming who acknowledged."""
    now = now or _now()
    won = await session.scalar(
        update(Alert).where(Alert.id == alert_id, Alert.acknowledged_at.is_(None), Alert.closed_at.is_(None),
                            alert_visible_to(principal))
        .values(acknowledged_at=now, acknowledged_by=principal.user_id, status=AlertStatus.acknowledged,
                updated_at=now, next_escalation_at=None)
        .returning(Alert.id).execution_options(synchronize_session=False))
    if won is None:
        await session.rollback()
        await _explain_ack_refusal(session, principal, alert_id)
    alert = await get_alert(session, principal, alert_id)
    await session.refresh(alert)
    actor = await _actor(session, principal)
    add_timeline(session, alert, "acknowledged", f"acknowledged by {actor['name']} ({actor['role']})", at=now,
                 actor_id=principal.user_id)
    await session.commit()
    await publish(bus, alert, "alert.acknowledged", actor=actor)
    return alert


async def _explain_ack_refusal(session: AsyncSession, principal: Principal, alert_id: uuid.UUID) -> NoReturn:
    alert = await get_alert(session, principal, alert_id)
    if alert.closed_at is not None:
        raise Conflict("this alert is already resolved", extra={"status": alert.status.value})
    name = await session.scalar(select(User.name).where(User.id == alert.acknowledged_by))
    raise Conflict(f"already acknowledged by {name or 'someone else'}", extra={
        "acknowledged_by": {"id": str(alert.acknowledged_by) if alert.acknowledged_by else None, "name": name},
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None})


async def _check_assignee(session: AsyncSession, alert: Alert, user_id: uuid.UUID) -> User:
    user = await session.scalar(select(User).where(
        User.id == user_id, User.org_id == alert.org_id, User.is_active.is_(True),
        User.role.in_([Role.staff, Role.admin])))
    assigned = await session.scalar(select(StaffAssignment.user_id).where(
        StaffAssignment.senior_id == alert.senior_id, StaffAssignment.user_id == user_id))
    responder = assigned is not None or await is_responder(session, alert.id, user_id)
    if user is None or (user.role is not Role.admin and not responder):
        raise Invalid("the assignee must be an active admin, or staff responsible for this senior or paged "
                      "about this incident",
                      extra={"errors": [{"field": "user_id", "message": "cannot handle this senior"}]})
    return user


def _require_open(alert: Alert) -> None:
    if alert.closed_at is not None:
        raise Conflict("this alert is already resolved", extra={"status": alert.status.value})


async def assign(session: AsyncSession, bus: Bus, principal: Principal, alert_id: uuid.UUID,
                 user_id: uuid.UUID) -> Alert:
    _require_staff(principal)
    alert = await get_alert(session, principal, alert_id, for_update=True)
    _require_open(alert)
    assignee = await _check_assignee(session, alert, user_id)
    actor = await _actor(session, principal)
    alert.assigned_to, alert.updated_at = assignee.id, _now()
    add_timeline(session, alert, "assigned", f"assigned to {assignee.name} by {actor['name']}",
                 actor_id=principal.user_id, assigned_to=str(assignee.id))
    await session.commit()
    await publish(bus, alert, "alert.assigned", actor=actor,
                  assignee={"id": str(assignee.id), "name": assignee.name})
    return alert


async def add_note(session: AsyncSession, bus: Bus, principal: Principal, alert_id: uuid.UUID, text: str) -> Alert:
    _require_staff(principal)
    alert = await get_alert(session, principal, alert_id, for_update=True)
    actor = await _actor(session, principal)
    alert.updated_at = _now()
    add_timeline(session, alert, "note", text, actor_id=principal.user_id)
    await session.commit()
    await publish(bus, alert, "alert.noted", actor=actor, note=text)
    return alert


async def resolve(session: AsyncSession, bus: Bus, principal: Principal, alert_id: uuid.UUID, outcome: str,
                  note: str | None, now: datetime | None = None) -> Alert:
    """Close with an outcome (false_alarm is the detection feedback, FR-13); guardians get a closing message."""
    from seniorsafe.notifications.service import enqueue_closing

    _require_staff(principal)
    now = now or _now()
    alert = await get_alert(session, principal, alert_id, for_update=True)
    _require_open(alert)
    actor = await _actor(session, principal)
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, principal.user_id
    await close_alert(session, alert, at=now, outcome=Outcome(outcome), actor_id=principal.user_id, note=note,
                      text=f"resolved by {actor['name']}: {OUTCOME_WORDS[outcome]}" + (f" — {note}" if note else ""))
    level = await refresh_risk_level(session, alert.senior_id)
    await enqueue_closing(session, alert, now)
    await session.commit()
    await publish(bus, alert, "alert.resolved", actor=actor, note=note)
    await publish_risk(bus, alert.org_id, alert.senior_id, level)
    return alert

