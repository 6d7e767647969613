"""The authorisation matrix: every object endpoint, called by someone who must not reach it.

- an admin of another organisation gets 404 for everything of org A (reads and writes);
- staff get 404 for a senior (and its home and devices) they are not assigned to;
- guardians get 403 for every write, and 404 for anything not of their own relative.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from seniorsafe.deps import AppState
from tests.conftest import Org, make_org

# (method, path template, body); {senior}, {home}, {hub}, {sensor}, {robot}, {guardian}, {user} are org A's.
OBJECT_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/seniors/{senior}", None),
    ("PATCH", "/api/v1/seniors/{senior}", {"notes": "x"}),
    ("DELETE", "/api/v1/seniors/{senior}", None),
    ("GET", "/api/v1/seniors/{senior}/photo", None),
    ("DELETE", "/api/v1/seniors/{senior}/photo", None),
    ("GET", "/api/v1/seniors/{senior}/guardians", None),
    ("POST", "/api/v1/seniors/{senior}/guardians", {"name": "Intruder"}),
    ("PATCH", "/api/v1/seniors/{senior}/guardians/{guardian}", {"phone": "1"}),
    ("DELETE", "/api/v1/seniors/{senior}/guardians/{guardian}", None),
    ("GET", "/api/v1/seniors/{senior}/staff", None),
    ("PUT", "/api/v1/seniors/{senior}/staff/{user}", None),
    ("DELETE", "/api/v1/seniors/{senior}/staff/{user}", None),
    ("GET", "/api/v1/seniors/{senior}/home", None),
    ("POST", "/api/v1/seniors/{senior}/home", {}),
    ("GET", "/api/v1/homes/{home}", None),
    ("PATCH", "/api/v1/homes/{home}", {"address": "x"}),
    ("GET", "/api/v1/homes/{home}/hubs", None),
    ("POST", "/api/v1/homes/{home}/hubs", {"id": "intruder-hub", "name": "x"}),
    ("GET", "/api/v1/homes/{home}/sensors", None),
    ("GET", "/api/v1/homes/{home}/robots", None),
    ("POST", "/api/v1/homes/{home}/robots", {"id": "intruder-bot", "hub_id": "{hub}", "model": "m",
                                             "dock_room": "living"}),
    ("GET", "/api/v1/hubs/{hub}", None),
    ("PATCH", "/api/v1/hubs/{hub}", {"name": "x"}),
    ("POST", "/api/v1/hubs/{hub}/credential", None),
    ("POST", "/api/v1/hubs/{hub}/revoke", None),
    ("DELETE", "/api/v1/hubs/{hub}", None),
    ("POST", "/api/v1/hubs/{hub}/sensors", {"sensor_id": "x1", "kind": "motion", "room": "kitchen"}),
    ("GET", "/api/v1/sensors/{sensor}", None),
    ("PATCH", "/api/v1/sensors/{sensor}", {"label": "x"}),
    ("DELETE", "/api/v1/sensors/{sensor}", None),
    ("GET", "/api/v1/robots/{robot}", None),
    ("PATCH", "/api/v1/robots/{robot}", {"model": "x"}),
    ("POST", "/api/v1/robots/{robot}/credential", None),
    ("POST", "/api/v1/robots/{robot}/revoke", None),
    ("DELETE", "/api/v1/robots/{robot}", None),
    ("GET", "/api/v1/users/{user}", None),
    ("PATCH", "/api/v1/users/{user}", {"name": "x"}),
]


@pytest.fixture
async def world(client: httpx.AsyncClient, state: AppState) -> dict[str, Any]:
    a = await make_org(client, state, "MatrixA")
    b = await make_org(client, state, "MatrixB")
    auth = a.h(a.admin)
    senior = a.seniors[0]["id"]
    home = (await client.post(f"/api/v1/seniors/{a.seniors[1]['id']}/home", headers=auth, json={})).json()
    hub = f"mx-{uuid.uuid4().hex[:10]}"
    await client.post(f"/api/v1/homes/{home['id']}/hubs", headers=auth, json={"id": hub, "name": "h"})
    sensor = (await client.post(f"/api/v1/hubs/{hub}/sensors", headers=auth,
                                json={"sensor_id": "m1", "kind": "motion", "room": "living"})).json()
    robot = f"rb-{uuid.uuid4().hex[:10]}"
    await client.post(f"/api/v1/homes/{home['id']}/robots", headers=auth,
                      json={"id": robot, "hub_id": hub, "model": "m", "dock_room": "living"})
    guardian = (await client.get(f"/api/v1/seniors/{senior}/guardians", headers=auth)).json()[0]["id"]
    return {"a": a, "b": b, "ids": {"senior": senior, "home": home["id"], "hub": hub, "sensor": sensor["id"],
                                    "robot": robot, "guardian": guardian, "user": a.staff1["id"]},
            "home_senior": a.seniors[1]["id"]}


def _fill(template: Any, ids: dict[str, Any]) -> Any:
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, dict):
        return {k: _fill(v, ids) for k, v in template.items()}
    return template


async def _call(client: httpx.AsyncClient, who: dict[str, str], method: str, path: str,
                body: dict[str, Any] | None) -> httpx.Response:
    return await client.request(method, path, headers={"Authorization": f"Bearer {who['token']}"}, json=body)


async def test_other_organisation_admin_gets_404_everywhere(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    b: Org = world["b"]
    failures = []
    for method, template, body in OBJECT_ENDPOINTS:
        path = _fill(template, world["ids"])
        r = await _call(client, b.admin, method, path, _fill(body, world["ids"]))
        if r.status_code != 404:
            failures.append(f"{method} {template}: {r.status_code}")
    assert not failures, failures
    # Lists never include org A's objects.
    a: Org = world["a"]
    listed = (await _call(client, b.admin, "GET", "/api/v1/seniors", None)).json()["items"]
    assert not {s["id"] for s in listed} & {s["id"] for s in a.seniors}
    users = (await _call(client, b.admin, "GET", "/api/v1/users", None)).json()
    assert a.staff1["id"] not in {u["id"] for u in users}
    homes = (await _call(client, b.admin, "GET", "/api/v1/homes", None)).json()
    assert world["ids"]["home"] not in {h["id"] for h in homes}
    audit = (await _call(client, b.admin, "GET", "/api/v1/audit", None)).json()
    assert all(e["entity_id"] not in world["ids"].values() for e in audit)


async def test_unassigned_staff_gets_404_for_senior_home_and_devices(client: httpx.AsyncClient,
                                                                   world: dict[str, Any]) -> None:
    a: Org = world["a"]
    # staff2 is assigned to seniors[2] only; the home and devices belong to seniors[1] (staff1's).
    failures = []
    for method, template, body in OBJECT_ENDPOINTS:
        if "{user}" in template and template.startswith("/api/v1/users"):
            continue  # colleagues are visible within the organisation
        path = _fill(template, world["ids"])
        r = await _call(client, a.staff2, method, path, _fill(body, world["ids"]))
        if r.status_code not in (403, 404):
            failures.append(f"{method} {template}: {r.status_code}")
        if method == "GET" and r.status_code != 404:
            failures.append(f"{method} {template}: read gave {r.status_code}, expected 404")
    assert not failures, failures


async def test_guardian_cannot_write_and_sees_only_own_relative(client: httpx.AsyncClient,
                                                                world: dict[str, Any]) -> None:
    a: Org = world["a"]
    failures = []
    for method, template, body in OBJECT_ENDPOINTS:
        path = _fill(template, world["ids"])
        r = await _call(client, a.guardian, method, path, _fill(body, world["ids"]))
        if method != "GET" and r.status_code != 403:
            failures.append(f"{method} {template}: {r.status_code}, expected 403")
        own_senior_read = method == "GET" and template.startswith("/api/v1/seniors/{senior}")
        if method == "GET" and not own_senior_read and not template.startswith("/api/v1/users") \
                and r.status_code != 404:
            failures.append(f"{method} {template}: {r.status_code}, expected 404")
    assert not failures, failures
    r = await _call(client, a.guardian, "POST", "/api/v1/seniors", {"name": "x"})
    assert r.status_code == 403
    # Their own relative is readable, everyone else's is not.
    own = await _call(client, a.guardian, "GET", f"/api/v1/seniors/{world['ids']['senior']}", None)
    assert own.status_code == 200
    r = await _call(client, a.guardian, "GET", f"/api/v1/seniors/{world['home_senior']}", None)
    assert r.status_code == 404
    users = (await _call(client, a.guardian, "GET", "/api/v1/users", None)).json()
    assert [u["id"] for u in users] == [a.guardian["id"]]
