"""telemetry: sensor_events time series, live sensor state, dead letters, device health, broker accounts

`sensor_events` becomes a TimescaleDB hypertable (compression, retention, hourly continuous aggregate) when the
extension can be created, and a natively range-partitioned table (one partition per UTC day) otherwise.
Set SENIORSAFE_TIMESCALEDB=off to force the native layout.

Revision ID: 0002_telemetry
Revises: 0001_foundation
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_telemetry"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RETENTION = "180 days"
COMPRESS_AFTER = "7 days"

EVENT_COLUMNS = """
    ts          timestamptz      NOT NULL,
    hub_id      varchar(64)      NOT NULL,
    seq         bigint           NOT NULL,
    sensor_pk   bigint           NOT NULL,
    home_id     uuid             NOT NULL,
    kind        sensor_kind      NOT NULL,
    room        room             NOT NULL,
    value       double precision NOT NULL,
    late        boolean          NOT NULL DEFAULT false,
    received_at timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT pk_sensor_events PRIMARY KEY (hub_id, seq, ts)
"""

ENSURE_PARTITION_FN = """
CREATE OR REPLACE FUNCTION sensor_events_ensure_partition(day date) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    part text := 'sensor_events_p' || to_char(day, 'YYYYMMDD');
    lo timestamptz := (day::timestamp AT TIME ZONE 'UTC');
    hi timestamptz := ((day + 1)::timestamp AT TIME ZONE 'UTC');
BEGIN
    IF to_regclass(part) IS NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('sensor_events_partitions'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF sensor_events FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
        END IF;
    END IF;
    RETURN part;
END
$fn$;
"""


def _timescaledb_available() -> bool:
    if os.environ.get("SENIORSAFE_TIMESCALEDB", "").lower() in ("0", "off", "false", "no"):
        return False
    bind = op.get_bind()
    if not bind.scalar(sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'")):
        return False
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
    except sa.exc.DBAPIError:  # available but not preloaded (shared_preload_libraries): use the native layout
        return False
    return True


def _create_hypertable() -> None:
    op.execute(f"CREATE TABLE sensor_events ({EVENT_COLUMNS})")
    op.execute("SELECT create_hypertable('sensor_events', by_range('ts', INTERVAL '1 day'))")
    op.execute("ALTER TABLE sensor_events SET (timescaledb.compress, "
               "timescaledb.compress_segmentby = 'home_id', timescaledb.compress_orderby = 'ts DESC, hub_id, seq')")
    op.execute(f"SELECT add_compression_policy('sensor_events', INTERVAL '{COMPRESS_AFTER}')")
    op.execute(f"SELECT add_retention_policy('sensor_events', INTERVAL '{RETENTION}')")
    op.execute("""
        CREATE MATERIALIZED VIEW sensor_activity_hourly
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
        SELECT home_id, room, time_bucket(INTERVAL '1 hour', ts) AS bucket, count(*) AS events
        FROM sensor_events
        WHERE value > 0 AND kind IN ('motion', 'door', 'contact', 'presence', 'power', 'light', 'flush')
        GROUP BY home_id, room, time_bucket(INTERVAL '1 hour', ts)
        WITH NO DATA
    """)
    op.execute("SELECT add_continuous_aggregate_policy('sensor_activity_hourly', start_offset => INTERVAL '3 days', "
               "end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes')")
    op.execute(f"SELECT add_retention_policy('sensor_activity_hourly', INTERVAL '{RETENTION}')")


def _create_partitioned() -> None:
    op.execute(f"CREATE TABLE sensor_events ({EVENT_COLUMNS}) PARTITION BY RANGE (ts)")
    op.execute(ENSURE_PARTITION_FN)
    op.execute("SELECT sensor_events_ensure_partition((now() AT TIME ZONE 'UTC')::date + d) "
               "FROM generate_series(-1, 3) AS d")


def upgrade() -> None:
    if _timescaledb_available():
        _create_hypertable()
    else:
        _create_partitioned()
    op.create_index("ix_sensor_events_home_ts", "sensor_events", ["home_id", sa.text("ts DESC")])
    op.create_index("ix_sensor_events_sensor_ts", "sensor_events", ["sensor_pk", sa.text("ts DESC")])

    op.create_table(
        "sensor_state",
        sa.Column("sensor_pk", sa.BigInteger(), nullable=False),
        sa.Column("home_id", sa.Uuid(), nullable=False),
        sa.Column("hub_id", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("battery", sa.SmallInteger(), nullable=True),
        sa.Column("battery_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("silent_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["sensor_pk"], ["sensors.id"], name=op.f("fk_sensor_state_sensor_pk_sensors"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sensor_pk", name=op.f("pk_sensor_state")),
    )
    op.create_index(op.f("ix_sensor_state_home_id"), "sensor_state", ["home_id"])

    op.create_table(
        "ingest_dead_letters",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("transport", sa.String(length=8), nullable=False),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("hub_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_dead_letters")),
    )
    op.create_index("ix_ingest_dead_letters_at", "ingest_dead_letters", ["received_at"])
    op.create_index("ix_ingest_dead_letters_hub", "ingest_dead_letters", ["hub_id", "received_at"])

    op.create_table(
        "device_health_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("home_id", sa.Uuid(), nullable=False),
        sa.Column("hub_id", sa.String(length=64), nullable=False),
        sa.Column("sensor_pk", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"],
                                name=op.f("fk_device_health_events_org_id_organisations"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_health_events")),
    )
    op.create_index("ix_device_health_events_home_at", "device_health_events", ["home_id", "at"])
    op.create_index(op.f("ix_device_health_events_org_id"), "device_health_events", ["org_id"])

    op.create_table(
        "hub_broker_accounts",
        sa.Column("hub_id", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("iterations", sa.BigInteger(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["hub_id"], ["hubs.id"], name=op.f("fk_hub_broker_accounts_hub_id_hubs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("hub_id", name=op.f("pk_hub_broker_accounts")),
    )


def downgrade() -> None:
    op.drop_table("hub_broker_accounts")
    op.drop_index(op.f("ix_device_health_events_org_id"), table_name="device_health_events")
    op.drop_index("ix_device_health_events_home_at", table_name="device_health_events")
    op.drop_table("device_health_events")
    op.drop_index("ix_ingest_dead_letters_hub", table_name="ingest_dead_letters")
    op.drop_index("ix_ingest_dead_letters_at", table_name="ingest_dead_letters")
    op.drop_table("ingest_dead_letters")
    op.drop_index(op.f("ix_sensor_state_home_id"), table_name="sensor_state")
    op.drop_table("sensor_state")
    op.execute("DROP MATERIALIZED VIEW IF EXISTS sensor_activity_hourly CASCADE")
    op.execute("DROP TABLE IF EXISTS sensor_events CASCADE")
    op.execute("DROP FUNCTION IF EXISTS sensor_events_ensure_partition(date)")
