"""Device health (FR-17): hub online/offline, sensors gone silent, low batteries.

Each change is a row in `device_health_events` and a message on `org:{org_id}:device_health`
(later issues turn them into alerts and dashboard badges)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from seniorsafe.telemetry.live import health_channel, iso

HUB_OFFLINE = "hub_offline"
HUB_ONLINE = "hub_online"
SENSOR_SILENT = "sensor_silent"
SENSOR_BACK = "sensor_back"
LOW_BATTERY = "low_battery"

LOW_BATTERY_PERCENT = 20
HEARTBEAT_SECONDS = 30          # hubs publish `.../heartbeat` this often (the hub agent's default)
OFFLINE_AFTER_SECONDS = 3 * HEARTBEAT_SECONDS + 10
SILENT_AFTER_SECONDS = 24 * 3600
TOUCH_EVERY_SECONDS = 10        # last_seen_at is written at most this often per hub


@dataclass(slots=True)
class HealthItem:
    org_id: uuid.UUID
    home_id: uuid.UUID
    hub_id: str
    kind: str
    sensor_pk: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


async def record(conn: Any, items: list[HealthItem]) -> list[tuple[str, dict[str, Any]]]:
    """Insert the items (inside the caller's transaction); return the messages to publish after commit."""
    if not items:
        return []
    rows = await conn.fetch(
        "INSERT INTO device_health_events (org_id, home_id, hub_id, sensor_pk, kind, details) "
        "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::jsonb[]) "
        "RETURNING id, at",
        [i.org_id for i in items], [i.home_id for i in items], [i.hub_id for i in items],
        [i.sensor_pk for i in items], [i.kind for i in items],
        [orjson.dumps(i.details).decode() for i in items])
    out = []
    for item, row in zip(items, rows, strict=True):
        out.append((health_channel(item.org_id), {
            "id": row["id"], "kind": item.kind, "org_id": str(item.org_id), "home_id": str(item.home_id),
            "hub_id": item.hub_id, "sensor_pk": item.sensor_pk, "at": iso(row["at"]), "details": item.details}))
    return out


TOUCH_SQL = f"""
WITH old AS (
    SELECT id, connectivity::text AS was FROM hubs
    WHERE id = ANY($1::text[])
      AND (connectivity <> 'online' OR last_seen_at IS NULL
           OR last_seen_at < now() - interval '{TOUCH_EVERY_SECONDS} seconds')
    ORDER BY id FOR UPDATE
)
UPDATE hubs h SET last_seen_at = now(), connectivity = 'online'
FROM old WHERE h.id = old.id
RETURNING h.id, h.org_id, h.home_id, old.was
"""


async def touch_hubs(conn: Any, hub_ids: list[str], reason: str) -> list[HealthItem]:
    """Hubs were heard from: last_seen_at = now, online; a hub that was offline comes back online."""
    if not hub_ids:
        return []
    rows = await conn.fetch(TOUCH_SQL, sorted(hub_ids))
    return [HealthItem(r["org_id"], r["home_id"], r["id"], HUB_ONLINE, details={"reason": reason})
            for r in rows if r["was"] == "offline"]


async def set_hub_offline(conn: Any, hub_id: str, reason: str) -> list[HealthItem]:
    row = await conn.fetchrow(
        "WITH old AS (SELECT id, connectivity::text AS was FROM hubs WHERE id = $1 FOR UPDATE) "
        "UPDATE hubs h SET connectivity = 'offline' FROM old WHERE h.id = old.id "
        "RETURNING h.id, h.org_id, h.home_id, old.was", hub_id)
    if row is None or row["was"] == "offline":
        return []
    return [HealthItem(row["org_id"], row["home_id"], hub_id, HUB_OFFLINE, details={"reason": reason})]


async def watchdog(conn: Any, offline_after: float = OFFLINE_AFTER_SECONDS,
                   silent_after: float = SILENT_AFTER_SECONDS) -> list[HealthItem]:
    """Hubs whose heartbeat stopped without a last will, and sensors silent for too long."""
    items: list[HealthItem] = []
    rows = await conn.fetch(
        "UPDATE hubs SET connectivity = 'offline' WHERE connectivity = 'online' AND status = 'active' "
        "AND last_seen_at < now() - make_interval(secs => $1) RETURNING id, org_id, home_id, last_seen_at",
        offline_after)
    items += [HealthItem(r["org_id"], r["home_id"], r["id"], HUB_OFFLINE,
                         details={"reason": "heartbeat_timeout", "last_seen_at": iso(r["last_seen_at"])})
              for r in rows]
    rows = await conn.fetch(
        "UPDATE sensor_state st SET silent_since = now() FROM sensors s, hubs h "
        "WHERE s.id = st.sensor_pk AND h.id = s.hub_id AND st.silent_since IS NULL "
        "AND st.ts < now() - make_interval(secs => $1) "
        "RETURNING st.sensor_pk, s.sensor_id, s.org_id, s.home_id, s.hub_id, st.ts", silent_after)
    items += [HealthItem(r["org_id"], r["home_id"], r["hub_id"], SENSOR_SILENT, r["sensor_pk"],
                         {"sensor": r["sensor_id"], "last_event_at": iso(r["ts"])}) for r in rows]
    return items


def now_utc() -> datetime:
    return datetime.now(UTC)
