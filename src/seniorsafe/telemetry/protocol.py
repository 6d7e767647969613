"""The hub → backend wire format (docs/protocols.md): decoding and shape checks, no I/O.

A payload is one event object or a JSON array of them:
`{"sensor": "pir-living", "ts": "2026-11-26T07:15:00.123Z", "value": true, "seq": 1042, "battery": 87}`.
Decoding is hand-written over orjson because it runs for every event on the hot path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

MAX_EVENTS_PER_MESSAGE = 5000
MAX_SEQ = 2**63 - 1
SENSOR_ID_MAX = 64

# Why an input could not be stored (the `reason` column of ingest_dead_letters).
MALFORMED_JSON = "malformed_json"
BAD_SCHEMA = "bad_schema"
BAD_TOPIC = "bad_topic"
UNKNOWN_HUB = "unknown_hub"
HUB_REVOKED = "hub_revoked"
UNKNOWN_SENSOR = "unknown_sensor"
HUB_MISMATCH = "hub_mismatch"
OUT_OF_RANGE = "out_of_range"
TS_FUTURE = "ts_future"
TS_TOO_OLD = "ts_too_old"
TOO_LARGE = "too_large"
REASONS = (MALFORMED_JSON, BAD_SCHEMA, BAD_TOPIC, UNKNOWN_HUB, HUB_REVOKED, UNKNOWN_SENSOR, HUB_MISMATCH,
           OUT_OF_RANGE, TS_FUTURE, TS_TOO_OLD, TOO_LARGE)


class Reject(Exception):
    """An input that is stored as a dead letter instead of an event."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class WireEvent:
    sensor: str
    ts: datetime
    value: float
    seq: int
    battery: int | None
    raw: dict[str, Any]


def decode_payload(payload: bytes) -> list[Any]:
    """The event objects of one message (a single object becomes a list of one)."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise Reject(MALFORMED_JSON, f"not valid JSON: {exc.msg} at position {exc.pos}") from exc
    if isinstance(doc, dict):
        return [doc]
    if isinstance(doc, list):
        if not doc:
            raise Reject(BAD_SCHEMA, "empty batch")
        if len(doc) > MAX_EVENTS_PER_MESSAGE:
            raise Reject(TOO_LARGE, f"a message carries at most {MAX_EVENTS_PER_MESSAGE} events")
        return doc
    raise Reject(BAD_SCHEMA, "payload must be an event object or an array of event objects")


def parse_ts(raw: object) -> datetime:
    """RFC 3339 with an offset (`Z` or `+09:00`), or epoch seconds as a number."""
    if isinstance(raw, str):
        try:
            ts = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise Reject(BAD_SCHEMA, f"ts {raw[:40]!r} is not an RFC 3339 timestamp") from exc
        if ts.tzinfo is None:
            raise Reject(BAD_SCHEMA, "ts must carry a UTC offset (e.g. 'Z')")
        return ts.astimezone(UTC)
    if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
        try:
            return datetime.fromtimestamp(raw, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise Reject(OUT_OF_RANGE, f"ts {raw} is not a representable time") from exc
    raise Reject(BAD_SCHEMA, "ts must be an RFC 3339 string")


def _value(raw: object) -> float:
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float):
        value = float(raw)
        if not math.isfinite(value):
            raise Reject(OUT_OF_RANGE, "value must be finite")
        return value
    raise Reject(BAD_SCHEMA, f"value must be a number or a boolean, not {type(raw).__name__}")


def _seq(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise Reject(BAD_SCHEMA, "seq must be an integer")
    if not 0 <= raw <= MAX_SEQ:
        raise Reject(OUT_OF_RANGE, "seq must be between 0 and 2^63-1")
    return raw


def _battery(raw: object) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise Reject(BAD_SCHEMA, "battery must be a number (percent)")
    if not 0 <= raw <= 100:
        raise Reject(OUT_OF_RANGE, "battery must be between 0 and 100 (percent)")
    return round(raw)


def parse_event(obj: object, hub_id: str) -> WireEvent:
    """Check one event object's shape. The hub comes from the topic or the credential; an event may repeat it
    in `hub`, which must then agree."""
    if not isinstance(obj, dict):
        raise Reject(BAD_SCHEMA, "an event must be a JSON object")
    missing = [k for k in ("sensor", "ts", "value", "seq") if k not in obj]
    if missing:
        raise Reject(BAD_SCHEMA, f"missing field(s): {', '.join(missing)}")
    sensor = obj["sensor"]
    if not isinstance(sensor, str) or not 0 < len(sensor) <= SENSOR_ID_MAX:
        raise Reject(BAD_SCHEMA, "sensor must be a non-empty string of at most 64 characters")
    claimed = obj.get("hub")
    if claimed is not None and claimed != hub_id:
        raise Reject(HUB_MISMATCH, f"event names hub {str(claimed)[:64]!r} but arrived from hub {hub_id!r}")
    return WireEvent(sensor=sensor, ts=parse_ts(obj["ts"]), value=_value(obj["value"]), seq=_seq(obj["seq"]),
                     battery=_battery(obj.get("battery")), raw=obj)


# Accepted value range per sensor kind (inclusive). Binary sensors report 0/1 (or false/true).
BINARY = (0.0, 1.0)
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "motion": BINARY, "door": BINARY, "contact": BINARY, "presence": BINARY, "light": BINARY, "flush": BINARY,
    "button": BINARY, "smoke": BINARY, "gas": BINARY, "water_leak": BINARY,
    "power": (0.0, 20_000.0),          # watts
    "temperature": (-50.0, 100.0),     # °C
}


def check_value(kind: str, value: float) -> None:
    low, high = VALUE_RANGES.get(kind, (-1e12, 1e12))
    if not low <= value <= high:
        raise Reject(OUT_OF_RANGE, f"value {value:g} is outside {low:g}..{high:g} for a {kind} sensor")
    if (low, high) == BINARY and value not in (0.0, 1.0):
        raise Reject(OUT_OF_RANGE, f"a {kind} sensor reports 0/1 or false/true, not {value:g}")


def hub_of_topic(topic: str, root: str) -> tuple[str, str] | None:
    """(hub_id, channel) of `{root}/hubs/{hub_id}/{channel...}`, or None when the topic is not of that shape."""
    prefix = root + "/hubs/"
    if not topic.startswith(prefix):
        return None
    hub_id, sep, channel = topic[len(prefix):].partition("/")
    if not hub_id or not sep or not channel:
        return None
    return hub_id, channel
