"""Routes of the alert workflow (thin: the logic is in workflow.py and escalation.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from seniorsafe.accounts.security import Principal
from seniorsafe.alerts import escalation, workflow
from seniorsafe.alerts.models import Alert
from seniorsafe.alerts.schemas import (
    AlertDetail,
    AlertOut,
    AlertPage,
    AssignIn,
    EscalationPolicy,
    IncidentPage,
    NoteIn,
    ResolveIn,
)
from seniorsafe.audit.service import record
from seniorsafe.deps import AdminUser, CurrentUser, Session, StaffUser, State
from seniorsafe.notifications.models import Delivery

router = APIRouter(prefix="/api/v1", tags=["alerts"])

CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "already acknowledged (by whom, when) or already resolved"}}


def _out(alert: Alert, principal: Principal) -> AlertOut:
    return AlertOut.model_validate(workflow.alert_dict(alert, principal))


@router.get("/alerts", response_model=AlertPage, summary="Alerts the caller may see, newest first")
async def list_alerts(
    principal: CurrentUser, session: Session,
    status: Literal["open", "closed", "all"] = "open",
    senior_id: uuid.UUID | None = None,
    severity: Literal["caution", "danger"] | None = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> AlertPage:
    items, next_cursor = await workflow.list_alerts(session, principal, status=status, senior_id=senior_id,
                                                    severity=severity, kind=kind, limit=limit, cursor=cursor)
    return AlertPage(items=[_out(a, principal) for a in items], next_cursor=next_cursor)


@router.get("/alerts/{alert_id}", response_model=AlertDetail, summary="One alert with its incident timeline")
async def get_alert(alert_id: uuid.UUID, principal: CurrentUser, session: Session) -> AlertDetail:
    return AlertDetail.model_validate(await workflow.alert_detail(session, principal, alert_id))


@router.get("/seniors/{senior_id}/incidents", response_model=IncidentPage,
            summary="A senior's emergency history (FR-04): every alert with its timeline, newest first")
async def senior_incidents(
    senior_id: uuid.UUID, principal: CurrentUser, session: Session,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> IncidentPage:
    items, next_cursor = await workflow.senior_history(session, principal, senior_id, limit=limit, cursor=cursor)
    return IncidentPage(items=[AlertDetail.model_validate(i) for i in items], next_cursor=next_cursor)


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut, responses=CONFLICT,
             summary="Acknowledge: the first acknowledgement wins (staff, admins, the senior's guardians)")
async def acknowledge(alert_id: uuid.UUID, principal: CurrentUser, session: Session, state: State) -> AlertOut:
    return _out(await workflow.acknowledge(session, state.bus, principal, alert_id), principal)


@router.post("/alerts/{alert_id}/assign", response_model=AlertOut, responses=CONFLICT,
             summary="Give the alert to a staff member")
async def assign(alert_id: uuid.UUID, body: AssignIn, principal: StaffUser, session: Session,
                 state: State) -> AlertOut:
    return _out(await workflow.assign(session, state.bus, principal, alert_id, body.user_id), principal)


@router.post("/alerts/{alert_id}/notes", response_model=AlertOut, status_code=201,
             summary="Add a note to the incident timeline")
async def add_note(alert_id: uuid.UUID, body: NoteIn, principal: StaffUser, session: Session,
                   state: State) -> AlertOut:
    return _out(await workflow.add_note(session, state.bus, principal, alert_id, body.text), principal)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut, responses=CONFLICT,
             summary="Resolve with an outcome (false_alarm feeds the detection feedback)")
async def resolve(alert_id: uuid.UUID, body: ResolveIn, principal: StaffUser, session: Session,
                  state: State) -> AlertOut:
    return _out(await workflow.resolve(session, state.bus, principal, alert_id, body.outcome, body.note), principal)


class DeliveryOut(BaseModel):
    id: int
    channel: str
    purpose: str
    user_id: uuid.UUID | None
    guardian_id: uuid.UUID | None
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@router.get("/alerts/{alert_id}/notifications", response_model=list[DeliveryOut],
            summary="Notifications sent (or being retried) for an alert")
async def alert_notifications(alert_id: uuid.UUID, principal: StaffUser, session: Session) -> list[DeliveryOut]:
    alert = await workflow.get_alert(session, principal, alert_id)
    rows = await session.scalars(select(Delivery).where(Delivery.alert_id == alert.id).order_by(Delivery.id))
    return [DeliveryOut(id=d.id, channel=d.channel, purpose=d.purpose, user_id=d.user_id, guardian_id=d.guardian_id,
                        status=d.status, attempts=d.attempts, last_error=d.last_error, created_at=d.created_at,
                        sent_at=d.sent_at) for d in rows]


@router.get("/organisation/escalation", response_model=EscalationPolicy,
            summary="The organisation's escalation policy (defaults when never set)")
async def get_escalation(principal: AdminUser, session: Session) -> EscalationPolicy:
    return await escalation.get_policy(session, principal.org_id)


@router.put("/organisation/escalation", response_model=EscalationPolicy, summary="Change the escalation policy")
async def put_escalation(body: EscalationPolicy, principal: AdminUser, session: Session) -> EscalationPolicy:
    record(session, action="organisation.escalation_changed", entity="organisation", entity_id=principal.org_id,
           org_id=principal.org_id, actor_id=principal.user_id, policy=body.model_dump(mode="json"))
    return await escalation.set_policy(session, principal.org_id, body)
