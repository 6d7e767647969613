"""Pydantic shapes of the telemetry API (the hub event itself is parsed by `protocol` on the hot path; the
`HubEvent` model here documents it in OpenAPI and must stay in step with protocol.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from seniorsafe.homes.models import Connectivity


class HubEvent(BaseModel):
    """One sensor event as a hub sends it (MQTT payload element or HTTP body element)."""

    sensor: str = Field(min_length=1, max_length=64, description="the sensor's id on this hub", examples=["bed"])
    ts: datetime = Field(description="when it happened, RFC 3339 with offset (epoch seconds also accepted)")
    value: float | bool = Field(description="0/1 (or false/true) for binary sensors, watts for power, °C")
    seq: int = Field(ge=0, le=2**63 - 1, description="the hub's event counter: strictly increasing, never reused")
    battery: int | None = Field(None, ge=0, le=100, description="battery percent, when the device reports it")
    hub: str | None = Field(None, description="optional; when present it must be the sending hub")


class RejectedEvent(BaseModel):
    index: int | None = Field(description="position in the batch (null: the whole body)")
    reason: str = Field(description="malformed_json, bad_schema, unknown_sensor, out_of_range, ts_future, ...")
    detail: str


class IngestReceipt(BaseModel):
    """Everything in the body is durably handled: stored, recognised as a duplicate, or dead-lettered."""

    stored: int
    duplicates: int
    late: int
    rejected: list[RejectedEvent]


class EventOut(BaseModel):
    ts: datetime
    hub_id: str
    seq: int
    sensor: str | None = Field(description="the sensor's id (null if it was removed since)")
    sensor_pk: int
    kind: str
    room: str
    value: float
    late: bool


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


class SensorStateOut(BaseModel):
    sensor_pk: int
    sensor: str
    kind: str
    room: str
    label: str | None
    value: float | None = Field(description="latest reading (null: never reported)")
    ts: datetime | None
    battery: int | None
    silent_since: datetime | None


class HourlyActivity(BaseModel):
    bucket: datetime = Field(description="start of the hour (UTC)")
    room: str
    events: int = Field(description="activity events (motion, doors, presence, appliances…) in that hour")


class HubHealth(BaseModel):
    id: str
    name: str
    connectivity: Connectivity
    last_seen_at: datetime | None


class DeviceHealthEventOut(BaseModel):
    id: int
    kind: str
    hub_id: str
    sensor_pk: int | None
    at: datetime
    details: dict[str, object]


class DeviceHealthOut(BaseModel):
    home_id: uuid.UUID
    hubs: list[HubHealth]
    sensors: list[SensorStateOut]
    recent: list[DeviceHealthEventOut]


class DeadLetterOut(BaseModel):
    id: int
    received_at: datetime
    transport: str
    topic: str | None
    hub_id: str | None
    reason: str
    detail: str
    payload: str = Field(description="the raw payload (UTF-8, undecodable bytes replaced)")
