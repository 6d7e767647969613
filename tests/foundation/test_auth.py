"""Sign-in, token rotation and reuse detection, logout, password change, deactivation, rate limits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from seniorsafe.accounts.models import Role, User
from seniorsafe.accounts.security import Principal, issue_access_token
from seniorsafe.audit.models import AuditEntry
from seniorsafe.deps import AppState
from tests.conftest import PASSWORD, Org, login, unique_email


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_returns_short_lived_access_and_opaque_refresh(client: httpx.AsyncClient, org: Org,
                                                                   state: AppState) -> None:
    tokens = await login(client, org.staff1["email"])
    assert tokens["token_type"] == "bearer"
    assert 60 <= tokens["expires_in"] <= 20 * 60
    assert tokens["refresh_token"].count(".") == 0  # opaque, not a JWT
    me = await client.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == org.staff1["email"]
    async with state.db.sessions() as session:
        user = await session.scalar(select(User).where(User.email == org.staff1["email"]))
        assert user is not None and user.password_hash.startswith("$argon2id$")


async def test_wrong_password_is_a_problem_and_audited(client: httpx.AsyncClient, org: Org, state: AppState) -> None:
    r = await client.post("/api/v1/auth/login", json={"email": org.staff2["email"], "password": "wrong-password"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["title"] == "Unauthorized"
    async with state.db.sessions() as session:
        failed = await session.scalar(select(AuditEntry).where(AuditEntry.action == "login.failed",
                                                               AuditEntry.entity_id == org.staff2["id"]))
        assert failed is not None and failed.ip == "10.1.2.3"


async def test_login_rate_limited_per_account(client: httpx.AsyncClient, org: Org) -> None:
    email = org.guardian["email"]
    for _ in range(5):
        r = await client.post("/api/v1/auth/login", json={"email": email, "password": "nope-nope-nope"})
        assert r.status_code == 401
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0


async def test_login_rate_limited_per_ip(client: httpx.AsyncClient, state: AppState) -> None:
    limit = state.settings.login_ip_max_attempts
    await state.bus.redis.set(state.bus.key("rl", "login:ip:10.1.2.3"), limit)
    try:
        r = await client.post("/api/v1/auth/login", json={"email": unique_email("x"), "password": "whatever-1"})
        assert r.status_code == 429
    finally:
        await state.bus.clear_counter("login:ip:10.1.2.3")


async def test_refresh_rotates_and_reuse_revokes_family(client: httpx.AsyncClient, org: Org) -> None:
    first = await login(client, org.staff1["email"])
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/api/v1/me", headers=bearer(second["access_token"]))).status_code == 200
    # Presenting the used token again: treated as theft, the whole family dies.
    reuse = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert (await client.post("/api/v1/auth/refresh",
                              json={"refresh_token": second["refresh_token"]})).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(second["access_token"]))).status_code == 401
    # Another sign-in of the same user is unaffected.
    assert (await client.get("/api/v1/me", headers=org.h(org.staff1))).status_code == 200


async def test_refresh_with_httponly_cookie(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.post("/api/v1/auth/login", json={"email": org.staff2["email"], "password": PASSWORD})
    cookie = r.cookies.get("ss_refresh")
    assert cookie == r.json()["refresh_token"]
    assert "httponly" in r.headers["set-cookie"].lower()
    client.cookies.set("ss_refresh", cookie)
    r2 = await client.post("/api/v1/auth/refresh")
    client.cookies.clear()
    assert r2.status_code == 200 and r2.json()["refresh_token"] != cookie


async def test_logout_revokes_access_and_refresh(client: httpx.AsyncClient, org: Org) -> None:
    tokens = await login(client, org.staff2["email"])
    r = await client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
    assert r.status_code == 204
    assert (await client.get("/api/v1/me", headers=bearer(tokens["access_token"]))).status_code == 401
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401


async def test_logout_everywhere(client: httpx.AsyncClient, org: Org) -> None:
    a = await login(client, org.staff1["email"])
    b = await login(client, org.staff1["email"])
    r = await client.post("/api/v1/auth/logout?everywhere=true", headers=bearer(a["access_token"]))
    assert r.status_code == 204
    assert (await client.get("/api/v1/me", headers=bearer(b["access_token"]))).status_code == 401


async def test_expired_and_forged_access_tokens_refused(client: httpx.AsyncClient, org: Org, state: AppState) -> None:
    principal = Principal(uuid.UUID(org.staff1["id"]), uuid.UUID(org.id), Role.staff, uuid.uuid4())
    old, _ = issue_access_token(state.settings, principal, now=datetime.now(UTC) - timedelta(hours=1))
    r = await client.get("/api/v1/me", headers=bearer(old))
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    forged = old[:-4] + ("AAAA" if not old.endswith("AAAA") else "BBBB")
    assert (await client.get("/api/v1/me", headers=bearer(forged))).status_code == 401
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_password_change(client: httpx.AsyncClient, org: Org) -> None:
    keep = await login(client, org.staff2["email"])
    other = await login(client, org.staff2["email"])
    r = await client.post("/api/v1/me/password", headers=bearer(keep["access_token"]),
                          json={"current_password": "not-the-password", "new_password": "a-new-password-42"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "current_password"
    r = await client.post("/api/v1/me/password", headers=bearer(keep["access_token"]),
                          json={"current_password": PASSWORD, "new_password": "a-new-password-42"})
    assert r.status_code == 204
    assert (await client.get("/api/v1/me", headers=bearer(keep["access_token"]))).status_code == 200
    assert (await client.get("/api/v1/me", headers=bearer(other["access_token"]))).status_code == 401
    bad = await client.post("/api/v1/auth/login", json={"email": org.staff2["email"], "password": PASSWORD})
    assert bad.status_code == 401
    await login(client, org.staff2["email"], "a-new-password-42")


async def test_deactivation_cuts_off_and_blocks_login(client: httpx.AsyncClient, org: Org) -> None:
    staff = await login(client, org.staff1["email"])
    r = await client.patch(f"/api/v1/users/{org.staff1['id']}", headers=org.h(org.admin), json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert (await client.get("/api/v1/me", headers=bearer(staff["access_token"]))).status_code == 401
    assert (await client.post("/api/v1/auth/refresh",
                              json={"refresh_token": staff["refresh_token"]})).status_code == 401
    r = await client.post("/api/v1/auth/login", json={"email": org.staff1["email"], "password": PASSWORD})
    assert r.status_code == 401
    await client.patch(f"/api/v1/users/{org.staff1['id']}", headers=org.h(org.admin), json={"is_active": True})
    await login(client, org.staff1["email"])


async def test_admin_cannot_deactivate_self(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.patch(f"/api/v1/users/{org.admin['id']}", headers=org.h(org.admin), json={"is_active": False})
    assert r.status_code == 403


async def test_no_self_registration_only_admins_create_users(client: httpx.AsyncClient, org: Org) -> None:
    body = {"email": unique_email("new"), "name": "New", "role": "staff"}
    assert (await client.post("/api/v1/users", json=body)).status_code == 401
    assert (await client.post("/api/v1/users", headers=org.h(org.staff1), json=body)).status_code == 403
    assert (await client.post("/api/v1/users", headers=org.h(org.guardian), json=body)).status_code == 403
    r = await client.post("/api/v1/users", headers=org.h(org.admin), json=body)
    assert r.status_code == 201
    generated = r.json()["initial_password"]
    assert generated and len(generated) >= 12
    await login(client, body["email"], generated)
    dup = await client.post("/api/v1/users", headers=org.h(org.admin), json={**body, "email": body["email"].upper()})
    assert dup.status_code == 409


async def test_audit_log_lists_logins_and_changes(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.get("/api/v1/audit", headers=org.h(org.admin))
    assert r.status_code == 200
    actions = {e["action"] for e in r.json()}
    assert {"login", "user.created", "senior.created", "guardian.created"} <= actions
    assert (await client.get("/api/v1/audit", headers=org.h(org.staff1))).status_code == 403
