"""A benchmark's throwaway database (created and migrated here) and what every benchmark removes when it ends: that
database and its Redis keys."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from typing import Any

import psycopg
import redis

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def create_database(name: str) -> str:
    """Create and migrate a throwaway database; returns its SQLAlchemy (asyncpg) URL."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    from seniorsafe.migrate import upgrade

    upgrade(url)
    return url


def insert_home(conn: psycopg.Connection[Any], org: uuid.UUID, name: str, hub_id: str, credential_hash: str,
                tz: str, sensors: Iterable[tuple[str, str, str]]) -> tuple[uuid.UUID, uuid.UUID, dict[str, int]]:
    """A senior with a home, one hub and these (sensor id, kind, room) sensors in a throwaway database;
    returns (senior id, home id, sensor primary key by sensor id)."""
    senior, home = uuid.uuid4(), uuid.uuid4()
    conn.execute("INSERT INTO seniors (id, org_id, name, health_conditions, medications, video_consent, risk_level, "
                 "settings) VALUES (%s, %s, %s, '[]', '[]', false, 'unknown', '{}')", (senior, org, name))
    conn.execute("INSERT INTO homes (id, org_id, senior_id, timezone, rooms) VALUES (%s, %s, %s, %s, '[]')",
                 (home, org, senior, tz))
    conn.execute("INSERT INTO hubs (id, org_id, home_id, name, status, connectivity, credential_hash) "
                 "VALUES (%s, %s, %s, 'h', 'active', 'unknown', %s)", (hub_id, org, home, credential_hash))
    pks: dict[str, int] = {}
    for sensor_id, kind, room in sensors:
        row = conn.execute("INSERT INTO sensors (org_id, home_id, hub_id, sensor_id, kind, room, config) "
                           "VALUES (%s, %s, %s, %s, %s, %s, '{}') RETURNING id",
                           (org, home, hub_id, sensor_id, kind, room)).fetchone()
        assert row is not None
        pks[sensor_id] = int(row[0])
    return senior, home, pks


def drop_run(database: str, redis_prefix: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    client = redis.Redis.from_url(REDIS_URL)
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=redis_prefix + "*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)
    finally:
        client.close()
