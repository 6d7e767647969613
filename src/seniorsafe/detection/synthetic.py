"""A small synthetic resident for benchmarks and demos (not used for evaluation)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from .activity import POOLED_KINDS
from .events import ACTIVITY_KINDS, Event, SensorInfo


def synthetic_sensors() -> dict[str, SensorInfo]:
    items = [
        SensorInfo("m_kitchen", "motion", "kitchen"),
        SensorInfo("m_living", "motion", "living"),
        SensorInfo("m_bedroom", "motion", "bedroom"),
        SensorInfo("m_bath", "motion", "bathroom"),
        SensorInfo("bed", "presence", "bedroom"),
        SensorInfo("chair", "presence", "living"),
        SensorInfo("front", "door", "entrance"),
        SensorInfo("fridge", "contact", "kitchen"),
        SensorInfo("kettle", "power", "kitchen"),
        SensorInfo("flush", "flush", "bathroom"),
        SensorInfo("button", "button", "living"),
    ]
    return {s.id: s for s in items}


def synthetic_resident(days: int, tz: str = "Europe/Paris", seed: int = 0, start: str = "2024-01-01") -> list[Event]:
    """Sleep ~23:00-07:00 in bed, a morning outing every other day, activity every 2-15 min by day."""
    rng = random.Random(seed)
    zone = ZoneInfo(tz)
    t0 = datetime.fromisoformat(start).replace(tzinfo=zone).timestamp()
    sensors = ["m_kitchen", "m_living", "m_living", "m_bath", "fridge", "flush", "kettle", "chair"]
    out: list[Event] = []
    for d in range(days):
        day0 = t0 + d * 86400
        t = day0 + 7 * 3600 + rng.uniform(-1800, 1800)
        out += [Event(t, "bed", 0), Event(t + 15, "m_bedroom", 1), Event(t + 45, "m_bedroom", 0)]
        end = day0 + 23 * 3600 + rng.uniform(-1800, 1800)
        outing = d % 2 == 0
        while t < end:
            t += rng.uniform(60, 8 * 60)
            if outing and t > day0 + 10 * 3600:
                outing = False
                back = t + rng.uniform(3600, 3 * 3600)
                out += [
                    Event(t, "front", 1),
                    Event(t + 5, "front", 0),
                    Event(back, "front", 1),
                    Event(back + 5, "front", 0),
                ]
                t = back + 5
                continue
            s = rng.choice(sensors)
            if s == "kettle":
                out += [Event(t, s, 1800.0), Event(t + 120, s, 2.0)]
            elif s == "chair":
                sit = rng.uniform(10 * 60, 60 * 60)
                out += [Event(t, s, 1), Event(t + sit, s, 0)]
                t += sit
            else:
                out += [Event(t, s, 1), Event(t + 30, s, 0)]
        out += [Event(end, "m_bedroom", 1), Event(end + 30, "m_bedroom", 0), Event(end + 60, "bed", 1)]
    out.sort(key=lambda e: e.ts)
    return out


#: a densely sensed home (several ceiling motion sensors per room, as in the CASAS smart apartments)
DENSE_ROOMS = {"bedroom": 5, "living": 8, "kitchen": 5, "bathroom": 2, "hall": 4, "other": 3}


def dense_sensors() -> dict[str, SensorInfo]:
    items = [SensorInfo("front", "door", "entrance"), SensorInfo("fridge", "contact", "kitchen")]
    n = 0
    for room, count in DENSE_ROOMS.items():
        for _ in range(count):
            n += 1
            items.append(SensorInfo(f"M{n:03d}", "motion", room))
    items += [SensorInfo(f"T{i}", "temperature", room) for i, room in enumerate(("living", "kitchen", "bedroom"))]
    return {s.id: s for s in items}


def dense_resident(days: int, tz: str = "Europe/Paris", seed: int = 0, start: str = "2024-01-01") -> list[Event]:
    """A resident in a densely sensed home: ~5,000 events a day (motion on/off every few seconds to a minute
    while moving, quiet spells sitting, a night in the bedroom with bathroom visits, an outing every third day,
    temperature readings every 5 minutes)."""
    rng = random.Random(seed)
    sensors = dense_sensors()
    by_room: dict[str, list[str]] = {}
    for s in sensors.values():
        if s.kind == "motion":
            by_room.setdefault(s.room, []).append(s.id)
    rooms = list(by_room)
    t0 = datetime.fromisoformat(start).replace(tzinfo=ZoneInfo(tz)).timestamp()
    out: list[Event] = []

    def moving(t: float, room: str, minutes: float) -> float:
        end = t + minutes * 60
        while t < end:
            sid = rng.choice(by_room[room])
            out.extend((Event(t, sid, 1), Event(t + rng.uniform(1, 5), sid, 0)))
            t += rng.expovariate(1 / 20)
        return t

    for d in range(days):
        day0 = t0 + d * 86400
        t = day0 + 7 * 3600 + rng.uniform(-1800, 1800)
        bedtime = day0 + 22.5 * 3600 + rng.uniform(-1800, 1800)
        outing = d % 3 == 0
        while t < bedtime:
            room = rng.choice(rooms)
            t = moving(t, room, rng.uniform(2, 25))
            if room == "kitchen" and rng.random() < 0.3:
                out.extend((Event(t, "fridge", 1), Event(t + 20, "fridge", 0)))
            if outing and t > day0 + 10 * 3600:
                outing = False
                back = t + rng.uniform(3600, 3 * 3600)
                out.extend((Event(t, "front", 1), Event(t + 5, "front", 0), Event(back, "front", 1)))
                out.append(Event(back + 5, "front", 0))
                t = back + 5
            elif room in ("living", "bedroom") and rng.random() < 0.15:
                t += rng.uniform(15 * 60, 75 * 60)  # sitting still
        t = moving(max(t, bedtime), "bedroom", 5)
        for _ in range(rng.randint(0, 2)):  # night visits to the bathroom
            back_to_bed = moving(t + rng.uniform(1, 7) * 3600, "bathroom", rng.uniform(2, 6))
            moving(back_to_bed, "bedroom", 0.5)
        for k in range(288):
            out.append(Event(day0 + k * 300, f"T{k % 3}", 19.0 + rng.random() * 3))
    out.sort(key=lambda e: e.ts)
    return out


def device_check_ins(sensors: dict[str, SensorInfo], events: Sequence[Event], period_s: float,
                     until: float) -> list[Event]:
    """What Zigbee devices send on their own: every ``period_s`` from the first of ``events`` on, each sensor
    re-sends its current state as ``events`` leave it (a motion or flush sensor only its "off", once it reported
    it: a Zigbee motion sensor's state between triggers is "no motion"), up to ``until``."""
    state: dict[str, float] = {}
    out: list[Event] = []
    t = events[0].ts + period_s if events else math.inf
    for ev in events:
        while t <= ev.ts:
            out += [Event(t, sid, value) for sid, value in state.items()]
            t += period_s
        kind = sensors[ev.sensor].kind
        if kind in POOLED_KINDS and ev.value:
            state.pop(ev.sensor, None)  # triggered: "no motion" again once it reports so
        elif kind in ACTIVITY_KINDS:
            state[ev.sensor] = ev.value
    while t <= until:
        out += [Event(t, sid, value) for sid, value in state.items()]
        t += period_s
    return out
