"""Routes: the personal model's status for the dashboard, and on-demand training (thin; logic below)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from seniorsafe.deps import AdminUser, CurrentUser, Session, StaffUser, State, client_ip
from seniorsafe.seniors.service import get_visible_senior

from . import configuration, registry
from .configuration_schemas import OrganisationThresholds, SeniorThresholds, ThresholdOverrides
from .schemas import ModelStatus, TrainQueued
from .service import model_status_of

router = APIRouter(prefix="/api/v1", tags=["detection"])

@router.get("/seniors/{senior_id}/model", response_model=ModelStatus,
            summary="The resident's personal model: learning or ready, since when, version, plain-words summary")
async def model_status(senior_id: uuid.UUID, principal: CurrentUser, session: Session) -> dict[str, Any]:
    senior = await get_visible_senior(session, principal, senior_id)
    return await model_status_of(session, senior)


@router.post("/seniors/{senior_id}/model/train", response_model=TrainQueued, status_code=202,
             summary="Queue a retraining of the resident's personal model (staff and admins)")
async def train_model(senior_id: uuid.UUID, principal: StaffUser, session: Session, state: State) -> dict[str, Any]:
    senior = await get_visible_senior(session, principal, senior_id)
    await registry.request_training(state.bus, senior.id)  # the trainer fits it: no AI load in the api process
    return {"senior_id": senior.id, "status": "queued"}


@router.get("/organisation/detection-thresholds", response_model=OrganisationThresholds,
            summary="Detection thresholds of the organisation: defaults, its overrides, effective values (staff)")
async def get_organisation_thresholds(principal: StaffUser, session: Session) -> dict[str, Any]:
    return await configuration.get_organisation_thresholds(session, principal)


@router.put("/organisation/detection-thresholds", response_model=OrganisationThresholds,
            summary="Replace the organisation's threshold overrides (admins); running detectors apply them at once")
async def put_organisation_thresholds(body: ThresholdOverrides, principal: AdminUser, request: Request,
                                      session: Session, state: State) -> dict[str, Any]:
    return await configuration.set_organisation_thresholds(session, state.bus, principal,
                                                           body.model_dump(exclude_none=True), client_ip(request))


@router.get("/seniors/{senior_id}/detection-thresholds", response_model=SeniorThresholds,
            summary="A senior's detection thresholds: organisation and own overrides, effective values")
async def get_senior_thresholds(senior_id: uuid.UUID, principal: CurrentUser, session: Session) -> dict[str, Any]:
    return await configuration.get_senior_thresholds(session, principal, senior_id)


@router.put("/seniors/{senior_id}/detection-thresholds", response_model=SeniorThresholds,
            summary="Replace a senior's own threshold overrides (admins: a lowered sensitivity can silence alarms)")
async def put_senior_thresholds(senior_id: uuid.UUID, body: ThresholdOverrides, principal: AdminUser,
                                request: Request, session: Session, state: State) -> dict[str, Any]:
    return await configuration.set_senior_thresholds(session, state.bus, principal, senior_id,
                                                     body.model_dump(exclude_none=True), client_ip(request))
