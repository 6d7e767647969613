"""Raising, updating and closing alerts (the latch), the incident timeline, and the senior's risk level.

Every change is committed to PostgreSQL first and published on the bus afterwards, so a crash between the
two loses no alert: the dashboard's snapshot on (re)connect reads the database.

Bus messages go to channel `org:{org_id}` as {"event": "<noun.verb>", "org_id", "senior_id", "data"}.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.alerts.models import Alert, AlertEvent, AlertStatus, Outcome, Severity
from seniorsafe.bus import Bus
from seniorsafe.detection.events import HEALTH_KINDS
from seniorsafe.seniors.models import RiskLevel, Senior

DEVICE_KINDS = frozenset({"hub_offline", "sensor_silent", "low_battery", "robot_offline", "robot_low_battery",
                          *HEALTH_KINDS})


@dataclass(frozen=True)
class Decision:
    """What a detector (or a device monitor) concluded; mirrors detection.AlertDecision."""

    action: str  # open | update | close
    kind: str
    severity: str  # caution | danger
    room: str | None
    evidence: str
    at: float  # epoch seconds
    details: dict[str, Any]


def _ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def alert_payload(alert: Alert) -> dict[str, Any]:
    return {
        "id": str(alert.id), "senior_id": str(alert.senior_id),
        "home_id": str(alert.home_id) if alert.home_id else None,
        "kind": alert.kind, "category": alert.category, "severity": alert.severity.value,
        "status": alert.status.value, "room": alert.room, "evidence": alert.evidence, "details": alert.details,
        "model_version": alert.model_version, "source": alert.source,
        "opened_at": alert.opened_at.isoformat() if alert.opened_at else None,
        "updated_at": alert.updated_at.isoformat() if alert.updated_at else None,
        "closed_at": alert.closed_at.isoformat() if alert.closed_at else None,
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "acknowledged_by": str(alert.acknowledged_by) if alert.acknowledged_by else None,
        "assigned_to": str(alert.assigned_to) if alert.assigned_to else None,
        "outcome": alert.outcome.value if alert.outcome else None,
        "escalation_level": alert.escalation_level,
    }


def add_timeline(session: AsyncSession, alert: Alert, type_: str, text: str, *, at: datetime | None = None,
                 actor_id: uuid.UUID | None = None, **details: Any) -> None:
    session.add(AlertEvent(alert_id=alert.id, org_id=alert.org_id, senior_id=alert.senior_id,
                           at=at or datetime.now(UTC), type=type_, actor_id=actor_id, text=text, details=details))


async def open_alert_for(session: AsyncSession, senior_id: uuid.UUID, kind: str) -> Alert | None:
    return await session.scalar(select(Alert).where(Alert.senior_id == senior_id, Alert.kind == kind,
                                                    Alert.closed_at.is_(None)).with_for_update())


async def apply_decision(
    session: AsyncSession, bus: Bus, *, org_id: uuid.UUID, senior_id: uuid.UUID, home_id: uuid.UUID | None,
    decision: Decision, model_version: str | None = None, source: str = "detector",
) -> Alert | None:
    """Open, update or close the senior's alert of this kind. Returns the alert touched (None if nothing)."""
    if decision.action == "close":
        alert = await open_alert_for(session, senior_id, decision.kind)
        if alert is None:
            return None
        await close_alert(session, alert, at=_ts(decision.at), outcome=Outcome.auto_cleared,
                          text=decision.evidence or "the condition ended")
        event = "alert.resolved"
    else:
        alert, event = await _open_or_update(session, org_id, senior_id, home_id, decision, model_version, source)
    level = await refresh_risk_level(session, senior_id)
    await session.commit()
    await publish_alert(bus, alert, event)
    await publish_risk(bus, org_id, senior_id, level)
    return alert


async def _open_or_update(
    session: AsyncSession, org_id: uuid.UUID, senior_id: uuid.UUID, home_id: uuid.UUID | None, decision: Decision,
    model_version: str | None, source: str,
) -> tuple[Alert, str]:
    at = _ts(decision.at)
    severity = Severity(decision.severity)
    alert = await open_alert_for(session, senior_id, decision.kind)
    if alert is not None:
        escalated = severity is Severity.danger and alert.severity is Severity.caution
        alert.severity = Severity.danger if escalated else alert.severity
        alert.evidence, alert.details, alert.updated_at = decision.evidence, decision.details, at
        alert.room = decision.room or alert.room
        if escalated and alert.acknowledged_at is None and alert.escalation_level > 0:
            alert.next_escalation_at = at  # now danger: do not wait out the caution's escalation timer
        add_timeline(session, alert, "escalated" if escalated else "updated", decision.evidence, at=at,
                     severity=alert.severity.value)
        return alert, "alert.escalated" if escalated else "alert.updated"
    alert = Alert(
        id=uuid.uuid4(), org_id=org_id, senior_id=senior_id, home_id=home_id, kind=decision.kind,
        category="device" if decision.kind in DEVICE_KINDS else "resident", severity=severity,
        status=AlertStatus.open, room=decision.room, evidence=decision.evidence, details=decision.details,
        model_version=model_version, source=source, opened_at=at, updated_at=at, escalation_level=0,
    )
    try:
        async with session.begin_nested():
            session.add(alert)
            await session.flush()
    except IntegrityError:
        # Another process opened the same kind a moment ago: the latch holds, update that one instead.
        existing = await open_alert_for(session, senior_id, decision.kind)
        if existing is None:
            raise
        existing.evidence, existing.details, existing.updated_at = decision.evidence, decision.details, at
        add_timeline(session, existing, "updated", decision.evidence, at=at)
        return existing, "alert.updated"
    # How long after the deciding event (or tick) the alert is stored: the alert latency operators watch.
    latency_s = round(max(0.0, time.time() - decision.at), 3)
    add_timeline(session, alert, "detected", decision.evidence, at=at, severity=severity.value, kind=decision.kind,
                 latency_s=latency_s)
    return alert, "alert.opened"


async def close_alert(session: AsyncSession, alert: Alert, *, at: datetime, outcome: Outcome, text: str,
                      actor_id: uuid.UUID | None = None, note: str | None = None) -> None:
    alert.status, alert.closed_at, alert.updated_at = AlertStatus.closed, at, at
    alert.outcome, alert.resolved_by, alert.next_escalation_at = outcome, actor_id, None
    if note:
        alert.resolution_note = note
    add_timeline(session, alert, "resolved", text, at=at, actor_id=actor_id, outcome=outcome.value)


async def refresh_risk_level(session: AsyncSession, senior_id: uuid.UUID) -> RiskLevel:
    """Risk follows from the open resident alerts: any danger → danger, any caution → caution, else safe.

    Device problems do not make a resident 'in danger'; they are shown as device badges instead.
    """
    severities = set(await session.scalars(select(Alert.severity).where(
        Alert.senior_id == senior_id, Alert.closed_at.is_(None), Alert.category == "resident")))
    level = (RiskLevel.danger if Severity.danger in severities else
             RiskLevel.caution if Severity.caution in severities else RiskLevel.safe)
    await session.execute(update(Senior).where(Senior.id == senior_id, Senior.risk_level != level)
                          .values(risk_level=level, risk_changed_at=datetime.now(UTC)))
    return level


async def publish_alert(bus: Bus, alert: Alert, event: str) -> None:
    await bus.publish_event(event, alert.org_id, alert.senior_id, alert_payload(alert))


async def publish_risk(bus: Bus, org_id: uuid.UUID, senior_id: uuid.UUID, level: RiskLevel) -> None:
    await bus.redis.hset(bus.key("risk", str(org_id)), str(senior_id), level.value)
    await bus.publish_event("senior.status_changed", org_id, senior_id, {"risk_level": level.value})
