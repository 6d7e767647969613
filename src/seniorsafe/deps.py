"""Per-process state and the FastAPI dependencies every domain uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.security import InvalidToken, Principal
from seniorsafe.accounts.sessions import SessionGuard
from seniorsafe.bus import Bus
from seniorsafe.config import Settings
from seniorsafe.db import Database
from seniorsafe.errors import Forbidden, Unauthorized
from seniorsafe.readcache import ReadCache
from seniorsafe.storage import Storage


@dataclass
class AppState:
    settings: Settings
    db: Database
    bus: Bus
    storage: Storage
    reads: ReadCache = field(default_factory=ReadCache.disabled)
    guard: SessionGuard = field(init=False)

    def __post_init__(self) -> None:
        self.guard = SessionGuard(self.settings, self.bus)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.services
    return state


async def app_state_dependency(request: Request) -> AppState:
    """app_state as a dependency (async: FastAPI would run a plain function in its thread pool)."""
    return app_state(request)


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with app_state(request).db.sessions() as session:
        yield session


_bearer = HTTPBearer(auto_error=False, description="access token from /api/v1/auth/login")


async def authenticate(state: AppState, token: str | None) -> Principal:
    """Verify an access token and that its session was not revoked (logout, deactivation)."""
    if not token:
        raise Unauthorized("an access token is required")
    try:
        principal = state.guard.decode(token)
    except InvalidToken as exc:
        raise Unauthorized(str(exc)) from exc
    if await state.guard.is_revoked(principal.session_id):
        raise Unauthorized("this session has been signed out")
    return principal


async def current_principal(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    return await authenticate(app_state(request), creds.credentials if creds else None)


async def admin_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("only an organisation admin may do this")
    return principal


async def staff_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """Staff or admin: guardians have read-only access."""
    if principal.is_guardian:
        raise Forbidden("guardians have read-only access")
    return principal


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


Session = Annotated[AsyncSession, Depends(db_session)]
State = Annotated[AppState, Depends(app_state_dependency)]
CurrentUser = Annotated[Principal, Depends(current_principal)]
AdminUser = Annotated[Principal, Depends(admin_principal)]
StaffUser = Annotated[Principal, Depends(staff_principal)]
