"""Routes for seniors, their photos, guardians and responsible staff (thin: logic is in service)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile

from seniorsafe.deps import AdminUser, CurrentUser, Session, StaffUser, State, client_ip
from seniorsafe.responses import fast_json
from seniorsafe.seniors import service
from seniorsafe.seniors.models import RiskLevel
from seniorsafe.seniors.schemas import (
    AssignmentIn,
    GuardianIn,
    GuardianOut,
    GuardianUpdate,
    SeniorCreate,
    SeniorDetail,
    SeniorPage,
    SeniorUpdate,
    StaffOut,
)

router = APIRouter(prefix="/api/v1/seniors", tags=["seniors"])


@router.get("", response_model=SeniorPage, summary="Seniors the caller may see, most urgent first")
async def list_seniors(
    principal: CurrentUser, state: State,
    risk: Annotated[list[RiskLevel] | None, Query(description="keep only these risk levels")] = None,
    q: Annotated[str | None, Query(max_length=100, description="part of the name")] = None,
    sort: Literal["urgency", "name"] = "urgency",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    body = await service.list_seniors_json(state.db, state.reads, principal, risk=risk, q=q, sort=sort, limit=limit,
                                           cursor=cursor)
    return Response(body, media_type="application/json")


@router.post("", response_model=SeniorDetail, status_code=201, summary="Register a senior")
async def create_senior(body: SeniorCreate, principal: AdminUser, request: Request, session: Session) -> Response:
    senior = await service.create_senior(session, principal, body, client_ip(request))
    return fast_json(await service.senior_detail(session, principal, senior.id), status_code=201)


@router.get("/{senior_id}", response_model=SeniorDetail, summary="A senior's profile, guardians and staff")
async def get_senior(senior_id: uuid.UUID, principal: CurrentUser, state: State) -> Response:
    body = await service.senior_detail_json(state.db, state.reads, principal, senior_id)
    return Response(body, media_type="application/json")


@router.patch("/{senior_id}", response_model=SeniorDetail, summary="Update a senior's profile")
async def update_senior(senior_id: uuid.UUID, body: SeniorUpdate, principal: StaffUser, request: Request,
                        session: Session) -> Response:
    await service.update_senior(session, principal, senior_id, body, client_ip(request))
    return fast_json(await service.senior_detail(session, principal, senior_id))


@router.delete("/{senior_id}", status_code=204, summary="Delete a senior and everything of theirs")
async def delete_senior(senior_id: uuid.UUID, principal: AdminUser, request: Request, session: Session,
                        state: State) -> Response:
    await service.delete_senior(session, state.storage, principal, senior_id, client_ip(request))
    return Response(status_code=204)


@router.put("/{senior_id}/photo", status_code=204, summary="Upload a profile photo (JPEG, PNG or WebP)")
async def put_photo(senior_id: uuid.UUID, principal: StaffUser, request: Request, session: Session, state: State,
                    file: Annotated[UploadFile, File(description="the image")]) -> Response:
    raw = await file.read(state.settings.photo_max_bytes + 1)
    await service.set_photo(session, state.storage, state.settings, principal, senior_id, raw, file.content_type,
                            client_ip(request))
    return Response(status_code=204)


@router.get("/{senior_id}/photo", summary="The profile photo (JPEG)",
            responses={200: {"content": {"image/jpeg": {}}}})
async def get_photo(senior_id: uuid.UUID, principal: CurrentUser, session: Session, state: State) -> Response:
    data = await service.get_photo(session, state.storage, principal, senior_id)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})


@router.delete("/{senior_id}/photo", status_code=204, summary="Remove the profile photo")
async def delete_photo(senior_id: uuid.UUID, principal: StaffUser, request: Request, session: Session,
                       state: State) -> Response:
    await service.delete_photo(session, state.storage, principal, senior_id, client_ip(request))
    return Response(status_code=204)


@router.get("/{senior_id}/guardians", response_model=list[GuardianOut], summary="A senior's guardians")
async def list_guardians(senior_id: uuid.UUID, principal: CurrentUser, session: Session) -> list[GuardianOut]:
    return [GuardianOut.model_validate(g) for g in await service.list_guardians(session, principal, senior_id)]


@router.post("/{senior_id}/guardians", response_model=GuardianOut, status_code=201, summary="Add a guardian")
async def add_guardian(senior_id: uuid.UUID, body: GuardianIn, principal: StaffUser, request: Request,
                       session: Session) -> GuardianOut:
    guardian = await service.add_guardian(session, principal, senior_id, body, client_ip(request))
    return GuardianOut.model_validate(guardian)


@router.patch("/{senior_id}/guardians/{guardian_id}", response_model=GuardianOut, summary="Update a guardian")
async def update_guardian(senior_id: uuid.UUID, guardian_id: uuid.UUID, body: GuardianUpdate,
                          principal: StaffUser, request: Request, session: Session) -> GuardianOut:
    guardian = await service.update_guardian(session, principal, senior_id, guardian_id, body, client_ip(request))
    return GuardianOut.model_validate(guardian)


@router.delete("/{senior_id}/guardians/{guardian_id}", status_code=204, summary="Remove a guardian")
async def remove_guardian(senior_id: uuid.UUID, guardian_id: uuid.UUID, principal: StaffUser, request: Request,
                          session: Session) -> Response:
    await service.remove_guardian(session, principal, senior_id, guardian_id, client_ip(request))
    return Response(status_code=204)


@router.get("/{senior_id}/staff", response_model=list[StaffOut], summary="Staff responsible for a senior")
async def list_staff(senior_id: uuid.UUID, principal: CurrentUser, session: Session) -> list[StaffOut]:
    return [StaffOut(**s) for s in await service.list_staff(session, principal, senior_id)]


@router.put("/{senior_id}/staff/{user_id}", status_code=204, summary="Make a staff member responsible")
async def assign_staff(senior_id: uuid.UUID, user_id: uuid.UUID, principal: AdminUser, request: Request,
                       session: Session, body: AssignmentIn | None = None) -> Response:
    await service.assign_staff(session, principal, senior_id, user_id, body.is_primary if body else False,
                               client_ip(request))
    return Response(status_code=204)


@router.delete("/{senior_id}/staff/{user_id}", status_code=204, summary="Remove a staff assignment")
async def unassign_staff(senior_id: uuid.UUID, user_id: uuid.UUID, principal: AdminUser, request: Request,
                         session: Session) -> Response:
    await service.unassign_staff(session, principal, senior_id, user_id, client_ip(request))
    return Response(status_code=204)
