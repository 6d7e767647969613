"""Synthetic homes for detection tests."""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from seniorsafe.detection import Event, SensorInfo

TZ = "Europe/Paris"
ZONE = ZoneInfo(TZ)


def sensors() -> dict[str, SensorInfo]:
    items = [
        SensorInfo("m_kitchen", "motion", "kitchen"),
        SensorInfo("m_living", "motion", "living"),
        SensorInfo("m_bedroom", "motion", "bedroom"),
        SensorInfo("m_bath", "motion", "bathroom"),
        SensorInfo("bed", "presence", "bedroom"),
        SensorInfo("front", "door", "entrance"),
        SensorInfo("fridge", "contact", "kitchen"),
        SensorInfo("button", "button", "living"),
        SensorInfo("smoke", "smoke", "kitchen"),
        SensorInfo("gas", "gas", "kitchen"),
        SensorInfo("leak", "water_leak", "bathroom"),
        SensorInfo("bat_kitchen", "battery", "kitchen", of="m_kitchen"),
    ]
    return {s.id: s for s in items}


def at(day: int, hour: float) -> float:
    """Epoch of 2024-03-04 (a Monday) + day, at local hour."""
    base = datetime(2024, 3, 4, tzinfo=ZONE).timestamp()
    return datetime.fromtimestamp(base + day * 86400, ZONE).replace(hour=0).timestamp() + hour * 3600


def synthetic_days(n_days: int, seed: int = 1, start_day: int = 0) -> list[Event]:
    """Up 07:00 (bed off), active every 1-12 min in kitchen/living/bath, out 10:00-11:30 on odd days,
    to bed 23:00 (bed on)."""
    rng = random.Random(seed)
    out: list[Event] = []
    rooms = ["m_kitchen", "m_living", "m_living", "m_bath", "fridge"]
    for d in range(start_day, start_day + n_days):
        t = at(d, 7.0 + rng.uniform(-0.25, 0.25))
        out.append(Event(t, "bed", 0))
        out.append(Event(t + 20, "m_bedroom", 1))
        end = at(d, 23.0)
        while t < end:
            t += rng.uniform(60, 12 * 60)
            h = (t - at(d, 0)) / 3600
            if d % 2 == 1 and 10.0 <= h < 11.5:
                out.append(Event(t, "front", 1))
                out.append(Event(t + 5, "front", 0))
                t = at(d, 11.5)
                out.append(Event(t, "front", 1))
                out.append(Event(t + 5, "front", 0))
                continue
            s = rng.choice(rooms)
            out.append(Event(t, s, 1))
            out.append(Event(t + 30, s, 0))
        out.append(Event(end + 60, "m_bedroom", 1))
        out.append(Event(end + 120, "bed", 1))
    out.sort(key=lambda e: e.ts)
    return out


def out_with_a_cat(days: tuple[int, ...], every_min: float = 10.0) -> list[Event]:
    """21 synthetic days; on ``days`` the resident goes out 12:00-18:00 through the front door and only the kitchen
    motion sensor fires meanwhile, every ``every_min`` minutes (the cat)."""
    events = [e for e in synthetic_days(21) if not any(at(d, 11.9) <= e.ts < at(d, 18.1) for d in days)]
    for d in days:
        events += [Event(at(d, 12), "front", 1), Event(at(d, 12) + 5, "front", 0),
                   Event(at(d, 18), "front", 1), Event(at(d, 18) + 5, "front", 0)]
        t = at(d, 12.1)
        while t < at(d, 17.9):
            events += [Event(t, "m_kitchen", 1), Event(t + 30, "m_kitchen", 0)]
            t += every_min * 60.0
    return sorted(events, key=lambda e: e.ts)


@pytest.fixture
def home() -> dict[str, SensorInfo]:
    return sensors()
