"""Believable sensor history for a demo home (browser tests and scripts/screenshots.py).

A resident's ordinary days (Kim Bok-sun of the requirements: up around 07:00, breakfast, out late
morning every other day, TV in the evening, bed around 22:30, a bathroom visit some nights) as hub
events for the sensors that `seniorsafe.seed` gives every demo home, sent through the real HTTP
ingest endpoint with the hub's credential.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

# sensor id, kind, room, label — the same as seniorsafe.seed.DEMO_SENSORS
SENSORS = [
    ("bed", "presence", "bedroom", "bed pressure mat"),
    ("pir-bedroom", "motion", "bedroom", "bedroom motion"),
    ("pir-living", "motion", "living", "living room motion"),
    ("pir-kitchen", "motion", "kitchen", "kitchen motion"),
    ("pir-bathroom", "motion", "bathroom", "bathroom motion"),
    ("door-bathroom", "door", "bathroom", "bathroom door"),
    ("door-front", "door", "entrance", "front door"),
    ("fridge", "contact", "kitchen", "fridge door"),
    ("tv", "power", "living", "TV power"),
    ("kettle", "power", "kitchen", "kettle power"),
    ("button", "button", "living", "emergency button"),
    ("smoke", "smoke", "kitchen", "smoke detector"),
]


def resident_events(days: int, tz: str = "Asia/Seoul", seed: int = 1, now: datetime | None = None,
                    seq_start: int = 1) -> list[dict[str, Any]]:
    """Events for the last `days` days up to `now` (nothing in the future), oldest first."""
    rng = random.Random(seed)
    zone = ZoneInfo(tz)
    now = now or datetime.now(UTC)
    today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    raw: list[tuple[datetime, str, float]] = []

    def at(day: datetime, hour: float, jitter_min: float = 0) -> datetime:
        return day + timedelta(hours=hour, minutes=rng.uniform(-jitter_min, jitter_min))

    def stay(start: datetime, minutes: float, pir: str, every: tuple[float, float] = (2, 6)) -> datetime:
        t = start
        end = start + timedelta(minutes=minutes)
        while t < end:
            raw.append((t, pir, 1))
            raw.append((t + timedelta(seconds=40), pir, 0))
            t += timedelta(minutes=rng.uniform(*every))
        return end

    def bathroom(start: datetime, minutes: float = 8) -> datetime:
        raw.append((start, "door-bathroom", 1))
        raw.append((start + timedelta(seconds=20), "door-bathroom", 0))
        end = stay(start + timedelta(seconds=30), minutes, "pir-bathroom", (1, 3))
        raw.append((end, "door-bathroom", 1))
        raw.append((end + timedelta(seconds=15), "door-bathroom", 0))
        return end + timedelta(minutes=1)

    for d in range(days - 1, -1, -1):
        day = today - timedelta(days=d)
        wake = at(day, 7, 30)
        raw.append((wake, "bed", 0))
        t = stay(wake + timedelta(seconds=20), 5, "pir-bedroom")
        t = bathroom(t + timedelta(minutes=1), rng.uniform(6, 14))
        t = stay(max(t, at(day, 8.25, 15)), rng.uniform(30, 50), "pir-kitchen")
        raw.append((t - timedelta(minutes=25), "kettle", 1800))
        raw.append((t - timedelta(minutes=22), "kettle", 0))
        raw.append((t - timedelta(minutes=15), "fridge", 1))
        raw.append((t - timedelta(minutes=14), "fridge", 0))
        t = stay(t, rng.uniform(40, 80), "pir-living", (3, 9))
        if d % 2 == 0:  # out late morning every other day
            out = max(t, at(day, 10, 10))
            raw.append((out, "door-front", 1))
            raw.append((out + timedelta(seconds=30), "door-front", 0))
            back = out + timedelta(minutes=rng.uniform(90, 130))
            raw.append((back, "door-front", 1))
            raw.append((back + timedelta(seconds=30), "door-front", 0))
            t = back + timedelta(minutes=1)
        t = bathroom(max(t, at(day, 12, 10)))
        t = stay(t, rng.uniform(25, 40), "pir-kitchen")
        t = stay(t, 150, "pir-living", (5, 15))
        raw.append((at(day, 14, 10), "tv", 85))
        raw.append((at(day, 16.5, 10), "tv", 0))
        t = bathroom(t)
        t = stay(max(t, at(day, 18, 15)), rng.uniform(30, 50), "pir-kitchen")
        raw.append((t - timedelta(minutes=10), "fridge", 1))
        raw.append((t - timedelta(minutes=9), "fridge", 0))
        tv_on = max(t, at(day, 20, 10))
        raw.append((tv_on, "tv", 85))
        t = stay(tv_on, rng.uniform(100, 140), "pir-living", (5, 12))
        raw.append((t, "tv", 0))
        t = bathroom(t + timedelta(minutes=2))
        t = stay(t, 4, "pir-bedroom")
        raw.append((t, "bed", 1))
        if rng.random() < 0.4:  # a bathroom visit some nights
            night = day + timedelta(days=1, hours=rng.uniform(2, 4))
            raw.append((night, "bed", 0))
            t = bathroom(night + timedelta(minutes=1), 5)
            raw.append((t + timedelta(minutes=1), "bed", 1))

    raw = sorted((r for r in raw if r[0] <= now), key=lambda r: r[0])
    return [{"sensor": s, "ts": ts.astimezone(UTC).isoformat(), "value": v, "seq": seq_start + i}
            for i, (ts, s, v) in enumerate(raw)]


def post_events(base_url: str, hub_id: str, secret: str, events: list[dict[str, Any]], batch: int = 2000) -> int:
    """Send through the real HTTP ingest (Basic hub_id:secret); returns how many were stored."""
    stored = 0
    with httpx.Client(base_url=base_url, auth=(hub_id, secret), timeout=60) as client:
        for i in range(0, len(events), batch):
            r = client.post("/api/v1/hub/events", json=events[i:i + batch])
            r.raise_for_status()
            body = r.json()
            stored += body["stored"]
            if body["rejected"]:
                raise RuntimeError(f"ingest rejected events: {body['rejected'][:3]}")
    return stored


async def equip_home(client: httpx.AsyncClient, headers: dict[str, str], senior_id: str, hub_id: str,
                     sensors: list[tuple[str, str, str, str]] = SENSORS) -> dict[str, Any]:
    """Register a home, a hub and the demo sensors for a senior through the API; returns ids and the secret."""
    r = await client.post(f"/api/v1/seniors/{senior_id}/home", headers=headers, json={"address": "부산 해운대구 1길"})
    r.raise_for_status()
    home = r.json()
    r = await client.post(f"/api/v1/homes/{home['id']}/hubs", headers=headers, json={"id": hub_id, "name": "hub"})
    r.raise_for_status()
    secret = r.json()["credential"]["secret"]
    for sid, kind, room, label in sensors:
        r = await client.post(f"/api/v1/hubs/{hub_id}/sensors", headers=headers,
                              json={"sensor_id": sid, "kind": kind, "room": room, "label": label})
        r.raise_for_status()
    return {"home": home, "hub_id": hub_id, "secret": secret}
