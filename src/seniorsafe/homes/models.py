from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from seniorsafe.db import Base, IdMixin, TimestampMixin


class SensorKind(enum.StrEnum):
    motion = "motion"
    door = "door"
    contact = "contact"
    presence = "presence"
    power = "power"
    light = "light"
    flush = "flush"
    button = "button"
    smoke = "smoke"
    gas = "gas"
    water_leak = "water_leak"
    temperature = "temperature"


class Room(enum.StrEnum):
    bedroom = "bedroom"
    living = "living"
    kitchen = "kitchen"
    bathroom = "bathroom"
    toilet = "toilet"
    entrance = "entrance"
    hall = "hall"
    other = "other"


class DeviceStatus(enum.StrEnum):
    active = "active"
    revoked = "revoked"


class Connectivity(enum.StrEnum):
    unknown = "unknown"
    online = "online"
    offline = "offline"


class Home(IdMixin, TimestampMixin, Base):
    __tablename__ = "homes"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    senior_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seniors.id", ondelete="CASCADE"), unique=True)
    address: Mapped[str | None] = mapped_column(String(500))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Seoul")
    rooms: Mapped[list[str]] = mapped_column(JSONB, default=list)


class Hub(TimestampMixin, Base):
    """A home's hub. `id` is its own hardware identity, also its MQTT username and topic segment."""

    __tablename__ = "hubs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    home_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("homes.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[DeviceStatus] = mapped_column(Enum(DeviceStatus, name="device_status"),
                                                 default=DeviceStatus.active)
    connectivity: Mapped[Connectivity] = mapped_column(Enum(Connectivity, name="connectivity"),
                                                       default=Connectivity.unknown)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    credential_hash: Mapped[str | None] = mapped_column(String(64))
    credential_issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Sensor(TimestampMixin, Base):
    __tablename__ = "sensors"
    __table_args__ = (UniqueConstraint("hub_id", "sensor_id", name="uq_sensors_hub_sensor"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    home_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("homes.id", ondelete="CASCADE"), index=True)
    hub_id: Mapped[str] = mapped_column(ForeignKey("hubs.id", ondelete="CASCADE"))
    sensor_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[SensorKind] = mapped_column(Enum(SensorKind, name="sensor_kind"))
    room: Mapped[Room] = mapped_column(Enum(Room, name="room"))
    label: Mapped[str | None] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class Robot(TimestampMixin, Base):
    __tablename__ = "robots"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    home_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("homes.id", ondelete="CASCADE"), index=True)
    hub_id: Mapped[str] = mapped_column(ForeignKey("hubs.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(100))
    dock_room: Mapped[Room] = mapped_column(Enum(Room, name="room"))
    status: Mapped[DeviceStatus] = mapped_column(Enum(DeviceStatus, name="device_status"),
                                                 default=DeviceStatus.active)
    credential_hash: Mapped[str | None] = mapped_column(String(64))
    credential_issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
