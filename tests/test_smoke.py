from __future__ import annotations

import httpx

from tests.conftest import Org


async def test_health(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_org_fixture(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.get("/api/v1/seniors", headers=org.h(org.admin))
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 3
