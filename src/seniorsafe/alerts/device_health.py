"""Device health (telemetry's hub/sensor items) → device alerts (category `device`, source `device`, FR-17).

A broken hub is a device problem, not a resident emergency: these alerts never change the risk level.
Every api process receives each health message; a Redis SET NX on the item id lets exactly one apply it.
`reconcile` repairs what pub/sub may have lost (no api running when the hub went offline).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.alerts.lifecycle import Decision, apply_decision
from seniorsafe.alerts.models import Alert
from seniorsafe.deps import AppState
from seniorsafe.homes.models import Connectivity, DeviceStatus, Home, Hub
from seniorsafe.telemetry import health
from seniorsafe.telemetry.models import SensorState

DEDUPE_SECONDS = 7 * 24 * 3600


def _parse(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return datetime.now(UTC)


def _local(at: datetime, tz: str | None) -> str:
    try:
        zone = ZoneInfo(tz or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return at.astimezone(zone).strftime("%H:%M")


def decision_for(item: dict[str, Any], tz: str | None) -> Decision | None:
    """The alert decision for one health item (None when the item needs no alert change)."""
    kind, details = item.get("kind"), item.get("details") or {}
    at = _parse(item.get("at"))
    hub, sensor = item.get("hub_id"), details.get("sensor", "a sensor")
    if kind == health.HUB_OFFLINE:
        since = _parse(details.get("last_seen_at") or item.get("at"))
        return Decision("open", "hub_offline", "caution", None,
                        f"communication lost with the hub since {_local(since, tz)}", at.timestamp(),
                        {"hub_id": hub, "reason": details.get("reason"), "since": since.isoformat()})
    if kind == health.HUB_ONLINE:
        return Decision("close", "hub_offline", "caution", None,
                        f"the hub is back online since {_local(at, tz)}", at.timestamp(), {"hub_id": hub})
    if kind == health.SENSOR_SILENT:
        last = _parse(details.get("last_event_at") or item.get("at"))
        return Decision("open", "sensor_silent", "caution", None,
                        f"sensor {sensor} has sent nothing since {_local(last, tz)}", at.timestamp(),
                        {"hub_id": hub, "sensor": sensor})
    if kind == health.SENSOR_BACK:
        return Decision("close", "sensor_silent", "caution", None, f"sensor {sensor} is reporting again",
                        at.timestamp(), {"hub_id": hub, "sensor": sensor})
    if kind == health.LOW_BATTERY:
        battery = details.get("battery")
        level = f" ({battery}%)" if battery is not None else ""
        return Decision("open", "low_battery", "caution", None, f"battery of sensor {sensor} is low{level}",
                        at.timestamp(), {"hub_id": hub, "sensor": sensor, "battery": battery})
    return None


async def _other_sensors_silent(session: AsyncSession, home_id: uuid.UUID) -> bool:
    found = await session.scalar(select(SensorState.sensor_pk).where(
        SensorState.home_id == home_id, SensorState.silent_since.is_not(None)).limit(1))
    return found is not None


async def handle_health_item(state: AppState, item: dict[str, Any], senior_id: str | None) -> Alert | None:
    """Apply one telemetry health item as a device alert, once across all api processes."""
    if not senior_id or not item.get("home_id") or not item.get("org_id"):
        return None
    if not await state.bus.redis.set(state.bus.key("dh", "done", item.get("id")), b"1", nx=True,
                                     ex=DEDUPE_SECONDS):
        return None
    home_id = uuid.UUID(str(item["home_id"]))
    async with state.db.sessions() as session:
        tz = await session.scalar(select(Home.timezone).where(Home.id == home_id))
        decision = decision_for(item, tz)
        if decision is None:
            return None
        if item.get("kind") == health.SENSOR_BACK and await _other_sensors_silent(session, home_id):
            return None
        return await apply_decision(session, state.bus, org_id=uuid.UUID(str(item["org_id"])),
                                    senior_id=uuid.UUID(senior_id), home_id=home_id, decision=decision,
                                    source="device")


async def reconcile(state: AppState) -> int:
    """Open/close hub_offline alerts to match the hubs' connectivity (repairs lost bus messages)."""
    changed = 0
    async with state.db.sessions() as session:
        open_for = select(Alert.id).where(Alert.senior_id == Home.senior_id, Alert.kind == "hub_offline",
                                          Alert.closed_at.is_(None)).exists()
        rows = (await session.execute(
            select(Hub.id, Hub.org_id, Hub.home_id, Home.senior_id, Hub.connectivity, Hub.last_seen_at,
                   Home.timezone, open_for.label("has_alert"))
            .join(Home, Home.id == Hub.home_id).where(Hub.status == DeviceStatus.active))).all()
    for r in rows:
        offline = r.connectivity is Connectivity.offline
        if offline == bool(r.has_alert):
            continue
        kind = health.HUB_OFFLINE if offline else health.HUB_ONLINE
        item = {"kind": kind, "hub_id": r.id, "at": datetime.now(UTC).isoformat(),
                "details": {"reason": "reconciled",
                            "last_seen_at": r.last_seen_at.isoformat() if r.last_seen_at else None}}
        decision = decision_for(item, r.timezone)
        if decision is None:
            continue
        async with state.db.sessions() as session:
            await apply_decision(session, state.bus, org_id=r.org_id, senior_id=r.senior_id, home_id=r.home_id,
                                 decision=decision, source="device")
        changed += 1
    return changed
