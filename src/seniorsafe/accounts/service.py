"""Accounts: organisations, users, login, token rotation, password changes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.models import Organisation, RefreshToken, Role, User
from seniorsafe.accounts.schemas import TokenPair, UserCreate, UserUpdate
from seniorsafe.accounts.security import (
    Principal,
    hash_password,
    issue_access_token,
    needs_rehash,
    new_opaque_token,
    token_digest,
    verify_password,
)
from seniorsafe.audit.service import record
from seniorsafe.bus import Bus
from seniorsafe.config import Settings
from seniorsafe.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized


@dataclass
class ClientInfo:
    ip: str | None = None
    user_agent: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- login and tokens


async def _check_login_rate(bus: Bus, settings: Settings, email: str, ip: str | None) -> None:
    account_hits = await bus.counter_value(f"login:acct:{email}")
    ip_hits = await bus.counter_value(f"login:ip:{ip}") if ip else 0
    if account_hits >= settings.login_max_attempts or ip_hits >= settings.login_ip_max_attempts:
        raise TooManyRequests(
            "too many failed sign-in attempts; try again later",
            headers={"Retry-After": str(settings.login_window_seconds)},
        )


async def _count_failed_login(bus: Bus, settings: Settings, email: str, ip: str | None) -> None:
    await bus.hit_counter(f"login:acct:{email}", settings.login_window_seconds)
    if ip:
        await bus.hit_counter(f"login:ip:{ip}", settings.login_window_seconds)


async def login(
    session: AsyncSession, bus: Bus, settings: Settings, email: str, password: str, client: ClientInfo
) -> TokenPair:
    email = email.strip().lower()
    await _check_login_rate(bus, settings, email, client.ip)
    user = await session.scalar(select(User).where(User.email == email))
    if user is None or not verify_password(user.password_hash, password) or not user.is_active:
        await _count_failed_login(bus, settings, email, client.ip)
        record(session, action="login.failed", entity="user", entity_id=user.id if user else None,
               org_id=user.org_id if user else None, ip=client.ip, email=email)
        await session.commit()
        raise Unauthorized("email or password is wrong, or the account is deactivated")
    await bus.clear_counter(f"login:acct:{email}")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = _now()
    pair = await _start_family(session, settings, user, client)
    record(session, action="login", entity="user", entity_id=user.id, org_id=user.org_id, actor_id=user.id,
           ip=client.ip)
    await session.commit()
    return pair


async def _start_family(session: AsyncSession, settings: Settings, user: User, client: ClientInfo) -> TokenPair:
    return await _issue_pair(session, settings, user, uuid.uuid4(), client)


async def _issue_pair(
    session: AsyncSession, settings: Settings, user: User, family_id: uuid.UUID, client: ClientInfo
) -> TokenPair:
    refresh = new_opaque_token()
    lifetime = timedelta(days=settings.refresh_token_days)
    session.add(RefreshToken(
        user_id=user.id, family_id=family_id, token_hash=token_digest(refresh), expires_at=_now() + lifetime,
        user_agent=(client.user_agent or "")[:300] or None, ip=client.ip,
    ))
    principal = Principal(user.id, user.org_id, user.role, family_id)
    access, expires_in = issue_access_token(settings, principal)
    return TokenPair(access_token=access, expires_in=expires_in, refresh_token=refresh,
                     refresh_expires_in=int(lifetime.total_seconds()))


async def refresh(
    session: AsyncSession, bus: Bus, settings: Settings, refresh_token: str, client: ClientInfo
) -> TokenPair:
    """Rotate: the presented token is used up and a new one issued in the same family.

    Presenting a token that was already used means it leaked: the whole family is revoked.
    """
    token = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_digest(refresh_token)).with_for_update()
    )
    if token is None:
        raise Unauthorized("unknown refresh token")
    if token.used_at is not None or token.revoked_at is not None:
        await revoke_family(session, bus, settings, token.family_id)
        user = await session.get(User, token.user_id)
        record(session, action="token.reuse_detected", entity="user", entity_id=token.user_id,
               org_id=user.org_id if user else None, ip=client.ip, family=token.family_id)
        await session.commit()
        raise Unauthorized("refresh token was already used; every session of this sign-in is now revoked")
    if token.expires_at <= _now():
        raise Unauthorized("refresh token expired; sign in again")
    user = await session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("the account is deactivated")
    token.used_at = _now()
    pair = await _issue_pair(session, settings, user, token.family_id, client)
    await session.commit()
    return pair


async def revoke_family(session: AsyncSession, bus: Bus, settings: Settings, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken).where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )
    await bus.mark_revoked("session", str(family_id), settings.access_token_minutes * 60 + 60)


async def revoke_all_sessions(
    session: AsyncSession, bus: Bus, settings: Settings, user_id: uuid.UUID, keep: uuid.UUID | None = None
) -> int:
    families = set(await session.scalars(
        select(RefreshToken.family_id).where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
    ))
    if keep is not None:
        families.discard(keep)
    for family in families:
        await revoke_family(session, bus, settings, family)
    return len(families)


async def logout(session: AsyncSession, bus: Bus, settings: Settings, principal: Principal, everywhere: bool,
                 client: ClientInfo) -> None:
    if everywhere:
        await revoke_all_sessions(session, bus, settings, principal.user_id)
    else:
        await revoke_family(session, bus, settings, principal.session_id)
    record(session, action="logout", entity="user", entity_id=principal.user_id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=client.ip, everywhere=everywhere)
    await session.commit()


async def change_password(
    session: AsyncSession, bus: Bus, settings: Settings, principal: Principal, current: str, new: str,
    client: ClientInfo,
) -> None:
    user = await session.get(User, principal.user_id)
    if user is None:
        raise NotFound("user not found")
    if not verify_password(user.password_hash, current):
        raise Invalid("current password is wrong", extra={"errors": [{"field": "current_password",
                                                                      "message": "wrong password"}]})
    if current == new:
        raise Invalid("the new password must differ from the current one")
    user.password_hash = hash_password(new)
    user.password_changed_at = _now()
    await revoke_all_sessions(session, bus, settings, user.id, keep=principal.session_id)
    record(session, action="user.password_changed", entity="user", entity_id=user.id, org_id=user.org_id,
           actor_id=user.id, ip=client.ip)
    await session.commit()


# ---------------------------------------------------------------- organisations and users


async def create_organisation_with_admin(
    session: AsyncSession, org_name: str, email: str, name: str, password: str
) -> tuple[Organisation, User]:
    if await session.scalar(select(User.id).where(User.email == email.lower())):
        raise Conflict(f"a user with email {email} already exists")
    org = Organisation(name=org_name, settings={})
    session.add(org)
    await session.flush()
    admin = User(org_id=org.id, email=email.lower(), name=name, role=Role.admin,
                 password_hash=hash_password(password), is_active=True)
    session.add(admin)
    await session.flush()
    record(session, action="organisation.created", entity="organisation", entity_id=org.id, org_id=org.id)
    record(session, action="user.created", entity="user", entity_id=admin.id, org_id=org.id, role="admin")
    await session.commit()
    return org, admin


async def get_organisation(session: AsyncSession, principal: Principal, *, for_update: bool = False) -> Organisation:
    org = await session.get(Organisation, principal.org_id, with_for_update=for_update)
    if org is None:
        raise NotFound("organisation not found")
    return org


async def update_organisation(session: AsyncSession, principal: Principal, name: str | None,
                              phone: str | None) -> Organisation:
    org = await get_organisation(session, principal)
    if name is not None:
        org.name = name
    if phone is not None:
        org.phone = phone
    record(session, action="organisation.updated", entity="organisation", entity_id=org.id, org_id=org.id,
           actor_id=principal.user_id)
    await session.commit()
    return org


def _visible_users(principal: Principal):  # type: ignore[no-untyped-def]
    query = select(User).where(User.org_id == principal.org_id)
    if principal.is_guardian:
        query = query.where(User.id == principal.user_id)
    return query


async def list_users(session: AsyncSession, principal: Principal, role: Role | None = None) -> list[User]:
    query = _visible_users(principal)
    if role is not None:
        query = query.where(User.role == role)
    return list(await session.scalars(query.order_by(User.name, User.id)))


async def get_user(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> User:
    user = await session.scalar(_visible_users(principal).where(User.id == user_id))
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


async def create_user(session: AsyncSession, principal: Principal, data: UserCreate,
                      client: ClientInfo) -> tuple[User, str | None]:
    email = data.email.lower()
    if await session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"a user with email {email} already exists")
    generated = None if data.password else new_opaque_token(12)
    user = User(org_id=principal.org_id, email=email, name=data.name, phone=data.phone, role=data.role,
                password_hash=hash_password(data.password or generated or ""), is_active=True)
    session.add(user)
    await session.flush()
    record(session, action="user.created", entity="user", entity_id=user.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=client.ip, role=data.role.value)
    await session.commit()
    return user, generated


async def update_user(session: AsyncSession, bus: Bus, settings: Settings, principal: Principal,
                      user_id: uuid.UUID, data: UserUpdate, client: ClientInfo) -> User:
    user = await get_user(session, principal, user_id)
    changes = data.model_dump(exclude_unset=True)
    if user.id == principal.user_id and (changes.get("is_active") is False or
                                         changes.get("role", Role.admin) != Role.admin):
        raise Forbidden("admins cannot deactivate or demote themselves")
    for field, value in changes.items():
        setattr(user, field, value)
    if changes.get("is_active") is False:
        await revoke_all_sessions(session, bus, settings, user.id)
    record(session, action="user.deactivated" if changes.get("is_active") is False else "user.updated",
           entity="user", entity_id=user.id, org_id=principal.org_id, actor_id=principal.user_id, ip=client.ip,
           fields=sorted(changes))
    await session.commit()
    return user
