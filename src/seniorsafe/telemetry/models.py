"""Telemetry tables. The physical layout of `sensor_events` (TimescaleDB hypertable or native daily range
partitions) is decided by migration 0002; these classes describe the columns only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from seniorsafe.db import Base
from seniorsafe.homes.models import Room, SensorKind


class SensorEvent(Base):
    """One sensor reading. (hub_id, seq, ts) is unique: simultaneous events never collide and a
    redelivered event (same hub and seq) is a no-op."""

    __tablename__ = "sensor_events"
    __table_args__ = (
        PrimaryKeyConstraint("hub_id", "seq", "ts", name="pk_sensor_events"),
        Index("ix_sensor_events_home_ts", "home_id", "ts"),
        Index("ix_sensor_events_sensor_ts", "sensor_pk", "ts"),
    )

    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    hub_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    sensor_pk: Mapped[int] = mapped_column(BigInteger)
    home_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[SensorKind] = mapped_column(Enum(SensorKind, name="sensor_kind", create_type=False))
    room: Mapped[Room] = mapped_column(Enum(Room, name="room", create_type=False))
    value: Mapped[float] = mapped_column(Float(53))
    late: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SensorState(Base):
    """The latest known reading of each sensor (the live state); only a newer event replaces it."""

    __tablename__ = "sensor_state"

    sensor_pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    home_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    hub_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seq: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float] = mapped_column(Float(53))
    battery: Mapped[int | None] = mapped_column(SmallInteger)
    battery_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    silent_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DeadLetter(Base):
    """A message or event that could not be stored, with the reason. Never silently dropped."""

    __tablename__ = "ingest_dead_letters"
    __table_args__ = (Index("ix_ingest_dead_letters_at", "received_at"),
                      Index("ix_ingest_dead_letters_hub", "hub_id", "received_at"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    transport: Mapped[str] = mapped_column(String(8))
    topic: Mapped[str | None] = mapped_column(Text)
    hub_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class DeviceHealthEvent(Base):
    """Hub offline/online, sensor silent/back, low battery: recorded here and published live."""

    __tablename__ = "device_health_events"
    __table_args__ = (Index("ix_device_health_events_home_at", "home_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    home_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    hub_id: Mapped[str] = mapped_column(String(64))
    sensor_pk: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class HubBrokerAccount(Base):
    """The broker-side account of a hub: the secret hashed the way Mosquitto hashes it (PBKDF2-SHA512), so the
    broker's dynamic-security file can be rebuilt from the database without ever keeping the secret."""

    __tablename__ = "hub_broker_accounts"

    hub_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    salt: Mapped[str] = mapped_column(String(64))
    iterations: Mapped[int] = mapped_column(BigInteger)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
