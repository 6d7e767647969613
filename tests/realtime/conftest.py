"""Live gateway fixtures: a real uvicorn api, real Socket.IO clients, shared organisations."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import socketio

from seniorsafe.alerts.lifecycle import Decision, apply_decision
from seniorsafe.alerts.models import Alert
from seniorsafe.config import Settings
from seniorsafe.deps import AppState
from tests.conftest import Org, make_org
from tests.servers import api_server


@pytest.fixture(scope="session")
def live_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"workflow_worker_in_api": False, "realtime_session_check_seconds": 0.5})


@pytest.fixture(scope="session")
def live_url(live_settings: Settings) -> Iterator[str]:
    with api_server(live_settings) as base:
        yield base


@pytest.fixture(scope="session")
async def rt_orgs(app: Any, state: AppState) -> list[Org]:
    transport = httpx.ASGITransport(app=app, client=("10.7.7.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        return [await make_org(c, state, "RA"), await make_org(c, state, "RB")]


Predicate = Callable[[str, Any], bool]


class Probe:
    """A real Socket.IO client that records every event it receives."""

    def __init__(self, name: str = "probe") -> None:
        self.name = name
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any, float]] = []
        self._changed = asyncio.Event()
        self.disconnected = asyncio.Event()
        self.sio.on("*", self._record)
        self.sio.on("disconnect", self._gone)

    async def _record(self, event: str, data: Any = None) -> None:
        self.events.append((event, data, time.monotonic()))
        self._changed.set()

    async def _gone(self, *args: Any) -> None:
        self.disconnected.set()

    async def connect(self, url: str, token: str | None, **auth: Any) -> None:
        payload = {"token": token, **auth} if token is not None else auth
        await self.sio.connect(url, auth=payload, transports=["websocket"], wait_timeout=5)

    async def wait_for(self, pred: Predicate, within: float = 5.0) -> tuple[str, Any]:
        deadline = time.monotonic() + within
        while True:
            for event, data, _ in self.events:
                if pred(event, data):
                    return event, data
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.name}: no matching event; got {[e for e, _, _ in self.events]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def snapshot(self) -> dict[str, Any]:
        _, data = await self.wait_for(lambda e, _: e == "snapshot")
        return dict(data)

    def named(self, event: str, **match: Any) -> list[Any]:
        out = []
        for e, data, _ in self.events:
            if e == event and all(_get(data, k) == v for k, v in match.items()):
                out.append(data)
        return out

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


def _get(data: Any, dotted: str) -> Any:
    for part in dotted.split("__"):
        data = data.get(part) if isinstance(data, dict) else None
    return data


@pytest.fixture
async def probes() -> AsyncIterator[Callable[[str], Probe]]:
    made: list[Probe] = []

    def factory(name: str = "probe") -> Probe:
        p = Probe(name)
        made.append(p)
        return p

    yield factory
    for p in made:
        await p.close()


def unique_kind() -> str:
    """An alert kind of one test alone (the latch keeps one open alert per senior and kind)."""
    return f"t_{uuid.uuid4().hex[:12]}"


async def guardian_and_staff(live_url: str, org: Org, probes: Callable[[str], Probe]) -> tuple[Probe, Probe]:
    """Senior 0's guardian and staff member (staff1), both connected and past their snapshot."""
    guardian, staff = probes("guardian"), probes("staff1")
    await guardian.connect(live_url, org.guardian["token"])
    await staff.connect(live_url, org.staff1["token"])
    await guardian.snapshot()
    await staff.snapshot()
    return guardian, staff


async def open_alert(state: AppState, org: Org, senior_index: int, kind: str = "emergency_button",
                     severity: str = "danger", action: str = "open") -> Alert:
    senior_id = uuid.UUID(org.seniors[senior_index]["id"])
    decision = Decision(action, kind, severity, "bathroom", f"{kind} test {uuid.uuid4().hex[:6]}", time.time(), {})
    async with state.db.sessions() as session:
        alert = await apply_decision(session, state.bus, org_id=uuid.UUID(org.id), senior_id=senior_id,
                                     home_id=None, decision=decision)
    assert alert is not None
    return alert


async def escalate_to_all_staff(state: AppState, alert: Alert) -> None:
    """Drive the escalation clock: level 1 (assigned staff), then level 2 (all staff on duty)."""
    from datetime import timedelta

    from seniorsafe.alerts import escalation

    await escalation.tick(state, alert.opened_at)
    await escalation.tick(state, alert.opened_at + timedelta(minutes=2, seconds=1))
