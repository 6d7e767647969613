"""Detector/trainer service fixtures: homes registered through the API, events through telemetry's ingest."""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from seniorsafe.alerts.models import Alert
from seniorsafe.deps import AppState
from seniorsafe.detection.detector_service import DetectorConfig, DetectorService
from seniorsafe.telemetry.service import Inbound, IngestCore
from tests.conftest import Org, make_org
from tests.telemetry.conftest import HubFixture, register_hub

_seq = itertools.count(int(time.time() * 1000))


@pytest.fixture(scope="session")
async def det_orgs(app: Any, state: AppState) -> list[Org]:
    transport = httpx.ASGITransport(app=app, client=("10.7.7.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        return [await make_org(c, state, "DA"), await make_org(c, state, "DB")]


async def new_home(client: httpx.AsyncClient, org: Org, extra: tuple[tuple[str, str, str], ...] = ()) -> HubFixture:
    """A senior with a home, a hub and the demo sensors (+ extra (sensor_id, kind, room))."""
    hub = await register_hub(client, org)
    for sensor_id, kind, room in extra:
        r = await client.post(f"/api/v1/hubs/{hub.hub_id}/sensors", headers=org.h(org.admin),
                              json={"sensor_id": sensor_id, "kind": kind, "room": room})
        assert r.status_code == 201, r.text
    return hub


async def daytime_home(client: httpx.AsyncClient, org: Org, hour: int = 10) -> HubFixture:
    """A home whose time zone makes the wall clock read about `hour`:00 now, so that stillness in the
    following hours happens in the daytime whatever time the tests run (at night it would be sleep)."""
    hub = await new_home(client, org)
    offset = (hour - datetime.now(UTC).hour + 12) % 24 - 12  # UTC offset in -12..+11 hours
    zone = "Etc/GMT" + (f"{-offset:+d}" if offset else "")  # Etc/GMT-9 is UTC+9: the sign is inverted
    r = await client.patch(f"/api/v1/homes/{hub.home_id}", headers=org.h(org.admin), json={"timezone": zone})
    assert r.status_code == 200, r.text
    return hub


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


async def send(state: AppState, hub: HubFixture, events: list[tuple[str, Any, float]]) -> None:
    """(sensor, value, epoch ts) through telemetry's own ingest: committed, then appended to the stream."""
    body = [{"sensor": s, "value": v, "ts": iso(ts), "seq": next(_seq)} for s, v, ts in events]
    result = await IngestCore(state.db, state.bus).ingest([Inbound(hub.hub_id, orjson.dumps(body), "http")])
    assert result.stored == len(events) and not result.rejected, result


def day_of_life(start: float, days: int, seed: int = 3) -> list[tuple[str, Any, float]]:
    """A plausible resident: up at 07:00-ish, active every few minutes until 22:30, bed at night."""
    rng = random.Random(seed)
    out: list[tuple[str, Any, float]] = []
    for d in range(days):
        t = start + d * 86400.0
        out.append(("bed", False, t))
        end = t + 15.5 * 3600
        t += 30
        while t < end:
            sensor = rng.choice(["pir-kitchen", "pir-living", "pir-living", "pir-bathroom", "fridge"])
            out.append((sensor, True, t))
            t += rng.uniform(60, 900)
        out.append(("pir-bedroom", True, end + 60))
        out.append(("bed", True, end + 120))
    return out


async def alerts_of(state: AppState, senior_id: str, kind: str | None = None) -> list[Alert]:
    async with state.db.sessions() as session:
        query = select(Alert).where(Alert.senior_id == uuid.UUID(senior_id)).order_by(Alert.opened_at)
        if kind:
            query = query.where(Alert.kind == kind)
        return list((await session.scalars(query)).all())


@pytest.fixture
async def detector(state: AppState) -> AsyncIterator[DetectorService]:
    """An in-process detector with its own consumer group (driven step by step by the test)."""
    svc = DetectorService(state.db, state.bus, state.storage,
                          DetectorConfig(name=f"t-{uuid.uuid4().hex[:8]}", lease_s=5, tick_s=0.2))
    await svc.start()
    yield svc
    await svc.close()


async def drain(svc: DetectorService) -> int:
    total = 0
    while n := await svc.consume_once(block_ms=None):
        total += n
    return total
