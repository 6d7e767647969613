"""HTTP ingest: hub authentication, validation into dead letters, idempotency, late events, query scoping."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from seniorsafe.deps import AppState
from tests.telemetry.conftest import HubFixture, ev

URL = "/api/v1/hub/events"


async def _count(state: AppState, sql: str, **params: object) -> int:
    async with state.db.sessions() as s:
        return int(await s.scalar(text(sql), params) or 0)


async def test_auth_required(client: httpx.AsyncClient, hub: HubFixture) -> None:
    assert (await client.post(URL, json=ev("bed", 1))).status_code == 401
    r = await client.post(URL, json=ev("bed", 1), auth=httpx.BasicAuth(hub.hub_id, "wrong"))
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(URL, json=ev("bed", 1), headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = await client.post(URL, json=ev("bed", 1), headers={"Authorization": f"Bearer {hub.secret}"})
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 1


async def test_revoked_hub_rejected(client: httpx.AsyncClient, hub: HubFixture) -> None:
    r = await client.post(f"/api/v1/hubs/{hub.hub_id}/revoke", headers=hub.org.h(hub.org.admin))
    assert r.status_code == 200, r.text
    assert (await client.post(URL, json=ev("bed", 1), auth=hub.basic())).status_code == 401


async def test_batch_stored_once_and_simultaneous_events_kept(client: httpx.AsyncClient, state: AppState,
                                                              hub: HubFixture) -> None:
    same = ev("pir-living", 1)
    batch = [same, {**ev("pir-kitchen", 2), "ts": same["ts"]}, {**ev("bed", 3, False), "ts": same["ts"]}]
    r = await client.post(URL, json=batch, auth=hub.basic())
    assert r.status_code == 200, r.text
    assert r.json() == {"stored": 3, "duplicates": 0, "late": 0, "rejected": []}
    r = await client.post(URL, json=batch, auth=hub.basic())  # a retry after a lost response
    assert r.json() == {"stored": 0, "duplicates": 3, "late": 0, "rejected": []}
    assert await _count(state, "SELECT count(*) FROM sensor_events WHERE hub_id = :h", h=hub.hub_id) == 3


async def test_every_bad_input_is_dead_lettered(client: httpx.AsyncClient, state: AppState, hub: HubFixture) -> None:
    batch = [
        ev("no-such-sensor", 1),
        {"sensor": "bed", "ts": "yesterday", "value": 1, "seq": 2},
        {"sensor": "bed", "value": 1, "seq": 3},
        ev("bed", 4, "on"),
        ev("bed", 5, 7),
        ev("tv", 6, -5),
        ev("bed", 7, ago=-3600),
        ev("bed", 8, ago=400 * 86400),
        ev("bed", 9, hub="someone-else"),
        ev("bed", -1),
        ev("bed", 10, battery=150),
        "not an object",
        ev("bed", 11),
    ]
    r = await client.post(URL, json=batch, auth=hub.basic())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stored"] == 1
    reasons = {x["index"]: x["reason"] for x in body["rejected"]}
    assert reasons == {0: "unknown_sensor", 1: "bad_schema", 2: "bad_schema", 3: "bad_schema", 4: "out_of_range",
                       5: "out_of_range", 6: "ts_future", 7: "ts_too_old", 8: "hub_mismatch", 9: "out_of_range",
                       10: "out_of_range", 11: "bad_schema"}
    r = await client.post(URL, content=b"{not json", auth=hub.basic(), headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["reason"] == "malformed_json"
    async with state.db.sessions() as s:
        rows = (await s.execute(text("SELECT reason, payload, transport FROM ingest_dead_letters WHERE hub_id = :h"),
                                {"h": hub.hub_id})).all()
    assert sorted(r.reason for r in rows) == sorted([*reasons.values(), "malformed_json"])
    assert b"{not json" in [r.payload for r in rows]
    assert orjson.loads(next(r.payload for r in rows if r.reason == "unknown_sensor"))["sensor"] == "no-such-sensor"
    metrics = await state.bus.redis.hgetall(state.bus.key("metrics", "ingest"))
    assert int(metrics[b"dead_letter.malformed_json"]) >= 1


async def test_late_event_does_not_touch_live_state(client: httpx.AsyncClient, state: AppState,
                                                    hub: HubFixture) -> None:
    pubsub = state.bus.redis.pubsub()
    await pubsub.subscribe(state.bus.key("pub", f"senior:{hub.senior_id}:activity"))
    await pubsub.get_message(timeout=1)
    r = await client.post(URL, json=ev("pir-living", 10, True, ago=1), auth=hub.basic())
    assert r.json()["stored"] == 1
    live = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
    assert live is not None and orjson.loads(live["data"])["seq"] == 10
    r = await client.post(URL, json=ev("pir-living", 5, False, ago=30), auth=hub.basic())  # older: late
    assert r.json() == {"stored": 1, "duplicates": 0, "late": 1, "rejected": []}
    assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5) is None
    await pubsub.aclose()
    r = await client.get(f"/api/v1/homes/{hub.home_id}/sensors/state", headers=hub.org.h(hub.org.admin))
    state_row = next(s for s in r.json() if s["sensor"] == "pir-living")
    assert state_row["value"] == 1.0
    cached = await state.bus.redis.hget(state.bus.key("state", "home", hub.home_id), "pir-living")
    assert orjson.loads(cached)["seq"] == 10
    entries = await state.bus.redis.xrange(state.bus.key("stream", "events"), count=100000)
    mine = [f for _, f in entries if f[b"hub"] == hub.hub_id.encode()]
    assert [(int(f[b"seq"]), f[b"late"]) for f in mine] == [(10, b"0"), (5, b"1")]
    assert await _count(state, "SELECT count(*) FROM sensor_events WHERE hub_id = :h AND late", h=hub.hub_id) == 1


async def test_query_scoping_and_pagination(client: httpx.AsyncClient, hub: HubFixture,
                                            other_hub: HubFixture) -> None:
    batch = [ev("pir-living" if i % 2 else "bed", i, i % 2 == 0, ago=300 - i) for i in range(1, 26)]
    assert (await client.post(URL, json=batch, auth=hub.basic())).json()["stored"] == 25
    admin = hub.org.h(hub.org.admin)
    seen, cursor = [], None
    while True:
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        r = await client.get(f"/api/v1/seniors/{hub.senior_id}/events", headers=admin, params=params)
        assert r.status_code == 200, r.text
        seen += [i["seq"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == list(range(25, 0, -1))
    r = await client.get(f"/api/v1/seniors/{hub.senior_id}/events", headers=admin, params={"sensor": "bed"})
    assert {i["sensor"] for i in r.json()["items"]} == {"bed"}
    r = await client.get(f"/api/v1/seniors/{hub.senior_id}/events", headers=admin, params={"room": "living"})
    assert {i["room"] for i in r.json()["items"]} == {"living"}
    r = await client.get(f"/api/v1/homes/{hub.home_id}/activity/hourly", headers=admin)
    assert r.status_code == 200 and sum(x["events"] for x in r.json()) >= 12, r.text
    other = other_hub.org.h(other_hub.org.admin)
    for path in (f"/api/v1/seniors/{hub.senior_id}/events", f"/api/v1/homes/{hub.home_id}/sensors/state",
                 f"/api/v1/homes/{hub.home_id}/activity/hourly", f"/api/v1/homes/{hub.home_id}/device-health"):
        assert (await client.get(path, headers=other)).status_code == 404, path
    staff2 = hub.org.h(hub.org.staff2)  # not assigned to senior 0
    assert (await client.get(f"/api/v1/seniors/{hub.senior_id}/events", headers=staff2)).status_code == 404
    guardian = hub.org.h(hub.org.guardian)  # linked to senior 0
    assert (await client.get(f"/api/v1/seniors/{hub.senior_id}/events", headers=guardian)).status_code == 200
    r = await client.get(f"/api/v1/homes/{hub.home_id}/device-health", headers=admin)
    assert r.status_code == 200 and r.json()["hubs"][0]["connectivity"] == "online", r.text


async def test_low_battery_recorded_and_published(client: httpx.AsyncClient, state: AppState,
                                                  hub: HubFixture) -> None:
    pubsub = state.bus.redis.pubsub()
    await pubsub.subscribe(state.bus.key("pub", f"org:{hub.org.id}:device_health"))
    await pubsub.get_message(timeout=1)
    r = await client.post(URL, json=[ev("door-front", 1, battery=80), ev("door-front", 2, battery=12)],
                          auth=hub.basic())
    assert r.json()["stored"] == 2
    kinds = []
    for _ in range(3):
        msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
        if msg:
            kinds.append(orjson.loads(msg["data"])["kind"])
    await pubsub.aclose()
    assert "low_battery" in kinds
    r = await client.get(f"/api/v1/homes/{hub.home_id}/device-health", headers=hub.org.h(hub.org.admin))
    assert any(e["kind"] == "low_battery" for e in r.json()["recent"])


async def test_concurrent_duplicates_stored_once(client: httpx.AsyncClient, state: AppState,
                                                 hub: HubFixture) -> None:
    batch = [ev("pir-kitchen", i, i % 2 == 0) for i in range(100, 160)]
    results = await asyncio.gather(*[client.post(URL, json=batch, auth=hub.basic()) for _ in range(4)])
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    assert sum(r.json()["stored"] for r in results) == 60
    assert await _count(state, "SELECT count(*) FROM sensor_events WHERE hub_id = :h", h=hub.hub_id) == 60
    assert str(uuid.UUID(hub.home_id))


async def test_concurrent_requests_share_commits_and_get_their_own_receipts(
        client: httpx.AsyncClient, app: Any, state: AppState, hub: HubFixture) -> None:
    base = 10_000
    warm_up = await client.post(URL, json=ev("bed", base - 1, ago=60), auth=hub.basic())
    assert warm_up.status_code == 200, warm_up.text
    before = app.state.telemetry_ingest.commits.transactions
    bodies: list[list[dict[str, object]]] = [[ev("pir-living", base + 2 * i), ev("bed", base + 2 * i + 1)]
                                             for i in range(15)]
    bodies.append([ev("pir-living", base + 100), ev("no-such-sensor", base + 101)])
    bodies.append(bodies[0])  # a retry of the first request: duplicates only
    replies = await asyncio.gather(*(client.post(URL, json=b, auth=hub.basic()) for b in bodies))
    receipts = [r.json() for r in replies]
    assert all(r.status_code == 200 for r in replies), receipts
    # Each request is told about its own events only, whatever batch they were committed in.
    for receipt in receipts[1:15]:
        assert receipt == {"stored": 2, "duplicates": 0, "late": 0, "rejected": []}
    assert receipts[15]["stored"] == 1 and [x["index"] for x in receipts[15]["rejected"]] == [1]
    assert receipts[15]["rejected"][0]["reason"] == "unknown_sensor"
    assert sorted([receipts[0]["stored"], receipts[16]["stored"]]) == [0, 2]
    assert receipts[0]["duplicates"] + receipts[16]["duplicates"] == 2
    count = await _count(state, "SELECT count(*) FROM sensor_events WHERE hub_id = :h AND seq >= :s",
                         h=hub.hub_id, s=base)
    assert count == 31
    transactions = app.state.telemetry_ingest.commits.transactions - before
    assert transactions < len(bodies), "requests in flight together must share transactions"


async def test_slight_reordering_stays_live(client: httpx.AsyncClient, state: AppState, hub: HubFixture) -> None:
    pubsub = state.bus.redis.pubsub()
    await pubsub.subscribe(state.bus.key("pub", f"senior:{hub.senior_id}:activity"))
    await pubsub.get_message(timeout=1)
    newer, older = ev("pir-kitchen", 20, True, ago=1), ev("pir-kitchen", 19, False, ago=3)
    assert (await client.post(URL, json=newer, auth=hub.basic())).json()["late"] == 0
    r = await client.post(URL, json=older, auth=hub.basic())  # committed after, 2 s older: reordering
    assert r.json() == {"stored": 1, "duplicates": 0, "late": 0, "rejected": []}
    seqs = []
    for _ in range(2):
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
        assert message is not None
        seqs.append(orjson.loads(message["data"])["seq"])
    await pubsub.aclose()
    assert seqs == [20, 19]
    cached = await state.bus.redis.hget(state.bus.key("state", "home", hub.home_id), "pir-kitchen")
    assert orjson.loads(cached)["seq"] == 20  # the live state did not go back
