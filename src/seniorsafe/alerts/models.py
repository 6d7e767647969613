"""Alerts, their incident timeline, and the personal-model registry."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from seniorsafe.db import Base, IdMixin


class Severity(enum.StrEnum):
    caution = "caution"
    danger = "danger"


class AlertStatus(enum.StrEnum):
    open = "open"  # raised, nobody has acknowledged it yet
    acknowledged = "acknowledged"  # a person is handling it
    closed = "closed"  # resolved by a person, or the condition ended on its own


class Outcome(enum.StrEnum):
    resident_fine = "resident_fine"
    false_alarm = "false_alarm"
    help_sent = "help_sent"
    hospital = "hospital"
    other = "other"
    auto_cleared = "auto_cleared"  # the condition ended (activity resumed) before anyone resolved it


class Alert(IdMixin, Base):
    """One alert. The latch: at most one alert per senior and kind is not closed (partial unique index)."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("uq_alerts_open_latch", "senior_id", "kind", unique=True, postgresql_where=text("closed_at IS NULL")),
        Index("ix_alerts_org_open", "org_id", "opened_at", postgresql_where=text("closed_at IS NULL")),
        Index("ix_alerts_senior_opened", "senior_id", "opened_at"),
        Index("ix_alerts_escalation_due", "next_escalation_at",
              postgresql_where=text("closed_at IS NULL AND acknowledged_at IS NULL")),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    senior_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seniors.id", ondelete="CASCADE"))
    home_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("homes.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(20), default="resident")  # resident | device | system
    severity: Mapped[Severity] = mapped_column(Enum(Severity, name="alert_severity"))
    status: Mapped[AlertStatus] = mapped_column(Enum(AlertStatus, name="alert_status"), default=AlertStatus.open)
    room: Mapped[str | None] = mapped_column(String(20))
    evidence: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    model_version: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20), default="detector")  # detector | device | robot | staff
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    outcome: Mapped[Outcome | None] = mapped_column(Enum(Outcome, name="alert_outcome"))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AlertEvent(Base):
    """One step of an incident's timeline, recorded automatically (FR-04)."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_alert_at", "alert_id", "at"),
                      Index("ix_alert_events_senior_at", "senior_id", "at"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    senior_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seniors.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    type: Mapped[str] = mapped_column(String(40))  # detected, updated, notified, acknowledged, assigned, note, ...
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)  # in plain words, for the timeline
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class AlertResponder(Base):
    """An incident-responder grant: a staff member paged about this alert (escalation to all staff on duty)
    may open and handle this one alert, even if its senior is not assigned to them (migration 0008)."""

    __tablename__ = "alert_responders"
    __table_args__ = (Index("ix_alert_responders_user_id", "user_id"),)

    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(20))  # the escalation level that paged them
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PersonalModelVersion(Base):
    """The model registry (FR-09): every trained personal model, its data range and metrics."""

    __tablename__ = "personal_models"
    __table_args__ = (UniqueConstraint("senior_id", "version", name="uq_personal_models_senior_version"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    senior_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seniors.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    data_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    data_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    days: Mapped[float] = mapped_column(default=0.0)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    artifact_key: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | superseded | failed
