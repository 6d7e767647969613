"""incident access: responder grants for escalated alerts, and live "access changed" notifications

- alert_responders: a staff member paged about an incident (escalation level "all_staff") may open and handle
  that one alert, even when the senior is not assigned to them.
- Triggers on staff_assignments, guardians (user link) and alert_responders call
  pg_notify('seniorsafe_access', '<user_id>') for every user whose access changed; every api process LISTENs
  and moves that user's connected Socket.IO sockets into or out of rooms at once. NOTIFY is delivered on
  commit only, so a rolled-back change never moves anyone.

Revision ID: 0008_incident_access
Revises: 0007_merge
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_incident_access"
down_revision: str | None = "0007_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION seniorsafe_notify_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.user_id IS NOT NULL THEN
        PERFORM pg_notify('seniorsafe_access', OLD.user_id::text);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.user_id IS NOT NULL THEN
        PERFORM pg_notify('seniorsafe_access', NEW.user_id::text);
    END IF;
    RETURN NULL;
END $$;
"""

TRIGGERS = {
    "staff_assignments": "AFTER INSERT OR DELETE OR UPDATE OF user_id, senior_id",
    "guardians": "AFTER INSERT OR DELETE OR UPDATE OF user_id, senior_id",
    "alert_responders": "AFTER INSERT OR DELETE",
}


def upgrade() -> None:
    op.create_table(
        "alert_responders",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE",
                                name="fk_alert_responders_alert_id_alerts"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_alert_responders_user_id_users"),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE",
                                name="fk_alert_responders_org_id_organisations"),
        sa.PrimaryKeyConstraint("alert_id", "user_id", name="pk_alert_responders"),
    )
    op.create_index("ix_alert_responders_user_id", "alert_responders", ["user_id"])
    op.execute(NOTIFY_FUNCTION)
    for table, when in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {table}_notify_access {when} ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION seniorsafe_notify_access()")


def downgrade() -> None:
    for table in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_access ON {table}")
    op.execute("DROP FUNCTION IF EXISTS seniorsafe_notify_access()")
    op.drop_index("ix_alert_responders_user_id", table_name="alert_responders")
    op.drop_table("alert_responders")
