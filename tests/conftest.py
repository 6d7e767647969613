"""Shared fixtures: a uniquely named PostgreSQL database and Redis key prefix per test run."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from seniorsafe.app import build_state, create_app
from seniorsafe.config import Settings
from seniorsafe.deps import AppState
from seniorsafe.migrate import upgrade

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct-horse-battery"


def _database_url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return base.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"


@pytest.fixture(scope="session")
def run_id() -> str:
    return f"{os.getpid()}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def database_url(run_id: str) -> Iterator[str]:
    name = f"ss_test_{run_id}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _database_url(name)
    upgrade(url)
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def settings(database_url: str, run_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    prefix = f"sstest:{run_id}:"
    yield Settings(
        environment="test", database_url=database_url, redis_url=REDIS_URL, redis_prefix=prefix,
        storage_dir=Path(tmp_path_factory.mktemp("objects")), jwt_secret="test-secret-" + uuid.uuid4().hex,
        login_max_attempts=5, login_ip_max_attempts=1000,
    )
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="session")
async def state(settings: Settings) -> AsyncIterator[AppState]:
    st = build_state(settings)
    yield st
    await st.bus.close()
    await st.db.dispose()


@pytest.fixture(scope="session")
async def app(settings: Settings, state: AppState) -> Any:
    application = create_app(settings)
    application.state.services = state
    return application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@dataclass
class Org:
    """An organisation built through the real API: admin, two staff, a guardian, three seniors."""

    id: str
    admin: dict[str, str]
    staff1: dict[str, str]
    staff2: dict[str, str]
    guardian: dict[str, str]
    seniors: list[dict[str, Any]] = field(default_factory=list)

    def h(self, who: dict[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {who['token']}"}


def unique_email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.org"


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def make_org(client: httpx.AsyncClient, state: AppState, name: str = "Org") -> Org:
    from seniorsafe.accounts.service import create_organisation_with_admin

    admin_email = unique_email("admin")
    async with state.db.sessions() as session:
        org, admin = await create_organisation_with_admin(session, f"{name} {uuid.uuid4().hex[:6]}", admin_email,
                                                          "Admin", PASSWORD)
    admin_tokens = await login(client, admin_email)
    people: dict[str, dict[str, str]] = {"admin": {"id": str(admin.id), "email": admin_email,
                                                   "token": admin_tokens["access_token"]}}
    auth = {"Authorization": f"Bearer {admin_tokens['access_token']}"}
    for key, role in (("staff1", "staff"), ("staff2", "staff"), ("guardian", "guardian")):
        email = unique_email(key)
        r = await client.post("/api/v1/users", headers=auth,
                              json={"email": email, "name": key, "role": role, "password": PASSWORD})
        assert r.status_code == 201, r.text
        tokens = await login(client, email)
        people[key] = {"id": r.json()["id"], "email": email, "token": tokens["access_token"]}
    result = Org(id=str(org.id), **people)
    for i, staff in enumerate(("staff1", "staff1", "staff2")):
        r = await client.post("/api/v1/seniors", headers=auth, json={
            "name": f"Senior {i} {name}", "birth_date": "1940-01-0" + str(i + 1), "sex": "female",
            "staff_ids": [people[staff]["id"]], "health_conditions": ["hypertension"],
        })
        assert r.status_code == 201, r.text
        result.seniors.append(r.json())
    r = await client.post(f"/api/v1/seniors/{result.seniors[0]['id']}/guardians", headers=auth, json={
        "name": "Daughter", "relation": "daughter", "phone": "010-1234-5678", "user_id": people["guardian"]["id"]})
    assert r.status_code == 201, r.text
    return result


@pytest.fixture
async def org(client: httpx.AsyncClient, state: AppState) -> Org:
    return await make_org(client, state, "A")


@pytest.fixture
async def other_org(client: httpx.AsyncClient, state: AppState) -> Org:
    return await make_org(client, state, "B")
