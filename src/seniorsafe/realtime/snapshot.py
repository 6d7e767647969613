"""The `snapshot` a client receives on connect: visible seniors' risk, open alerts (including incidents the
user was paged about, alerts.access), hub and device health."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.security import Principal
from seniorsafe.alerts.access import alert_visible_to
from seniorsafe.alerts.lifecycle import alert_payload
from seniorsafe.alerts.models import Alert
from seniorsafe.homes.models import Home, Hub, Sensor
from seniorsafe.seniors.models import Senior
from seniorsafe.seniors.service import visible_to
from seniorsafe.telemetry.health import LOW_BATTERY_PERCENT
from seniorsafe.telemetry.models import SensorState


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def _seniors(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Senior.id, Senior.name, Senior.risk_level, Senior.risk_changed_at).where(visible_to(principal))
        .order_by(Senior.risk_rank.desc(), Senior.name, Senior.id))
    return [{"id": str(r.id), "name": r.name, "risk_level": r.risk_level.value,
             "risk_changed_at": _iso(r.risk_changed_at)} for r in rows]


async def open_alerts(session: AsyncSession, principal: Principal,
                      only: list[str] | None = None) -> list[dict[str, Any]]:
    """The open alerts the principal may see (`only`: among these ids), newest first, as `<alert>` payloads."""
    query = select(Alert).where(Alert.closed_at.is_(None), alert_visible_to(principal))
    if only is not None:
        query = query.where(Alert.id.in_([uuid.UUID(a) for a in only]))
    return [alert_payload(a) for a in await session.scalars(query.order_by(Alert.opened_at.desc()))]


async def _hubs(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Hub.id, Hub.home_id, Home.senior_id, Hub.connectivity, Hub.last_seen_at)
        .join(Home, Home.id == Hub.home_id).join(Senior, Senior.id == Home.senior_id)
        .where(visible_to(principal)).order_by(Hub.id))
    return [{"id": r.id, "home_id": str(r.home_id), "senior_id": str(r.senior_id),
             "connectivity": r.connectivity.value, "last_seen_at": _iso(r.last_seen_at)} for r in rows]


async def _sensor_problems(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Sensor.sensor_id, Sensor.hub_id, Sensor.room, Home.senior_id, SensorState.battery,
               SensorState.silent_since)
        .join(SensorState, SensorState.sensor_pk == Sensor.id).join(Home, Home.id == Sensor.home_id)
        .join(Senior, Senior.id == Home.senior_id)
        .where(visible_to(principal),
               (SensorState.battery < LOW_BATTERY_PERCENT) | SensorState.silent_since.is_not(None)))
    return [{"sensor": r.sensor_id, "hub_id": r.hub_id, "room": r.room.value, "senior_id": str(r.senior_id),
             "battery": r.battery, "silent_since": _iso(r.silent_since)} for r in rows]


async def build_snapshot(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    return {
        "server_time": datetime.now(UTC).isoformat(),
        "user": {"id": str(principal.user_id), "org_id": str(principal.org_id), "role": principal.role.value},
        "seniors": await _seniors(session, principal),
        "alerts": await open_alerts(session, principal),
        "devices": {"hubs": await _hubs(session, principal), "sensors": await _sensor_problems(session, principal)},
    }
