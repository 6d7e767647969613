"""A small synthetic resident for benchmarks and demos (not used for evaluation)."""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

from .events import Event, SensorInfo


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
