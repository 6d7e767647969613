"""alerts with their latch and incident timeline; the personal-model registry

Revision ID: 0003_alerts
Revises: 0002_telemetry
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_alerts"
down_revision: str | None = "0002_telemetry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("senior_id", sa.Uuid(), nullable=False),
        sa.Column("home_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.Enum("caution", "danger", name="alert_severity"), nullable=False),
        sa.Column("status", sa.Enum("open", "acknowledged", "closed", name="alert_status"), nullable=False),
        sa.Column("room", sa.String(length=20), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("model_version", sa.String(length=40), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Uuid(), nullable=True),
        sa.Column("assigned_to", sa.Uuid(), nullable=True),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.Enum("resident_fine", "false_alarm", "help_sent", "hospital", "other",
                                     "auto_cleared", name="alert_outcome"), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("next_escalation_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_alerts_org_id_organisations"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["senior_id"], ["seniors.id"], name=op.f("fk_alerts_senior_id_seniors"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["home_id"], ["homes.id"], name=op.f("fk_alerts_home_id_homes"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["acknowledged_by"], ["users.id"], name=op.f("fk_alerts_acknowledged_by_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["assigned_to"], ["users.id"], name=op.f("fk_alerts_assigned_to_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["resolved_by"], ["users.id"], name=op.f("fk_alerts_resolved_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("uq_alerts_open_latch", "alerts", ["senior_id", "kind"], unique=True,
                    postgresql_where=sa.text("closed_at IS NULL"))
    op.create_index("ix_alerts_org_open", "alerts", ["org_id", "opened_at"],
                    postgresql_where=sa.text("closed_at IS NULL"))
    op.create_index("ix_alerts_senior_opened", "alerts", ["senior_id", "opened_at"])
    op.create_index("ix_alerts_escalation_due", "alerts", ["next_escalation_at"],
                    postgresql_where=sa.text("closed_at IS NULL AND acknowledged_at IS NULL"))
    op.create_table(
        "alert_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("senior_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_alert_events_alert_id_alerts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"],
                                name=op.f("fk_alert_events_org_id_organisations"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["senior_id"], ["seniors.id"], name=op.f("fk_alert_events_senior_id_seniors"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_alert_events_actor_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
    )
    op.create_index("ix_alert_events_alert_at", "alert_events", ["alert_id", "at"])
    op.create_index("ix_alert_events_senior_at", "alert_events", ["senior_id", "at"])
    op.create_table(
        "personal_models",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("senior_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("data_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("days", sa.Float(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("metrics", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("artifact_key", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"],
                                name=op.f("fk_personal_models_org_id_organisations"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["senior_id"], ["seniors.id"], name=op.f("fk_personal_models_senior_id_seniors"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_models")),
        sa.UniqueConstraint("senior_id", "version", name="uq_personal_models_senior_version"),
    )
    op.create_index(op.f("ix_personal_models_senior_id"), "personal_models", ["senior_id"])


def downgrade() -> None:
    op.drop_table("personal_models")
    op.drop_table("alert_events")
    op.drop_table("alerts")
    for enum_name in ("alert_outcome", "alert_status", "alert_severity"):
        op.execute(f"DROP TYPE IF EXISTS {enum_name}")
