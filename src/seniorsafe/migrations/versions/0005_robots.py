"""robot commands and status; video sessions and viewings (audit)

Revision ID: 0005_robots
Revises: 0003_alerts
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_robots"
down_revision: str | None = "0003_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _fk(column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [target], ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "robot_commands",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("robot_id", sa.String(64), nullable=False),
        sa.Column("hub_id", sa.String(64), nullable=False),
        sa.Column("senior_id", sa.Uuid(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=True),
        sa.Column("type", sa.String(30), nullable=False),
        sa.Column("args", postgresql.JSONB(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("ack_timeout_s", sa.Float(), nullable=False),
        sa.Column("run_timeout_s", sa.Float(), nullable=False),
        sa.Column("next_send_at", TS, nullable=True),
        sa.Column("deadline_at", TS, nullable=True),
        sa.Column("progress", postgresql.JSONB(), nullable=False),
        sa.Column("result", postgresql.JSONB(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("acked_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        _fk("org_id", "organisations.id", "CASCADE"), _fk("robot_id", "robots.id", "CASCADE"),
        _fk("senior_id", "seniors.id", "CASCADE"), _fk("alert_id", "alerts.id", "SET NULL"),
        _fk("created_by", "users.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_robot_commands"),
    )
    op.create_index("ix_robot_commands_robot_created", "robot_commands", ["robot_id", "created_at"])
    op.create_index("ix_robot_commands_due", "robot_commands", ["next_send_at"],
                    postgresql_where=sa.text("finished_at IS NULL"))
    op.create_index("ix_robot_commands_alert", "robot_commands", ["alert_id"])
    op.create_table(
        "robot_status",
        sa.Column("robot_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("battery", sa.Integer(), nullable=True),
        sa.Column("room", sa.String(20), nullable=True),
        sa.Column("command_id", sa.String(40), nullable=True),
        sa.Column("reported_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        _fk("robot_id", "robots.id", "CASCADE"),
        sa.PrimaryKeyConstraint("robot_id", name="pk_robot_status"),
    )
    op.create_table(
        "video_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("senior_id", sa.Uuid(), nullable=False),
        sa.Column("robot_id", sa.String(64), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("started_by", sa.Uuid(), nullable=True),
        sa.Column("started_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("end_reason", sa.String(40), nullable=True),
        _fk("org_id", "organisations.id", "CASCADE"), _fk("senior_id", "seniors.id", "CASCADE"),
        _fk("robot_id", "robots.id", "CASCADE"), _fk("alert_id", "alerts.id", "SET NULL"),
        _fk("started_by", "users.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_video_sessions"),
    )
    op.create_index("ix_video_sessions_senior_open", "video_sessions", ["senior_id"],
                    postgresql_where=sa.text("ended_at IS NULL"))
    op.create_table(
        "video_viewings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("senior_id", sa.Uuid(), nullable=False),
        sa.Column("viewer_id", sa.Uuid(), nullable=False),
        sa.Column("viewer_role", sa.String(20), nullable=False),
        sa.Column("peer_id", sa.String(40), nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("started_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("end_reason", sa.String(40), nullable=True),
        _fk("session_id", "video_sessions.id", "CASCADE"), _fk("org_id", "organisations.id", "CASCADE"),
        _fk("senior_id", "seniors.id", "CASCADE"), _fk("viewer_id", "users.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_video_viewings"),
        sa.UniqueConstraint("peer_id", name="uq_video_viewings_peer_id"),
    )
    op.create_index("ix_video_viewings_senior_started", "video_viewings", ["senior_id", "started_at"])


def downgrade() -> None:
    op.drop_table("video_viewings")
    op.drop_table("video_sessions")
    op.drop_table("robot_status")
    op.drop_table("robot_commands")
