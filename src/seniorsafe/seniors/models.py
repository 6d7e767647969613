from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Computed,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from seniorsafe.db import Base, IdMixin, TimestampMixin


class RiskLevel(enum.StrEnum):
    safe = "safe"
    caution = "caution"
    danger = "danger"
    unknown = "unknown"


class Sex(enum.StrEnum):
    female = "female"
    male = "male"
    other = "other"


class Mobility(enum.StrEnum):
    independent = "independent"
    cane = "cane"
    walker = "walker"
    wheelchair = "wheelchair"
    bedridden = "bedridden"


# Higher is more urgent; lists sort by this first.
RISK_RANK_SQL = "CASE risk_level WHEN 'danger' THEN 3 WHEN 'caution' THEN 2 WHEN 'safe' THEN 1 ELSE 0 END"
RISK_RANK = {RiskLevel.danger: 3, RiskLevel.caution: 2, RiskLevel.safe: 1, RiskLevel.unknown: 0}


class Senior(IdMixin, TimestampMixin, Base):
    __tablename__ = "seniors"
    __table_args__ = (
        Index("ix_seniors_org_urgency", "org_id", text("risk_rank DESC"), "name", "id"),
        Index("ix_seniors_org_name", "org_id", "name", "id"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[Sex | None] = mapped_column(Enum(Sex, name="sex"))
    address: Mapped[str | None] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(40))
    health_conditions: Mapped[list[str]] = mapped_column(JSONB, default=list)
    medications: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    mobility: Mapped[Mobility | None] = mapped_column(Enum(Mobility, name="mobility"))
    notes: Mapped[str | None] = mapped_column(Text)
    video_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    photo_key: Mapped[str | None] = mapped_column(String(300))
    risk_level: Mapped[RiskLevel] = mapped_column(Enum(RiskLevel, name="risk_level"), default=RiskLevel.unknown)
    risk_rank: Mapped[int] = mapped_column(SmallInteger, Computed(RISK_RANK_SQL, persisted=True))
    risk_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class Guardian(IdMixin, TimestampMixin, Base):
    """A family member or other contact of a senior; optionally linked to a guardian user account."""

    __tablename__ = "guardians"

    senior_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seniors.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    relation: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    notification_preferences: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    priority: Mapped[int] = mapped_column(SmallInteger, default=1)


class StaffAssignment(Base):
    __tablename__ = "staff_assignments"

    senior_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seniors.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
                                               index=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
