"""Routes: the personal model's status for the dashboard, and on-demand training (thin; logic below)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.alerts.models import Alert, PersonalModelVersion
from seniorsafe.deps import AdminUser, CurrentUser, Session, StaffUser, State, client_ip
from seniorsafe.seniors.service import get_visible_senior

from . import configuration, registry
from .configuration_schemas import OrganisationThresholds, SeniorThresholds, ThresholdOverrides
from .coverage import blind_spots
from .schemas import ModelStatus, TrainQueued
from .service import senior_sensors, thresholds_for

router = APIRouter(prefix="/api/v1", tags=["detection"])

LEARNING_TEXT = ("No personal model yet: the detector watches with the fixed safety rules and typical values "
                 "until enough days of sensor data have been recorded (the first training runs at night).")


@router.get("/seniors/{senior_id}/model", response_model=ModelStatus,
            summary="The resident's personal model: learning or ready, since when, version, plain-words summary")
async def model_status(senior_id: uuid.UUID, principal: CurrentUser, session: Session) -> dict[str, Any]:
    senior = await get_visible_senior(session, principal, senior_id)
    return await describe_model(session, senior.id, senior.created_at, senior.settings, senior.org_id)


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


async def describe_model(session: AsyncSession, senior_id: uuid.UUID, created_at: Any,
                         senior_settings: dict[str, Any] | None, org_id: uuid.UUID) -> dict[str, Any]:
    from seniorsafe.accounts.models import Organisation

    org_settings = await session.scalar(select(Organisation.settings).where(Organisation.id == org_id))
    young_days = thresholds_for(org_settings, senior_settings).young_model_days
    row = await registry.latest_version(session, senior_id)
    fault = await session.scalar(select(Alert.evidence).where(
        Alert.senior_id == senior_id, Alert.kind == "model_fault", Alert.closed_at.is_(None)).limit(1))
    sensors = await senior_sensors(session, senior_id)
    blind = blind_spots(sensors) if sensors is not None else []
    if row is None:
        return {"senior_id": senior_id, "status": "learning", "since": created_at, "summary": LEARNING_TEXT,
                "fault": fault, "blind_spots": blind}
    ready = row.days >= young_days
    since = row.created_at
    if ready:
        since = await session.scalar(select(func.min(PersonalModelVersion.created_at)).where(
            PersonalModelVersion.senior_id == senior_id, PersonalModelVersion.days >= young_days)) or since
    else:
        since = created_at
    metrics = dict(row.metrics or {})
    return {
        "senior_id": senior_id, "status": "ready" if ready else "learning", "since": since, "version": row.version,
        "trained_at": row.created_at, "days": row.days, "events": row.events, "data_from": row.data_from,
        "data_to": row.data_to, "feedback_used": int(metrics.get("feedback_used") or 0),
        "summary": str(metrics.pop("summary", "") or LEARNING_TEXT), "fault": fault,
        "daily": metrics.pop("daily", None) or [], "metrics": metrics, "blind_spots": blind,
    }
