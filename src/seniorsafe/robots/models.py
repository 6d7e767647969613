"""Robot commands (with their delivery state) and each robot's last reported status."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from seniorsafe.db import Base


class CommandState(enum.StrEnum):
    pending = "pending"  # stored, not yet sent
    sent = "sent"  # published, waiting for the robot's acknowledgement
    accepted = "accepted"  # acknowledged, in progress
    succeeded = "succeeded"
    failed = "failed"  # the robot reported failure or refused
    timed_out = "timed_out"  # never acknowledged after every attempt, or no result before the deadline
    cancelled = "cancelled"


FINISHED = frozenset({CommandState.succeeded, CommandState.failed, CommandState.timed_out, CommandState.cancelled})


class RobotCommand(Base):
    __tablename__ = "robot_commands"
    __table_args__ = (
        Index("ix_robot_commands_robot_created", "robot_id", "created_at"),
        Index("ix_robot_commands_due", "next_send_at", postgresql_where=text("finished_at IS NULL")),
        Index("ix_robot_commands_alert", "alert_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    robot_id: Mapped[str] = mapped_column(ForeignKey("robots.id", ondelete="CASCADE"))
    hub_id: Mapped[str] = mapped_column(String(64))
    senior_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seniors.id", ondelete="CASCADE"))
    alert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    type: Mapped[str] = mapped_column(String(30))
    args: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    source: Mapped[str] = mapped_column(String(20), default="staff")  # staff | auto | early_check | flow
    state: Mapped[str] = mapped_column(String(20), default=CommandState.pending.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    ack_timeout_s: Mapped[float] = mapped_column(Float, default=5.0)
    run_timeout_s: Mapped[float] = mapped_column(Float, default=120.0)
    next_send_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    progress: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    acked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RobotStatus(Base):
    """The robot's latest status report (also cached in Redis for the dashboard)."""

    __tablename__ = "robot_status"

    robot_id: Mapped[str] = mapped_column(ForeignKey("robots.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    battery: Mapped[int | None] = mapped_column(Integer)
    room: Mapped[str | None] = mapped_column(String(20))
    command_id: Mapped[str | None] = mapped_column(String(40))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
