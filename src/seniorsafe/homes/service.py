"""Homes, hubs, sensors and robots, and the device credentials of hubs and robots."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.security import Principal, digests_equal, new_opaque_token, token_digest
from seniorsafe.audit.service import record
from seniorsafe.bus import Bus
from seniorsafe.errors import Conflict, Invalid, NotFound
from seniorsafe.homes.models import DeviceStatus, Home, Hub, Robot, Sensor
from seniorsafe.homes.schemas import (
    DeviceCredential,
    HomeIn,
    HomeUpdate,
    HubIn,
    RobotIn,
    RobotUpdate,
    SensorIn,
    SensorUpdate,
)
from seniorsafe.seniors.models import Senior
from seniorsafe.seniors.service import get_visible_senior, visible_to
from seniorsafe.telemetry import dynsec

#: announced on `org:{org_id}` after a home's time zone or its sensors changed: running detectors rebuild the home
HOME_CHANGED = "home.changed"

DeviceRow = TypeVar("DeviceRow", Hub, Sensor, Robot)


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- homes


def _visible_homes(principal: Principal):  # type: ignore[no-untyped-def]
    return select(Home).join(Senior, Senior.id == Home.senior_id).where(visible_to(principal))


async def get_visible_home(session: AsyncSession, principal: Principal, home_id: uuid.UUID) -> Home:
    home = await session.scalar(_visible_homes(principal).where(Home.id == home_id))
    if home is None:
        raise NotFound(f"home {home_id} not found")
    return home


async def list_homes(session: AsyncSession, principal: Principal) -> list[Home]:
    return list(await session.scalars(_visible_homes(principal).order_by(Home.created_at, Home.id)))


async def home_of_senior(session: AsyncSession, principal: Principal, senior_id: uuid.UUID) -> Home:
    senior = await get_visible_senior(session, principal, senior_id)
    home = await session.scalar(select(Home).where(Home.senior_id == senior.id))
    if home is None:
        raise NotFound("this senior has no home registered yet")
    return home


async def create_home(session: AsyncSession, principal: Principal, senior_id: uuid.UUID, data: HomeIn,
                      ip: str | None) -> Home:
    senior = await get_visible_senior(session, principal, senior_id, for_update=True)
    if await session.scalar(select(Home.id).where(Home.senior_id == senior.id)):
        raise Conflict("this senior already has a home; update it instead")
    home = Home(org_id=senior.org_id, senior_id=senior.id, address=data.address or senior.address,
                timezone=data.timezone, rooms=[r.value for r in data.rooms])
    session.add(home)
    await session.flush()
    record(session, action="home.created", entity="home", entity_id=home.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip, senior_id=senior.id)
    await session.commit()
    return home


async def update_home(session: AsyncSession, bus: Bus, principal: Principal, home_id: uuid.UUID, data: HomeUpdate,
                      ip: str | None) -> Home:
    home = await get_visible_home(session, principal, home_id)
    changes = data.model_dump(exclude_unset=True, mode="json")
    for field, value in changes.items():
        setattr(home, field, value)
    record(session, action="home.updated", entity="home", entity_id=home.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip, fields=sorted(changes))
    await session.commit()
    if "timezone" in changes:  # the address or the room list do not change what the detector sees
        await announce_home_change(bus, home.org_id, home.id, "home")
    return home


async def announce_home_change(bus: Bus, org_id: uuid.UUID, home_id: uuid.UUID, what: str) -> None:
    """After the commit: the detectors running this home rebuild it with its new time zone or sensors (without
    this, a sensor an installer moved to the right room, or the back door marked as a way out, would only count
    after the next restart). Staff dashboards may reload the home's page."""
    await bus.publish_event(HOME_CHANGED, org_id, None, {"home_id": str(home_id), "what": what})


# ---------------------------------------------------------------- device credentials


def _issue_credential(device: Hub | Robot) -> DeviceCredential:
    secret = new_opaque_token()
    device.credential_hash = token_digest(secret)
    device.credential_issued_at = _now()
    return DeviceCredential(id=device.id, secret=secret, mqtt_username=device.id,
                            issued_at=device.credential_issued_at)


# One indexed look-up on a plain asyncpg connection (the HTTP ingest checks every request this way): a revoked
# or rotated credential is refused on the very next request.
_HUB_BY_ID = "SELECT id, credential_hash FROM hubs WHERE id = $1 AND status = 'active'"
_HUB_BY_DIGEST = "SELECT id, credential_hash FROM hubs WHERE credential_hash = $1 AND status = 'active'"


async def hub_id_for_credential(conn: Any, hub_id: str | None, secret: str) -> str | None:
    """The id of the active hub whose current credential is `secret` (looked up by `hub_id` when given)."""
    if not secret:
        return None
    digest = token_digest(secret)
    row = await (conn.fetchrow(_HUB_BY_ID, hub_id) if hub_id else conn.fetchrow(_HUB_BY_DIGEST, digest))
    if row is None or not row["credential_hash"] or not digests_equal(row["credential_hash"], digest):
        return None
    return str(row["id"])


async def verify_hub_credential(session: AsyncSession, hub_id: str, secret: str) -> Hub | None:
    """The hub, if the credential is its current one and the hub is not revoked."""
    raw = await (await session.connection()).get_raw_connection()
    found = await hub_id_for_credential(raw.driver_connection, hub_id, secret)
    return await session.get(Hub, found) if found else None


async def verify_robot_credential(session: AsyncSession, robot_id: str, secret: str) -> Robot | None:
    robot = await session.get(Robot, robot_id)
    if robot is None or robot.status is not DeviceStatus.active or not robot.credential_hash:
        return None
    return robot if digests_equal(robot.credential_hash, token_digest(secret)) else None


# ---------------------------------------------------------------- hubs


def _visible(model: type[DeviceRow], principal: Principal) -> Select[DeviceRow]:
    """Devices (hubs, sensors, robots) of the homes of the seniors this caller may see."""
    return (select(model).join(Home, Home.id == model.home_id).join(Senior, Senior.id == Home.senior_id)
            .where(visible_to(principal)))


async def _get_visible(session: AsyncSession, principal: Principal, model: type[DeviceRow], ident: object,
                       label: str) -> DeviceRow:
    row = await session.scalar(_visible(model, principal).where(model.id == ident))
    if row is None:
        raise NotFound(f"{label} {ident} not found")
    return row


async def get_visible_hub(session: AsyncSession, principal: Principal, hub_id: str) -> Hub:
    return await _get_visible(session, principal, Hub, hub_id, "hub")


async def list_hubs(session: AsyncSession, principal: Principal, home_id: uuid.UUID) -> list[Hub]:
    home = await get_visible_home(session, principal, home_id)
    return list(await session.scalars(select(Hub).where(Hub.home_id == home.id).order_by(Hub.id)))


async def register_hub(session: AsyncSession, principal: Principal, home_id: uuid.UUID, data: HubIn,
                       ip: str | None) -> tuple[Hub, DeviceCredential]:
    home = await get_visible_home(session, principal, home_id)
    if await session.get(Hub, data.id) is not None:
        # Never move a hub silently: it may belong to another home or organisation.
        raise Conflict(f"hub {data.id} is already registered; remove it from its home first")
    hub = Hub(id=data.id, org_id=home.org_id, home_id=home.id, name=data.name, status=DeviceStatus.active)
    credential = _issue_credential(hub)
    session.add(hub)
    record(session, action="hub.registered", entity="hub", entity_id=hub.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip, home_id=home.id)
    record(session, action="credential.issued", entity="hub", entity_id=hub.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip)
    await session.commit()
    await dynsec.on_hub_credential(session, hub.id, credential.secret)
    return hub, credential


async def rename_hub(session: AsyncSession, principal: Principal, hub_id: str, name: str, ip: str | None) -> Hub:
    hub = await get_visible_hub(session, principal, hub_id)
    hub.name = name
    record(session, action="hub.updated", entity="hub", entity_id=hub.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip)
    await session.commit()
    return hub


async def rotate_hub_credential(session: AsyncSession, principal: Principal, hub_id: str,
                                ip: str | None) -> DeviceCredential:
    hub = await get_visible_hub(session, principal, hub_id)
    credential = _issue_credential(hub)
    hub.status = DeviceStatus.active
    record(session, action="credential.rotated", entity="hub", entity_id=hub.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip)
    await session.commit()
    await dynsec.on_hub_credential(session, hub.id, credential.secret)
    return credential


async def revoke_hub(session: AsyncSession, principal: Principal, hub_id: str, ip: str | None) -> Hub:
    hub = await get_visible_hub(session, principal, hub_id)
    hub.status = DeviceStatus.revoked
    hub.credential_hash = None
    record(session, action="credential.revoked", entity="hub", entity_id=hub.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip)
    await session.commit()
    await dynsec.on_hub_revoked(session, hub.id)
    return hub


async def delete_hub(session: AsyncSession, bus: Bus, principal: Principal, hub_id: str, ip: str | None) -> None:
    hub = await get_visible_hub(session, principal, hub_id)
    org_id, home_id = hub.org_id, hub.home_id
    await session.delete(hub)
    record(session, action="hub.deleted", entity="hub", entity_id=hub_id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip)
    await session.commit()
    await dynsec.on_hub_deleted(hub_id)
    await announce_home_change(bus, org_id, home_id, "sensors")


# ---------------------------------------------------------------- sensors


async def get_visible_sensor(session: AsyncSession, principal: Principal, sensor_pk: int) -> Sensor:
    return await _get_visible(session, principal, Sensor, sensor_pk, "sensor")


async def list_sensors(session: AsyncSession, principal: Principal, home_id: uuid.UUID) -> list[Sensor]:
    home = await get_visible_home(session, principal, home_id)
    return list(await session.scalars(select(Sensor).where(Sensor.home_id == home.id)
                                      .order_by(Sensor.room, Sensor.sensor_id)))


async def add_sensor(session: AsyncSession, bus: Bus, principal: Principal, hub_id: str, data: SensorIn,
                     ip: str | None) -> Sensor:
    hub = await get_visible_hub(session, principal, hub_id)
    exists = await session.scalar(select(Sensor.id).where(Sensor.hub_id == hub.id,
                                                          Sensor.sensor_id == data.sensor_id))
    if exists is not None:
        raise Conflict(f"hub {hub.id} already has a sensor {data.sensor_id}")
    sensor = Sensor(org_id=hub.org_id, home_id=hub.home_id, hub_id=hub.id, **data.model_dump())
    session.add(sensor)
    await session.flush()
    record(session, action="sensor.created", entity="sensor", entity_id=sensor.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip, hub_id=hub.id)
    await session.commit()
    await announce_home_change(bus, sensor.org_id, sensor.home_id, "sensors")
    return sensor


async def update_sensor(session: AsyncSession, bus: Bus, principal: Principal, sensor_pk: int, data: SensorUpdate,
                        ip: str | None) -> Sensor:
    sensor = await get_visible_sensor(session, principal, sensor_pk)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        setattr(sensor, field, value)
    record(session, action="sensor.updated", entity="sensor", entity_id=sensor.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip, fields=sorted(changes))
    await session.commit()
    await announce_home_change(bus, sensor.org_id, sensor.home_id, "sensors")
    return sensor


async def delete_sensor(session: AsyncSession, bus: Bus, principal: Principal, sensor_pk: int,
                        ip: str | None) -> None:
    sensor = await get_visible_sensor(session, principal, sensor_pk)
    org_id, home_id = sensor.org_id, sensor.home_id
    await session.delete(sensor)
    record(session, action="sensor.deleted", entity="sensor", entity_id=sensor_pk, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip)
    await session.commit()
    await announce_home_change(bus, org_id, home_id, "sensors")


# ---------------------------------------------------------------- robots


async def get_visible_robot(session: AsyncSession, principal: Principal, robot_id: str) -> Robot:
    return await _get_visible(session, principal, Robot, robot_id, "robot")


async def list_robots(session: AsyncSession, principal: Principal, home_id: uuid.UUID) -> list[Robot]:
    home = await get_visible_home(session, principal, home_id)
    return list(await session.scalars(select(Robot).where(Robot.home_id == home.id).order_by(Robot.id)))


async def register_robot(session: AsyncSession, principal: Principal, home_id: uuid.UUID, data: RobotIn,
                         ip: str | None) -> tuple[Robot, DeviceCredential]:
    home = await get_visible_home(session, principal, home_id)
    hub = await session.scalar(select(Hub).where(Hub.id == data.hub_id, Hub.home_id == home.id))
    if hub is None:
        raise Invalid(f"hub {data.hub_id} is not a hub of this home",
                      extra={"errors": [{"field": "hub_id", "message": "not a hub of this home"}]})
    if await session.get(Robot, data.id) is not None:
        raise Conflict(f"robot {data.id} is already registered; remove it from its home first")
    robot = Robot(id=data.id, org_id=home.org_id, home_id=home.id, hub_id=hub.id, model=data.model,
                  dock_room=data.dock_room, status=DeviceStatus.active)
    credential = _issue_credential(robot)
    session.add(robot)
    record(session, action="robot.registered", entity="robot", entity_id=robot.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip, home_id=home.id)
    record(session, action="credential.issued", entity="robot", entity_id=robot.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip)
    await session.commit()
    return robot, credential


async def update_robot(session: AsyncSession, principal: Principal, robot_id: str, data: RobotUpdate,
                       ip: str | None) -> Robot:
    robot = await get_visible_robot(session, principal, robot_id)
    changes = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        setattr(robot, field, value)
    record(session, action="robot.updated", entity="robot", entity_id=robot.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip, fields=sorted(changes))
    await session.commit()
    return robot


async def rotate_robot_credential(session: AsyncSession, principal: Principal, robot_id: str,
                                  ip: str | None) -> DeviceCredential:
    robot = await get_visible_robot(session, principal, robot_id)
    credential = _issue_credential(robot)
    robot.status = DeviceStatus.active
    record(session, action="credential.rotated", entity="robot", entity_id=robot.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip)
    await session.commit()
    return credential


async def revoke_robot(session: AsyncSession, principal: Principal, robot_id: str, ip: str | None) -> Robot:
    robot = await get_visible_robot(session, principal, robot_id)
    robot.status = DeviceStatus.revoked
    robot.credential_hash = None
    record(session, action="credential.revoked", entity="robot", entity_id=robot.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip)
    await session.commit()
    return robot


async def delete_robot(session: AsyncSession, principal: Principal, robot_id: str, ip: str | None) -> None:
    robot = await get_visible_robot(session, principal, robot_id)
    await session.delete(robot)
    record(session, action="robot.deleted", entity="robot", entity_id=robot_id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip)
    await session.commit()
