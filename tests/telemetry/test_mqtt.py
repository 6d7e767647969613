"""MQTT over a real Mosquitto: per-hub ACLs, revocation, liveness (last will), loss-free ingest across kill -9."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import orjson
from sqlalchemy import text

from seniorsafe.config import Settings
from seniorsafe.deps import AppState
from seniorsafe.telemetry import dynsec
from tests.telemetry.conftest import HubClient, HubFixture, IngestProcess, ev, register_hub


async def _scalar(state: AppState, sql: str, **params: object) -> object:
    async with state.db.sessions() as s:
        return await s.scalar(text(sql), params)


async def _wait_for(state: AppState, sql: str, expected: object, within: float = 30.0, **params: object) -> object:
    value: object = None
    for _ in range(int(within * 10)):
        value = await _scalar(state, sql, **params)
        if value == expected:
            return value
        await asyncio.sleep(0.1)
    return value


def _topic(settings: Settings, hub_id: str, channel: str) -> str:
    return f"{settings.mqtt_topic_root}/hubs/{hub_id}/{channel}"


async def _mqtt_hub(client: httpx.AsyncClient, org: object, ingest: IngestProcess) -> HubFixture:
    fixture = await register_hub(client, org)  # type: ignore[arg-type]
    await dynsec.drain()
    return fixture


async def test_hub_cannot_touch_other_hubs_and_revocation_cuts_it_off(
        client: httpx.AsyncClient, state: AppState, mqtt_settings: Settings, broker: object,
        ingest: IngestProcess, tele_orgs: list) -> None:
    a = await _mqtt_hub(client, tele_orgs[0], ingest)
    b = await _mqtt_hub(client, tele_orgs[1], ingest)
    port = mqtt_settings.mqtt_port
    observer = HubClient(port, mqtt_settings.mqtt_username or "", mqtt_settings.mqtt_password or "")
    seen: list[str] = []
    observer.c.on_message = lambda c, u, m: seen.append(m.topic)
    observer.c.subscribe(f"{mqtt_settings.mqtt_topic_root}/hubs/+/events", qos=1)
    wrong = HubClient(port, a.hub_id, "not-the-secret")
    assert wrong.connack is not None and wrong.connack.is_failure
    wrong.close()
    hub_a = HubClient(port, a.hub_id, a.secret)
    assert hub_a.connected.is_set(), hub_a.connack
    denied = hub_a.publish(_topic(mqtt_settings, b.hub_id, "events"), orjson.dumps(ev("bed", 1)))
    assert denied is not None and denied.is_failure  # PUBACK 0x87 not authorised
    ok = hub_a.publish(_topic(mqtt_settings, a.hub_id, "events"), orjson.dumps(ev("bed", 1)))
    assert ok is not None and not ok.is_failure
    hub_a.c.subscribe(_topic(mqtt_settings, b.hub_id, "#"), qos=1)
    hub_a.c.subscribe(f"$share/x/{mqtt_settings.mqtt_topic_root}/hubs/+/events", qos=1)
    await asyncio.sleep(0.5)
    assert len(hub_a.subacks) == 2 and all(rc.is_failure for rc in hub_a.subacks)
    assert await _wait_for(state, "SELECT count(*) FROM sensor_events WHERE hub_id = :h", 1, h=a.hub_id) == 1
    assert await _scalar(state, "SELECT count(*) FROM sensor_events WHERE hub_id = :h", h=b.hub_id) == 0
    assert _topic(mqtt_settings, b.hub_id, "events") not in seen
    r = await client.post(f"/api/v1/hubs/{a.hub_id}/revoke", headers=a.org.h(a.org.admin))
    assert r.status_code == 200
    await dynsec.drain()
    assert await asyncio.to_thread(hub_a.disconnected.wait, 5), "a revoked hub must be disconnected"
    hub_a.close()
    again = HubClient(port, a.hub_id, a.secret)
    assert again.connack is not None and again.connack.is_failure
    again.close()
    r = await client.post(f"/api/v1/hubs/{a.hub_id}/credential", headers=a.org.h(a.org.admin))
    await dynsec.drain()
    rotated = HubClient(port, a.hub_id, r.json()["secret"])
    assert rotated.connected.is_set()
    rotated.close()
    observer.close()


async def test_last_will_marks_hub_offline(client: httpx.AsyncClient, state: AppState, mqtt_settings: Settings,
                                           ingest: IngestProcess, tele_orgs: list) -> None:
    h = await _mqtt_hub(client, tele_orgs[0], ingest)
    pubsub = state.bus.redis.pubsub()
    await pubsub.subscribe(state.bus.key("pub", f"org:{h.org.id}:device_health"))
    will = _topic(mqtt_settings, h.hub_id, "state")
    hub = HubClient(mqtt_settings.mqtt_port, h.hub_id, h.secret, will_topic=will)
    hub.publish(will, b'{"state": "online"}', retain=True)
    assert await _wait_for(state, "SELECT connectivity::text FROM hubs WHERE id = :h", "online", h=h.hub_id) == "online"
    hub.c.socket().close()  # the network drops: no DISCONNECT, the broker publishes the last will
    assert await _wait_for(state, "SELECT connectivity::text FROM hubs WHERE id = :h", "offline", within=20,
                           h=h.hub_id) == "offline"
    hub.c.loop_stop()
    assert await _scalar(state, "SELECT count(*) FROM device_health_events WHERE hub_id = :h AND kind = 'hub_offline'",
                         h=h.hub_id) == 1
    kinds = []
    for _ in range(5):
        msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
        if msg:
            kinds.append(orjson.loads(msg["data"])["kind"])
            if "hub_offline" in kinds:
                break
    await pubsub.aclose()
    assert "hub_offline" in kinds


async def test_mqtt_bad_input_dead_lettered(client: httpx.AsyncClient, state: AppState, mqtt_settings: Settings,
                                            ingest: IngestProcess, tele_orgs: list) -> None:
    h = await _mqtt_hub(client, tele_orgs[0], ingest)
    hub = HubClient(mqtt_settings.mqtt_port, h.hub_id, h.secret)
    topic = _topic(mqtt_settings, h.hub_id, "events")
    for payload in (b"{oops", b"[]", orjson.dumps(ev("ghost", 1)), orjson.dumps(ev("bed", 2, 3)),
                    orjson.dumps([ev("bed", 3), ev("bed", 4, ago=-7200)])):
        hub.publish(topic, payload)
    hub.close()
    sql = "SELECT string_agg(reason, ',' ORDER BY reason) FROM ingest_dead_letters WHERE hub_id = :h"
    expected = "bad_schema,malformed_json,out_of_range,ts_future,unknown_sensor"
    assert await _wait_for(state, sql, expected, h=h.hub_id) == expected
    assert await _scalar(state, "SELECT count(*) FROM sensor_events WHERE hub_id = :h", h=h.hub_id) == 1
    topics = await _scalar(state, "SELECT count(DISTINCT topic) FROM ingest_dead_letters WHERE hub_id = :h",
                           h=h.hub_id)
    assert topics == 1


async def test_no_loss_across_ingest_kill_9(client: httpx.AsyncClient, state: AppState, mqtt_settings: Settings,
                                            ingest: IngestProcess, tele_orgs: list) -> None:
    h = await _mqtt_hub(client, tele_orgs[0], ingest)
    total = 3000
    hub = HubClient(mqtt_settings.mqtt_port, h.hub_id, h.secret)
    topic = _topic(mqtt_settings, h.hub_id, "events")
    published = threading.Event()

    def publish_all() -> None:
        infos = []
        for seq in range(1, total + 1):
            sensor = ("pir-living", "pir-kitchen", "bed", "door-front")[seq % 4]
            infos.append(hub.publish(topic, orjson.dumps(ev(sensor, seq, seq % 2 == 0)), wait=False))
            if seq % 200 == 0:
                time.sleep(0.05)
        for info in infos:
            info.wait_for_publish(60)
        published.set()

    publisher = threading.Thread(target=publish_all)
    publisher.start()
    count_sql = "SELECT count(*) FROM sensor_events WHERE hub_id = :h"
    for _ in range(1000):
        if int(await _scalar(state, count_sql, h=h.hub_id) or 0) >= 300:  # type: ignore[call-overload]
            break
        await asyncio.sleep(0.02)
    ingest.kill()  # mid-stream, with messages in flight and unacknowledged
    killed_at = await _scalar(state, count_sql, h=h.hub_id)
    await asyncio.sleep(1.0)  # the hub keeps publishing while ingest is down
    ingest.start()
    publisher.join(60)
    assert published.is_set()
    hub.close()
    assert await _wait_for(state, count_sql, total, within=60, h=h.hub_id) == total, f"killed at {killed_at}"
    assert 0 < int(killed_at) < total  # type: ignore[call-overload]
    assert await _scalar(state, "SELECT count(DISTINCT seq) FROM sensor_events WHERE hub_id = :h", h=h.hub_id) == total
    seqs: set[int] = set()
    for _ in range(50):  # the stream append follows the commit by a few ms
        entries = await state.bus.redis.xrange(state.bus.key("stream", "events"), count=10_000_000)
        seqs = {int(f[b"seq"]) for _, f in entries if f[b"hub"] == h.hub_id.encode()}
        if len(seqs) == total:
            break
        await asyncio.sleep(0.1)
    assert seqs == set(range(1, total + 1))  # every committed event reached the stream (dupes marked)
