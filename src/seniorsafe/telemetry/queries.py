"""Reads of the time series, scoped to what the caller may see (via the homes and seniors services)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.security import Principal
from seniorsafe.errors import Invalid
from seniorsafe.homes.models import Home, Hub, Sensor
from seniorsafe.homes.service import get_visible_home, home_of_senior
from seniorsafe.telemetry.models import DeadLetter, DeviceHealthEvent, SensorEvent, SensorState
from seniorsafe.telemetry.protocol import VALUE_RANGES

ACTIVITY_KINDS = ("motion", "door", "contact", "presence", "power", "light", "flush")
MAX_RANGE = timedelta(days=93)


def _encode_cursor(ts: datetime, hub_id: str, seq: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([ts.isoformat(), hub_id, seq])).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str, int]:
    try:
        ts, hub_id, seq = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(ts), str(hub_id), int(seq)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise Invalid("cursor is not valid for this listing",
                      extra={"errors": [{"field": "cursor", "message": "malformed cursor"}]}) from exc


def check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("from and to need a UTC offset", extra={"errors": [{"field": "from", "message": "naive"}]})
    if end <= start or end - start > MAX_RANGE:
        raise Invalid("to must be after from, at most 93 days apart",
                      extra={"errors": [{"field": "to", "message": "bad range"}]})


async def senior_events(session: AsyncSession, principal: Principal, senior_id: uuid.UUID, *, start: datetime,
                        end: datetime, sensor: str | None, room: str | None, kind: str | None, limit: int,
                        cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first, keyset-paginated on (ts, hub_id, seq)."""
    check_range(start, end)
    home = await home_of_senior(session, principal, senior_id)
    e = SensorEvent
    query = (select(e.ts, e.hub_id, e.seq, e.sensor_pk, e.kind, e.room, e.value, e.late, Sensor.sensor_id)
             .outerjoin(Sensor, Sensor.id == e.sensor_pk)
             .where(e.home_id == home.id, e.ts >= start, e.ts < end))
    if sensor:
        query = query.where(Sensor.sensor_id == sensor)
    if room:
        query = query.where(e.room == room)
    if kind:
        query = query.where(e.kind == kind)
    if cursor:
        c_ts, c_hub, c_seq = _decode_cursor(cursor)
        query = query.where(or_(e.ts < c_ts, and_(e.ts == c_ts, tuple_(e.hub_id, e.seq) < (c_hub, c_seq))))
    rows = (await session.execute(query.order_by(e.ts.desc(), e.hub_id.desc(), e.seq.desc()).limit(limit + 1))).all()
    items = [{"ts": r.ts, "hub_id": r.hub_id, "seq": r.seq, "sensor": r.sensor_id, "sensor_pk": r.sensor_pk,
              "kind": str(r.kind), "room": str(r.room), "value": r.value, "late": r.late} for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = _encode_cursor(last.ts, last.hub_id, last.seq)
    return items, next_cursor


async def sensor_states(session: AsyncSession, home_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Sensor.id, Sensor.sensor_id, Sensor.kind, Sensor.room, Sensor.label, SensorState.value,
               SensorState.ts, SensorState.battery, SensorState.silent_since)
        .outerjoin(SensorState, SensorState.sensor_pk == Sensor.id)
        .where(Sensor.home_id == home_id).order_by(Sensor.room, Sensor.sensor_id))
    return [{"sensor_pk": r.id, "sensor": r.sensor_id, "kind": str(r.kind), "room": str(r.room), "label": r.label,
             "value": r.value, "ts": r.ts, "battery": r.battery, "silent_since": r.silent_since} for r in rows]


async def home_sensor_states(session: AsyncSession, principal: Principal, home_id: uuid.UUID) -> list[dict[str, Any]]:
    home = await get_visible_home(session, principal, home_id)
    return await sensor_states(session, home.id)


NATIVE_HOURLY = text(
    "SELECT date_trunc('hour', ts) AS bucket, room::text AS room, count(*) AS events FROM sensor_events "
    "WHERE home_id = :home AND ts >= :start AND ts < :end AND value > 0 AND kind::text = ANY(:kinds) "
    "GROUP BY 1, 2 ORDER BY 1, 2")
AGGREGATE_HOURLY = text(
    "SELECT bucket, room::text AS room, sum(events)::bigint AS events FROM sensor_activity_hourly "
    "WHERE home_id = :home AND bucket >= date_trunc('hour', CAST(:start AS timestamptz)) AND bucket < :end "
    "GROUP BY 1, 2 ORDER BY 1, 2")


async def hourly_activity(session: AsyncSession, principal: Principal, home_id: uuid.UUID, start: datetime,
                          end: datetime) -> list[dict[str, Any]]:
    """Activity events per room per hour, counted in the database (the continuous aggregate on TimescaleDB)."""
    check_range(start, end)
    home = await get_visible_home(session, principal, home_id)
    has_aggregate = await session.scalar(text("SELECT to_regclass('sensor_activity_hourly') IS NOT NULL"))
    query = AGGREGATE_HOURLY if has_aggregate else NATIVE_HOURLY
    params: dict[str, Any] = {"home": home.id, "start": start, "end": end}
    if not has_aggregate:
        params["kinds"] = list(ACTIVITY_KINDS)
    rows = await session.execute(query, params)
    return [{"bucket": r.bucket, "room": r.room, "events": int(r.events)} for r in rows]


async def device_health(session: AsyncSession, principal: Principal, home_id: uuid.UUID,
                        recent: int = 50) -> dict[str, Any]:
    home = await get_visible_home(session, principal, home_id)
    hubs = (await session.scalars(select(Hub).where(Hub.home_id == home.id).order_by(Hub.id))).all()
    events = (await session.scalars(select(DeviceHealthEvent).where(DeviceHealthEvent.home_id == home.id)
                                    .order_by(DeviceHealthEvent.at.desc(), DeviceHealthEvent.id.desc())
                                    .limit(recent))).all()
    return {"home_id": home.id,
            "hubs": [{"id": h.id, "name": h.name, "connectivity": h.connectivity, "last_seen_at": h.last_seen_at}
                     for h in hubs],
            "sensors": await sensor_states(session, home.id),
            "recent": [{"id": e.id, "kind": e.kind, "hub_id": e.hub_id, "sensor_pk": e.sensor_pk, "at": e.at,
                        "details": e.details} for e in events]}


async def dead_letters(session: AsyncSession, principal: Principal, limit: int) -> list[dict[str, Any]]:
    """Dead letters of the caller's organisation's hubs (admins only; unknown hubs are operator business)."""
    org_hubs = select(Hub.id).join(Home, Home.id == Hub.home_id).where(Hub.org_id == principal.org_id)
    rows = (await session.scalars(select(DeadLetter).where(DeadLetter.hub_id.in_(org_hubs))
                                  .order_by(DeadLetter.id.desc()).limit(limit))).all()
    return [{"id": d.id, "received_at": d.received_at, "transport": d.transport, "topic": d.topic,
             "hub_id": d.hub_id, "reason": d.reason, "detail": d.detail,
             "payload": d.payload.decode("utf-8", "replace")} for d in rows]


KNOWN_KINDS = tuple(VALUE_RANGES)
