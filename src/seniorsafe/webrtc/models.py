"""Video sessions (why a robot's camera may be watched) and every viewing of it (the audit trail)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from seniorsafe.db import Base


class VideoSession(Base):
    """Video is allowed while a session is open: a safety check, an incident, or an audited staff request."""

    __tablename__ = "video_sessions"
    __table_args__ = (Index("ix_video_sessions_senior_open", "senior_id", postgresql_where=text("ended_at IS NULL")),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    senior_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seniors.id", ondelete="CASCADE"))
    robot_id: Mapped[str] = mapped_column(ForeignKey("robots.id", ondelete="CASCADE"))
    alert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(20))  # safety_check | incident | staff_request
    started_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(40))


class VideoViewing(Base):
    """Who watched which senior, from when to when (one row per viewer peer connection)."""

    __tablename__ = "video_viewings"
    __table_args__ = (Index("ix_video_viewings_senior_started", "senior_id", "started_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("video_sessions.id", ondelete="CASCADE"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    senior_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seniors.id", ondelete="CASCADE"))
    viewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    viewer_role: Mapped[str] = mapped_column(String(20))
    peer_id: Mapped[str] = mapped_column(String(40), unique=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(40))
