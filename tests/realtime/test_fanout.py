"""Two api processes behind no proxy: each bus message reaches each client exactly once; device health → alerts."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from seniorsafe.alerts.models import Alert, AlertEvent
from seniorsafe.config import Settings
from seniorsafe.deps import AppState
from seniorsafe.seniors.models import Senior
from tests.conftest import Org
from tests.realtime.conftest import Probe, open_alert, unique_kind
from tests.servers import api_server


@pytest.fixture(scope="module")
def second_url(live_settings: Settings) -> Iterator[str]:
    with api_server(live_settings) as base:
        yield base


async def test_two_processes_deliver_each_event_once_to_each_client(
    live_url: str, second_url: str, rt_orgs: list[Org], state: AppState, probes: Callable[[str], Probe]
) -> None:
    org, _ = rt_orgs
    on_a = [probes("a1"), probes("a2")]
    on_b = [probes("b1"), probes("b2")]
    for p in on_a:
        await p.connect(live_url, org.staff1["token"])
    for p in on_b:
        await p.connect(second_url, org.staff1["token"])
    for p in on_a + on_b:
        await p.snapshot()
    alerts = [await open_alert(state, org, 0, unique_kind()) for _ in range(5)]
    for p in on_a + on_b:
        for a in alerts:
            await p.wait_for(lambda e, d, a=a: e == "alert.opened" and d["data"]["id"] == str(a.id))
    # acknowledge through process A: the clients on process B learn who acted
    async with httpx.AsyncClient(base_url=live_url) as http:
        r = await http.post(f"/api/v1/alerts/{alerts[0].id}/acknowledge", headers=org.h(org.staff1))
        assert r.status_code == 200, r.text
    for p in on_b:
        await p.wait_for(lambda e, d: e == "alert.acknowledged" and d["data"]["id"] == str(alerts[0].id))
    await asyncio.sleep(0.3)
    for p in on_a + on_b:
        for a in alerts:
            assert len(p.named("alert.opened", data__id=str(a.id))) == 1, p.name
        assert len(p.named("alert.acknowledged", data__id=str(alerts[0].id))) == 1, p.name


async def test_cross_process_emit_through_the_socketio_redis_manager(
    live_url: str, second_url: str, rt_orgs: list[Org], live_settings: Settings, probes: Callable[[str], Probe]
) -> None:
    """What signaling uses: an emit from any process reaches a socket on another (AsyncRedisManager)."""
    import socketio

    org, _ = rt_orgs
    p = probes("b")
    await p.connect(second_url, org.staff1["token"])
    await p.snapshot()
    writer = socketio.AsyncRedisManager(live_settings.redis_url, write_only=True,
                                        channel=live_settings.redis_prefix + live_settings.realtime_redis_channel)
    await writer.emit("robot.status", {"x": 1}, room=f"user:{org.staff1['id']}", namespace="/")
    await p.wait_for(lambda e, d: e == "robot.status" and d == {"x": 1})


async def _health(state: AppState, org_id: str, home_id: str, hub_id: str, kind: str, **details: object) -> None:
    item = {"id": random.randrange(10**12, 10**13), "kind": kind, "org_id": org_id, "home_id": home_id,
            "hub_id": hub_id, "sensor_pk": None, "at": datetime.now(UTC).isoformat(), "details": details}
    await state.bus.publish(f"org:{org_id}:device_health", item)


async def test_hub_offline_becomes_one_device_alert_across_processes(
    live_url: str, second_url: str, rt_orgs: list[Org], state: AppState, client: httpx.AsyncClient,
    probes: Callable[[str], Probe],
) -> None:
    from tests.telemetry.conftest import register_hub

    org, _ = rt_orgs
    hub = await register_hub(client, org)
    a, b = probes("a"), probes("b")
    await a.connect(live_url, org.staff1["token"])
    await b.connect(second_url, org.admin["token"])
    await a.snapshot()
    await b.snapshot()
    await _health(state, org.id, hub.home_id, hub.hub_id, "hub_offline", reason="last_will",
                  last_seen_at="2026-01-01T05:02:00+00:00")
    for p in (a, b):
        _, msg = await p.wait_for(lambda e, d: e == "device.health" and d["data"]["hub_id"] == hub.hub_id)
        assert msg["senior_id"] == hub.senior_id
        _, opened = await p.wait_for(lambda e, d: e == "alert.opened" and d["senior_id"] == hub.senior_id)
        assert opened["data"]["kind"] == "hub_offline" and opened["data"]["category"] == "device"
        assert opened["data"]["evidence"] == "communication lost with the hub since 14:02"  # Asia/Seoul
    async with state.db.sessions() as session:
        alert = await session.scalar(select(Alert).where(Alert.senior_id == uuid.UUID(hub.senior_id),
                                                         Alert.kind == "hub_offline"))
        assert alert is not None and alert.source == "device"
        detected = await session.scalar(select(func.count()).where(AlertEvent.alert_id == alert.id))
        assert detected == 1  # both processes saw the message; one applied it
        risk = await session.scalar(select(Senior.risk_level).where(Senior.id == uuid.UUID(hub.senior_id)))
        assert risk.value in ("safe", "unknown")  # a broken hub is not a resident in danger
    await _health(state, org.id, hub.home_id, hub.hub_id, "hub_online", reason="events")
    await a.wait_for(lambda e, d: e == "alert.resolved" and d["data"]["id"] == str(alert.id))
    await asyncio.sleep(0.3)
    assert len(a.named("device.health")) == 2 and len(b.named("device.health")) == 2
