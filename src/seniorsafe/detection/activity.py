"""Turning raw sensor events into "the resident did something here" — shared by training and live detection.

The trainer (``PersonalModel.fit``) and the live detector (``HomeDetector``) both feed events
through :class:`ActivityTracker`, so that what the model learns and what the detector checks are
defined by the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from .events import ACTIVITY_KINDS, POWER_OFF_WATTS, POWER_ON_WATTS, WET_ROOMS, Event, SensorInfo

#: sensor kinds whose on and off readings are pooled into one context (a motion sensor always
#: turns itself off shortly after the last movement, so "off" says nothing extra)
POOLED_KINDS: frozenset[str] = frozenset({"motion", "flush"})
#: kinds that tell in which room the person is (doors between rooms do not: one may be on either side)
LOCATING_KINDS: frozenset[str] = frozenset({"motion", "presence", "flush", "contact", "power", "light"})


class LocalClock:
    """Fast epoch -> local time of day for one time zone (UTC offset cached per UTC hour)."""

    __slots__ = ("_cache", "tz")

    def __init__(self, tz: str | ZoneInfo) -> None:
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self._cache: dict[int, float] = {}

    def offset(self, ts: float) -> float:
        bucket = int(ts // 3600)
        off = self._cache.get(bucket)
        if off is None:
            delta = datetime.fromtimestamp(bucket * 3600, UTC).astimezone(self.tz).utcoffset()
            off = delta.total_seconds() if delta is not None else 0.0
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[bucket] = off
        return off

    def local_seconds(self, ts: float) -> float:
        """Seconds since 1970-01-01 00:00 *local* (a monotone local clock, DST folded)."""
        return ts + self.offset(ts)

    def local_seconds_array(self, ts: np.ndarray) -> np.ndarray:
        """:meth:`local_seconds` of many epochs at once (one offset lookup per distinct UTC hour)."""
        hours, inverse = np.unique((ts // 3600).astype(np.int64), return_inverse=True)
        offsets = np.array([self.offset(float(h) * 3600.0) for h in hours])
        return np.asarray(ts + offsets[inverse])

    def hour(self, ts: float) -> float:
        return (self.local_seconds(ts) % 86400.0) / 3600.0

    def day(self, ts: float) -> int:
        """Local calendar day number (days since 1970-01-01 local)."""
        return int(self.local_seconds(ts) // 86400.0)

    def weekend(self, ts: float) -> int:
        return 1 if (self.day(ts) + 3) % 7 >= 5 else 0

    def epoch_of_local(self, day: int, hour: float) -> float:
        """Epoch seconds of local ``day`` at ``hour`` (approximate across a DST change: <= 1 h off)."""
        local = day * 86400.0 + hour * 3600.0
        return local - self.offset(local - self.offset(local))


@dataclass(slots=True)
class Activity:
    """One event that shows the resident doing something."""

    ts: float
    sensor: str
    key: str  # context key: sensor id, or "sensor=0/1" for sensors whose state matters
    room: str
    resting: bool  # a bed/chair presence sensor is occupied after this event (the person is on it)
    exterior: bool  # the exterior (entrance) door
    located: bool  # the event tells where the person is (not an interior door)
    found_fine: bool = False  # not a sensor: staff or the robot found the resident fine at ``ts``
    still_since: float | None = None  # when found fine: the last sensed action, where this silence began


#: context-key suffix of an action seen while a bed/chair is occupied
REST_SUFFIX = "+rest"
#: a bed/chair sensor "occupied" for less than this reports pressure changes (a pulse), not a state
PULSE_S = 10.0


def context_key(sensor: SensorInfo, on: bool, resting: bool = False) -> str:
    """``sensor`` or ``sensor=0/1``; ``+rest`` when a bed/chair is occupied meanwhile (a motion sensor seeing
    the sofa, a hand reaching the bedside lamp: the pauses that follow are those of someone lying or sitting)."""
    key = sensor.id if sensor.kind in POOLED_KINDS else f"{sensor.id}={1 if on else 0}"
    return key + REST_SUFFIX if resting and sensor.kind != "presence" else key


def key_sensor(key: str) -> tuple[str, str]:
    """(sensor id, state or "") of a context key."""
    sid, _, state = key.removesuffix(REST_SUFFIX).partition("=")
    return sid, state


def room_key(room: str, resting: bool) -> str:
    return f"@{room}{REST_SUFFIX if resting else ''}"


class ActivityTracker:
    """Keeps the last state of every sensor (which bed/chair is occupied, which appliance on); classifies events."""

    __slots__ = ("_occupied_at", "_state", "presence_on", "sensors")

    def __init__(self, sensors: dict[str, SensorInfo]) -> None:
        self.sensors = sensors
        self.presence_on: set[str] = set()
        self._state: dict[str, bool] = {}
        self._occupied_at: dict[str, float] = {}

    def _power_on(self, sensor_id: str, watts: float) -> bool:
        if self._state.get(sensor_id):
            return watts >= POWER_OFF_WATTS
        return watts > POWER_ON_WATTS

    def classify(self, ev: Event) -> Activity | None:
        """Update occupancy state with ``ev``; return an :class:`Activity` when it shows a person acting."""
        sensor = self.sensors.get(ev.sensor)
        if sensor is None or sensor.kind not in ACTIVITY_KINDS:
            return None
        value = ev.value
        if not math.isfinite(value):
            return None
        on = self._power_on(sensor.id, value) if sensor.kind == "power" else value >= 0.5
        if self._state.get(sensor.id) == on and (not on or sensor.kind not in POOLED_KINDS):
            # the same state reported again (a power meter's next reading, a Zigbee device's periodic check-in
            # or battery report repeating "closed" or "no motion"): nobody did anything. Only a motion or flush
            # sensor's repeated "on" is a new trigger
            return None
        self._state[sensor.id] = on
        key = None
        if sensor.kind == "presence":
            if on:
                self.presence_on.add(sensor.id)
                self._occupied_at[sensor.id] = ev.ts
            else:
                self.presence_on.discard(sensor.id)
                if ev.ts - self._occupied_at.pop(sensor.id, -math.inf) < PULSE_S:
                    # "occupied" for a moment only: a mat that reports pressure changes, not a state. Its
                    # "left" says nothing about leaving: like a motion sensor, the pulse is one context
                    key = sensor.id
        resting = bool(self.presence_on)
        if key is None:
            key = context_key(sensor, on, resting)
        elif resting:
            key += REST_SUFFIX
        return Activity(
            ts=ev.ts,
            sensor=sensor.id,
            key=key,
            room=sensor.room,
            resting=resting,
            exterior=sensor.is_exterior_door,
            located=sensor.kind in LOCATING_KINDS,
        )


def in_wet_room(act: Activity) -> bool:
    return act.located and act.room in WET_ROOMS and not act.resting
