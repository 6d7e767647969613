"""Homes, hubs (credential once, rotate, revoke, never moved), sensors and robots."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from seniorsafe.deps import AppState
from seniorsafe.homes.service import verify_hub_credential, verify_robot_credential
from tests.conftest import Org


async def make_home(client: httpx.AsyncClient, org: Org, senior: int = 0) -> dict[str, Any]:
    r = await client.post(f"/api/v1/seniors/{org.seniors[senior]['id']}/home", headers=org.h(org.admin),
                          json={"address": "1 Test Road", "timezone": "Asia/Seoul"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def hub_id() -> str:
    return f"hub-{uuid.uuid4().hex[:12]}"


async def test_home_lifecycle(client: httpx.AsyncClient, org: Org) -> None:
    home = await make_home(client, org)
    assert home["rooms"] and home["timezone"] == "Asia/Seoul"
    again = await client.post(f"/api/v1/seniors/{org.seniors[0]['id']}/home", headers=org.h(org.admin), json={})
    assert again.status_code == 409
    bad = await client.patch(f"/api/v1/homes/{home['id']}", headers=org.h(org.admin), json={"timezone": "Mars/Base"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "timezone"
    ok = await client.patch(f"/api/v1/homes/{home['id']}", headers=org.h(org.admin),
                            json={"timezone": "Europe/Paris", "rooms": ["bedroom", "kitchen"]})
    assert ok.json()["timezone"] == "Europe/Paris" and ok.json()["rooms"] == ["bedroom", "kitchen"]
    assert (await client.get(f"/api/v1/seniors/{org.seniors[0]['id']}/home",
                             headers=org.h(org.guardian))).json()["id"] == home["id"]


async def test_hub_credential_shown_once_rotates_and_revokes(client: httpx.AsyncClient, org: Org,
                                                             state: AppState) -> None:
    home = await make_home(client, org)
    hid = hub_id()
    r = await client.post(f"/api/v1/homes/{home['id']}/hubs", headers=org.h(org.admin), json={"id": hid, "name": "H"})
    assert r.status_code == 201, r.text
    secret = r.json()["credential"]["secret"]
    assert r.json()["credential"]["mqtt_username"] == hid
    got = await client.get(f"/api/v1/hubs/{hid}", headers=org.h(org.admin))
    assert "credential" not in got.json() and secret not in got.text
    async with state.db.sessions() as session:
        assert await verify_hub_credential(session, hid, secret) is not None
        assert await verify_hub_credential(session, hid, secret + "x") is None
    rotated = (await client.post(f"/api/v1/hubs/{hid}/credential", headers=org.h(org.admin))).json()["secret"]
    async with state.db.sessions() as session:
        assert await verify_hub_credential(session, hid, secret) is None
        assert await verify_hub_credential(session, hid, rotated) is not None
    assert (await client.post(f"/api/v1/hubs/{hid}/revoke", headers=org.h(org.admin))).json()["status"] == "revoked"
    async with state.db.sessions() as session:
        assert await verify_hub_credential(session, hid, rotated) is None


async def test_registering_a_hub_never_moves_it(client: httpx.AsyncClient, org: Org, other_org: Org) -> None:
    home_a = await make_home(client, org, 0)
    home_b = await make_home(client, other_org, 0)
    home_a2 = await make_home(client, org, 1)
    hid = hub_id()
    assert (await client.post(f"/api/v1/homes/{home_a['id']}/hubs", headers=org.h(org.admin),
                              json={"id": hid, "name": "A"})).status_code == 201
    for home, who in ((home_b, other_org), (home_a2, org)):
        r = await client.post(f"/api/v1/homes/{home['id']}/hubs", headers=who.h(who.admin),
                              json={"id": hid, "name": "steal"})
        assert r.status_code == 409
    assert (await client.get(f"/api/v1/hubs/{hid}", headers=org.h(org.admin))).json()["home_id"] == home_a["id"]


async def test_sensors_and_robots(client: httpx.AsyncClient, org: Org, state: AppState) -> None:
    home = await make_home(client, org)
    hid = hub_id()
    await client.post(f"/api/v1/homes/{home['id']}/hubs", headers=org.h(org.admin), json={"id": hid, "name": "H"})
    kinds = ["motion", "door", "contact", "presence", "power", "light", "flush", "button", "smoke", "gas",
             "water_leak", "temperature"]
    for i, kind in enumerate(kinds):
        r = await client.post(f"/api/v1/hubs/{hid}/sensors", headers=org.h(org.admin),
                              json={"sensor_id": f"s{i}", "kind": kind, "room": "kitchen", "label": kind})
        assert r.status_code == 201, r.text
    dup = await client.post(f"/api/v1/hubs/{hid}/sensors", headers=org.h(org.admin),
                            json={"sensor_id": "s0", "kind": "motion", "room": "kitchen"})
    assert dup.status_code == 409
    bad = await client.post(f"/api/v1/hubs/{hid}/sensors", headers=org.h(org.admin),
                            json={"sensor_id": "s99", "kind": "laser", "room": "kitchen"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "kind"
    sensors = (await client.get(f"/api/v1/homes/{home['id']}/sensors", headers=org.h(org.staff1))).json()
    assert {s["kind"] for s in sensors} == set(kinds)
    pk = sensors[0]["id"]
    r = await client.patch(f"/api/v1/sensors/{pk}", headers=org.h(org.admin), json={"room": "bathroom"})
    assert r.json()["room"] == "bathroom"
    assert (await client.delete(f"/api/v1/sensors/{pk}", headers=org.h(org.admin))).status_code == 204

    rid = f"robot-{uuid.uuid4().hex[:8]}"
    r = await client.post(f"/api/v1/homes/{home['id']}/robots", headers=org.h(org.admin),
                          json={"id": rid, "hub_id": hid, "model": "SafeBot 1", "dock_room": "living"})
    assert r.status_code == 201, r.text
    secret = r.json()["credential"]["secret"]
    async with state.db.sessions() as session:
        assert await verify_robot_credential(session, rid, secret) is not None
    other_hub = await client.post(f"/api/v1/homes/{home['id']}/robots", headers=org.h(org.admin),
                                  json={"id": rid + "x", "hub_id": "no-such-hub", "model": "m", "dock_room": "living"})
    assert other_hub.status_code == 422
    robots = (await client.get(f"/api/v1/homes/{home['id']}/robots", headers=org.h(org.staff1))).json()
    assert [x["id"] for x in robots] == [rid]
    assert (await client.delete(f"/api/v1/hubs/{hid}", headers=org.h(org.admin))).status_code == 204
    assert (await client.get(f"/api/v1/robots/{rid}", headers=org.h(org.admin))).status_code == 404
