"""Routes for sign-in, tokens, the caller's own account, users, the organisation and the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Cookie, Query, Request, Response

from seniorsafe.accounts import service
from seniorsafe.accounts.models import Role
from seniorsafe.accounts.schemas import (
    AuditOut,
    LoginIn,
    OrganisationOut,
    OrganisationUpdate,
    PasswordChangeIn,
    RefreshIn,
    TokenPair,
    UserCreate,
    UserCreated,
    UserOut,
    UserUpdate,
)
from seniorsafe.audit.service import list_entries
from seniorsafe.deps import AdminUser, CurrentUser, Session, State, client_ip
from seniorsafe.errors import Unauthorized

router = APIRouter(prefix="/api/v1", tags=["accounts"])

REFRESH_COOKIE = "ss_refresh"


def _client(request: Request) -> service.ClientInfo:
    return service.ClientInfo(ip=client_ip(request), user_agent=request.headers.get("user-agent"))


def _set_refresh_cookie(response: Response, state: State, pair: TokenPair) -> None:
    response.set_cookie(REFRESH_COOKIE, pair.refresh_token, max_age=pair.refresh_expires_in, httponly=True,
                        secure=state.settings.environment == "production", samesite="strict",
                        path="/api/v1/auth")


@router.post("/auth/login", response_model=TokenPair, summary="Sign in with email and password")
async def login(body: LoginIn, request: Request, response: Response, session: Session, state: State) -> TokenPair:
    pair = await service.login(session, state.bus, state.settings, body.email, body.password, _client(request))
    _set_refresh_cookie(response, state, pair)
    return pair


@router.post("/auth/refresh", response_model=TokenPair, summary="Exchange a refresh token for a new pair")
async def refresh(
    request: Request, response: Response, session: Session, state: State, body: RefreshIn | None = None,
    ss_refresh: Annotated[str | None, Cookie(include_in_schema=False)] = None,
) -> TokenPair:
    token = (body.refresh_token if body else None) or ss_refresh
    if not token:
        raise Unauthorized("a refresh token is required")
    pair = await service.refresh(session, state.bus, state.settings, token, _client(request))
    _set_refresh_cookie(response, state, pair)
    return pair


@router.post("/auth/logout", status_code=204, summary="Sign out this session, or every session")
async def logout(principal: CurrentUser, request: Request, session: Session, state: State,
                 everywhere: bool = False) -> Response:
    await service.logout(session, state.bus, state.settings, principal, everywhere, _client(request))
    response = Response(status_code=204)
    response.delete_cookie(REFRESH_COOKIE, path="/api/v1/auth")
    return response


@router.get("/me", response_model=UserOut, summary="The signed-in user")
async def me(principal: CurrentUser, session: Session) -> UserOut:
    return UserOut.model_validate(await service.get_user(session, principal, principal.user_id))


@router.post("/me/password", status_code=204, summary="Change the signed-in user's password")
async def change_password(body: PasswordChangeIn, principal: CurrentUser, request: Request, session: Session,
                          state: State) -> Response:
    await service.change_password(session, state.bus, state.settings, principal, body.current_password,
                                  body.new_password, _client(request))
    return Response(status_code=204)


@router.get("/organisation", response_model=OrganisationOut, summary="The caller's organisation")
async def get_organisation(principal: CurrentUser, session: Session) -> OrganisationOut:
    return OrganisationOut.model_validate(await service.get_organisation(session, principal))


@router.patch("/organisation", response_model=OrganisationOut, summary="Update the organisation")
async def update_organisation(body: OrganisationUpdate, principal: AdminUser, session: Session) -> OrganisationOut:
    org = await service.update_organisation(session, principal, body.name, body.phone)
    return OrganisationOut.model_validate(org)


@router.get("/users", response_model=list[UserOut], summary="Users of the organisation")
async def list_users(principal: CurrentUser, session: Session, role: Role | None = None) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in await service.list_users(session, principal, role)]


@router.post("/users", response_model=UserCreated, status_code=201, summary="Create a staff, admin or guardian user")
async def create_user(body: UserCreate, principal: AdminUser, request: Request, session: Session) -> UserCreated:
    user, generated = await service.create_user(session, principal, body, _client(request))
    out = UserCreated.model_validate(user)
    out.initial_password = generated
    return out


@router.get("/users/{user_id}", response_model=UserOut, summary="One user")
async def get_user(user_id: uuid.UUID, principal: CurrentUser, session: Session) -> UserOut:
    return UserOut.model_validate(await service.get_user(session, principal, user_id))


@router.patch("/users/{user_id}", response_model=UserOut, summary="Update, deactivate or reactivate a user")
async def update_user(user_id: uuid.UUID, body: UserUpdate, principal: AdminUser, request: Request,
                      session: Session, state: State) -> UserOut:
    user = await service.update_user(session, state.bus, state.settings, principal, user_id, body, _client(request))
    return UserOut.model_validate(user)


@router.get("/audit", response_model=list[AuditOut], summary="The organisation's audit log, newest first")
async def audit_log(
    principal: AdminUser, session: Session,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    action: Annotated[str | None, Query(max_length=64)] = None,
    entity: Annotated[str | None, Query(max_length=32)] = None,
) -> list[AuditOut]:
    entries = await list_entries(session, principal.org_id, before_id=before_id, limit=limit, action=action,
                                 entity=entity)
    return [AuditOut.model_validate(e) for e in entries]
