"""The api's in-memory read cache and session guard: never stale after a committed change or a sign-out.

Each test runs an api state whose cache listens to PostgreSQL and whose guard listens to Redis (the shared
test app runs without them), and changes data the way other processes do: plain SQL on another connection.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import psycopg
import pytest

from seniorsafe.app import build_state, create_app
from seniorsafe.config import Settings
from seniorsafe.db import libpq_url
from seniorsafe.deps import AppState
from seniorsafe.readcache import APPLICATION_NAME
from tests.conftest import Org, login


async def wait_for(condition: Callable[[], Any], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def _started(settings: Settings) -> AppState:
    st = build_state(settings)
    await st.reads.start()
    await st.guard.start()

    async def both_live() -> bool:
        return st.reads.live and st.guard.live

    await wait_for(both_live)
    return st


async def _stopped(st: AppState) -> None:
    await st.reads.stop()
    await st.guard.stop()
    await st.bus.close()
    await st.db.dispose()


@pytest.fixture
async def live_state(settings: Settings) -> AsyncIterator[AppState]:
    st = await _started(settings)
    yield st
    await _stopped(st)


def _client(settings: Settings, st: AppState) -> httpx.AsyncClient:
    application = create_app(settings)
    application.state.services = st
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=application, client=("10.9.9.9", 5000)),
                             base_url="http://test")


@pytest.fixture
async def cached(settings: Settings, live_state: AppState) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(settings, live_state) as c:
        yield c


def _sql(settings: Settings, statement: str, *params: Any) -> None:
    """A change made outside this process (the detector, another api process, an operator)."""
    with psycopg.connect(libpq_url(settings.database_url), autocommit=True) as conn:
        conn.execute(statement, params)


async def _names(c: httpx.AsyncClient, who: dict[str, str]) -> dict[str, str]:
    r = await c.get("/api/v1/seniors", headers={"Authorization": f"Bearer {who['token']}"})
    assert r.status_code == 200, r.text
    return {item["name"]: item["risk_level"] for item in r.json()["items"]}


async def test_repeated_reads_come_from_the_cache(cached: httpx.AsyncClient, live_state: AppState, org: Org) -> None:
    first = await _names(cached, org.staff1)
    hits = live_state.reads.hits
    assert await _names(cached, org.staff1) == first
    r = await cached.get(f"/api/v1/seniors/{org.seniors[0]['id']}", headers=org.h(org.staff1))
    r2 = await cached.get(f"/api/v1/seniors/{org.seniors[0]['id']}", headers=org.h(org.staff1))
    assert r.json() == r2.json()
    assert live_state.reads.hits == hits + 2


async def test_change_by_another_process_shows_at_once(cached: httpx.AsyncClient, settings: Settings,
                                                       org: Org) -> None:
    senior = org.seniors[0]
    assert (await _names(cached, org.staff1))[senior["name"]] == "unknown"
    _sql(settings, "UPDATE seniors SET risk_level = 'danger', risk_changed_at = now() WHERE id = %s",
         uuid.UUID(senior["id"]))

    async def danger_listed() -> bool:
        return (await _names(cached, org.staff1)).get(senior["name"]) == "danger"

    await wait_for(danger_listed, within=2.0)
    r = await cached.get(f"/api/v1/seniors/{senior['id']}", headers=org.h(org.staff1))
    assert r.json()["risk_level"] == "danger"


async def test_assignment_changes_visibility_and_staff_list(cached: httpx.AsyncClient, settings: Settings,
                                                            org: Org) -> None:
    third = org.seniors[2]  # assigned to staff2 only
    assert third["name"] not in await _names(cached, org.staff1)
    detail = await cached.get(f"/api/v1/seniors/{third['id']}", headers=org.h(org.admin))
    assert [s["user_id"] for s in detail.json()["staff"]] == [org.staff2["id"]]

    # Through this process's API: the writer's very next read must already show it.
    r = await cached.put(f"/api/v1/seniors/{third['id']}/staff/{org.staff1['id']}", headers=org.h(org.admin))
    assert r.status_code == 204, r.text
    assert third["name"] in await _names(cached, org.staff1)
    detail = await cached.get(f"/api/v1/seniors/{third['id']}", headers=org.h(org.admin))
    assert {s["user_id"] for s in detail.json()["staff"]} == {org.staff1["id"], org.staff2["id"]}

    # Removed outside this process: gone from the list and the detail is refused.
    _sql(settings, "DELETE FROM staff_assignments WHERE senior_id = %s AND user_id = %s",
         uuid.UUID(third["id"]), uuid.UUID(org.staff1["id"]))

    async def gone() -> bool:
        return third["name"] not in await _names(cached, org.staff1)

    await wait_for(gone, within=2.0)
    r = await cached.get(f"/api/v1/seniors/{third['id']}", headers=org.h(org.staff1))
    assert r.status_code == 404


async def test_staff_name_change_reaches_cached_detail(cached: httpx.AsyncClient, settings: Settings,
                                                       org: Org) -> None:
    senior_id = org.seniors[0]["id"]
    url = f"/api/v1/seniors/{senior_id}"
    assert (await cached.get(url, headers=org.h(org.admin))).json()["staff"][0]["name"] == "staff1"
    _sql(settings, "UPDATE users SET name = 'Kim Staff' WHERE id = %s", uuid.UUID(org.staff1["id"]))

    async def renamed() -> bool:
        r = await cached.get(url, headers=org.h(org.admin))
        return bool(r.json()["staff"][0]["name"] == "Kim Staff")

    await wait_for(renamed, within=2.0)


async def test_cache_is_bypassed_while_notifications_are_lost(cached: httpx.AsyncClient, live_state: AppState,
                                                              settings: Settings, org: Org) -> None:
    senior = org.seniors[1]
    await _names(cached, org.staff1)
    # Cut the listening connection (as a PostgreSQL restart or a network loss would).
    _sql(settings, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
         "WHERE datname = current_database() AND application_name = %s", APPLICATION_NAME)

    async def offline() -> bool:
        return not live_state.reads.live

    await wait_for(offline, within=3.0)
    _sql(settings, "UPDATE seniors SET risk_level = 'caution' WHERE id = %s", uuid.UUID(senior["id"]))
    if not live_state.reads.live:  # may already have reconnected (then the cache was emptied)
        assert (await _names(cached, org.staff1))[senior["name"]] == "caution"

    async def back() -> bool:
        return live_state.reads.live

    await wait_for(back, within=10.0)
    assert (await _names(cached, org.staff1))[senior["name"]] == "caution"


async def test_sign_out_in_another_process_is_refused_at_once(settings: Settings, live_state: AppState,
                                                              cached: httpx.AsyncClient, org: Org) -> None:
    other = await _started(settings)  # a second api process
    try:
        async with _client(settings, other) as second:
            tokens = await login(cached, org.staff2["email"])
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            assert (await second.get("/api/v1/seniors", headers=headers)).status_code == 200  # remembered there
            r = await cached.post("/api/v1/auth/logout", headers=headers)
            assert r.status_code == 204, r.text
            assert (await cached.get("/api/v1/seniors", headers=headers)).status_code == 401  # this process

            async def refused() -> bool:
                return (await second.get("/api/v1/seniors", headers=headers)).status_code == 401

            await wait_for(refused, within=1.0)
    finally:
        await _stopped(other)
