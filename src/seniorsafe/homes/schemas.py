from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from seniorsafe.homes.models import Connectivity, DeviceStatus, Room, SensorKind
from seniorsafe.schemas_common import reject_null

DEVICE_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$"


def _check_timezone(value: str | None) -> str | None:
    if value is None:
        return value
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


class HomeIn(BaseModel):
    address: str | None = Field(None, max_length=500)
    timezone: str = Field("Asia/Seoul", max_length=64, description="IANA time zone of the home")
    rooms: list[Room] = Field(default_factory=lambda: [Room.bedroom, Room.living, Room.kitchen, Room.bathroom,
                                                       Room.entrance], max_length=30)

    _tz = field_validator("timezone")(_check_timezone)


class HomeUpdate(BaseModel):
    address: str | None = Field(None, max_length=500)
    timezone: str | None = Field(None, max_length=64)
    rooms: list[Room] | None = Field(None, max_length=30)

    _tz = field_validator("timezone")(_check_timezone)
    _not_null = field_validator("timezone", "rooms", mode="before")(reject_null)


class HomeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    senior_id: uuid.UUID
    address: str | None
    timezone: str
    rooms: list[str]


class HubIn(BaseModel):
    id: str = Field(pattern=DEVICE_ID, description="the hub's hardware id (also its MQTT username)")
    name: str = Field(min_length=1, max_length=200)


class HubUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class HubOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    home_id: uuid.UUID
    name: str
    status: DeviceStatus
    connectivity: Connectivity
    last_seen_at: datetime | None
    credential_issued_at: datetime | None


class DeviceCredential(BaseModel):
    id: str
    secret: str = Field(description="shown once: store it on the device now; only a hash is kept")
    mqtt_username: str
    issued_at: datetime


class HubCreated(HubOut):
    credential: DeviceCredential


class SensorIn(BaseModel):
    sensor_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="id used by the hub")
    kind: SensorKind
    room: Room
    label: str | None = Field(None, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict, description="e.g. a Zigbee2MQTT mapping")


class SensorUpdate(BaseModel):
    kind: SensorKind | None = None
    room: Room | None = None
    label: str | None = Field(None, max_length=200)
    config: dict[str, Any] | None = None

    _not_null = field_validator("kind", "room", "config", mode="before")(reject_null)


class SensorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    home_id: uuid.UUID
    hub_id: str
    sensor_id: str
    kind: SensorKind
    room: Room
    label: str | None
    config: dict[str, Any]


class RobotIn(BaseModel):
    id: str = Field(pattern=DEVICE_ID, description="the robot's hardware id")
    hub_id: str = Field(pattern=DEVICE_ID)
    model: str = Field(min_length=1, max_length=100)
    dock_room: Room


class RobotUpdate(BaseModel):
    model: str | None = Field(None, min_length=1, max_length=100)
    dock_room: Room | None = None

    _not_null = field_validator("model", "dock_room", mode="before")(reject_null)


class RobotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    home_id: uuid.UUID
    hub_id: str
    model: str
    dock_room: Room
    status: DeviceStatus
    credential_issued_at: datetime | None


class RobotCreated(RobotOut):
    credential: DeviceCredential
