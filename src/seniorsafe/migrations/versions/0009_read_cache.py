"""change notifications for the api's read cache: any committed change to what the seniors list and detail
show (seniors, staff assignments, guardians, users, homes) sends NOTIFY seniorsafe_seniors with the org id

Revision ID: 0009_read_cache
Revises: 0008_incident_access
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_read_cache"
down_revision: str | Sequence[str] | None = "0008_incident_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "seniorsafe_seniors"

# Tables with an org_id column notify that org; tables hanging off a senior look the org up ('*' = every org,
# when the senior is already gone in a cascading delete).
DIRECT = ("seniors", "users")
# Only the user columns that the lists show (a sign-in's bookkeeping must not empty the cache).
EVENTS = {"users": "INSERT OR DELETE OR UPDATE OF name, phone, email, role, is_active, org_id"}
BY_SENIOR = ("staff_assignments", "guardians", "homes")


def upgrade() -> None:
    op.execute(f"""
        CREATE FUNCTION seniorsafe_notify_org() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            row_data record;
        BEGIN
            IF TG_OP = 'DELETE' THEN row_data := OLD; ELSE row_data := NEW; END IF;
            PERFORM pg_notify('{CHANNEL}', row_data.org_id::text);
            IF TG_OP = 'UPDATE' AND OLD.org_id IS DISTINCT FROM NEW.org_id THEN
                PERFORM pg_notify('{CHANNEL}', OLD.org_id::text);
            END IF;
            RETURN NULL;
        END $$;
    """)
    op.execute(f"""
        CREATE FUNCTION seniorsafe_notify_senior_org() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            row_data record;
            org text;
        BEGIN
            IF TG_OP = 'DELETE' THEN row_data := OLD; ELSE row_data := NEW; END IF;
            SELECT org_id::text INTO org FROM seniors WHERE id = row_data.senior_id;
            PERFORM pg_notify('{CHANNEL}', coalesce(org, '*'));
            IF TG_OP = 'UPDATE' AND OLD.senior_id IS DISTINCT FROM NEW.senior_id THEN
                SELECT org_id::text INTO org FROM seniors WHERE id = OLD.senior_id;
                PERFORM pg_notify('{CHANNEL}', coalesce(org, '*'));
            END IF;
            RETURN NULL;
        END $$;
    """)
    for table in DIRECT:
        events = EVENTS.get(table, "INSERT OR UPDATE OR DELETE")
        op.execute(f"CREATE TRIGGER {table}_notify_org AFTER {events} ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION seniorsafe_notify_org()")
    for table in BY_SENIOR:
        op.execute(f"CREATE TRIGGER {table}_notify_org AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION seniorsafe_notify_senior_org()")


def downgrade() -> None:
    for table in (*DIRECT, *BY_SENIOR):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_org ON {table}")
    op.execute("DROP FUNCTION IF EXISTS seniorsafe_notify_senior_org()")
    op.execute("DROP FUNCTION IF EXISTS seniorsafe_notify_org()")
