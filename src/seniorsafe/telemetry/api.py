"""Routes: HTTP ingest for hubs (hub credential) and the time-series queries (user tokens, scoped)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.security import token_digest
from seniorsafe.deps import AdminUser, CurrentUser, Session, app_state
from seniorsafe.errors import PayloadTooLarge, Problem, Unauthorized, UnsupportedMedia
from seniorsafe.homes.models import DeviceStatus, Hub, Room, SensorKind
from seniorsafe.homes.service import verify_hub_credential
from seniorsafe.telemetry import queries
from seniorsafe.telemetry.schemas import (
    DeadLetterOut,
    DeviceHealthOut,
    EventOut,
    EventPage,
    HourlyActivity,
    HubEvent,
    IngestReceipt,
    RejectedEvent,
    SensorStateOut,
)
from seniorsafe.telemetry.service import Inbound, IngestCore

router = APIRouter(prefix="/api/v1", tags=["telemetry"])

MAX_BODY_BYTES = 2 * 1024 * 1024


class BadBatch(Problem):
    status = 400
    title = "Batch rejected"
    type_slug = "ingest-rejected"


def ingest_core(request: Request) -> IngestCore:
    core: IngestCore | None = getattr(request.app.state, "telemetry_ingest", None)
    if core is None:
        state = app_state(request)
        core = IngestCore(state.db, state.bus)
        request.app.state.telemetry_ingest = core
    return core


async def authenticate_hub(session: AsyncSession, authorization: str | None) -> Hub:
    """HTTP Basic `hub_id:secret`, or `Bearer <secret>` (the hub credential issued at registration)."""
    scheme, _, value = (authorization or "").partition(" ")
    hub: Hub | None = None
    if scheme.lower() == "basic":
        try:
            hub_id, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            hub_id, secret = "", ""
        if hub_id and secret:
            hub = await verify_hub_credential(session, hub_id, secret)
    elif scheme.lower() == "bearer" and value.strip():
        hub = await session.scalar(select(Hub).where(Hub.credential_hash == token_digest(value.strip()),
                                                     Hub.status == DeviceStatus.active))
    if hub is None:
        raise Unauthorized("a valid hub credential is required (Basic hub_id:secret or Bearer secret)",
                           headers={"WWW-Authenticate": 'Basic realm="hub", Bearer'})
    return hub


async def _read_body(request: Request) -> bytes:
    if "json" not in request.headers.get("content-type", "application/json"):
        raise UnsupportedMedia("send the events as application/json")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"at most {MAX_BODY_BYTES} bytes per request; split the backlog")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"at most {MAX_BODY_BYTES} bytes per request; split the backlog")
    return body


_EVENT_SCHEMA = HubEvent.model_json_schema()
_EVENTS_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "oneOf": [_EVENT_SCHEMA, {"type": "array", "items": _EVENT_SCHEMA, "maxItems": 5000}]}}}}}


@router.post("/hub/events", response_model=IngestReceipt, openapi_extra=_EVENTS_BODY,
             summary="A hub sends one event or a batch (backlog); 200 only after everything is committed",
             responses={400: {"description": "the body is not an event or a batch (dead-lettered)"},
                        401: {"description": "missing or invalid hub credential"},
                        413: {"description": "body larger than 2 MiB"}})
async def post_events(request: Request, session: Session) -> IngestReceipt:
    hub = await authenticate_hub(session, request.headers.get("authorization"))
    await session.close()  # the ingest path uses its own connection
    body = await _read_body(request)
    result = await ingest_core(request).ingest([Inbound(hub.id, body, transport="http",
                                                        topic=f"http:/api/v1/hub/events#{hub.id}")])
    whole = [r for r in result.rejected if r.index is None]
    if whole:
        raise BadBatch(whole[0].detail, extra={"reason": whole[0].reason})
    return IngestReceipt(stored=result.stored, duplicates=result.duplicates, late=result.late,
                         rejected=[RejectedEvent(index=r.index, reason=r.reason, detail=r.detail)
                                   for r in result.rejected])


def _default_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = end or datetime.now(UTC)
    return start or end - timedelta(days=1), end


@router.get("/seniors/{senior_id}/events", response_model=EventPage,
            summary="A senior's sensor events in a time range, newest first (keyset pagination)")
async def senior_events(
    senior_id: uuid.UUID, principal: CurrentUser, session: Session,
    start: Annotated[datetime | None, Query(alias="from", description="inclusive; default: 24 h before `to`")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="exclusive; default: now")] = None,
    sensor: Annotated[str | None, Query(max_length=64, description="a sensor id, e.g. pir-living")] = None,
    room: Room | None = None,
    kind: SensorKind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> EventPage:
    start, end = _default_range(start, end)
    items, next_cursor = await queries.senior_events(
        session, principal, senior_id, start=start, end=end, sensor=sensor, room=room.value if room else None,
        kind=kind.value if kind else None, limit=limit, cursor=cursor)
    return EventPage(items=[EventOut(**i) for i in items], next_cursor=next_cursor)


@router.get("/homes/{home_id}/sensors/state", response_model=list[SensorStateOut],
            summary="Latest state of every sensor of a home")
async def sensor_state(home_id: uuid.UUID, principal: CurrentUser, session: Session) -> list[SensorStateOut]:
    return [SensorStateOut(**s) for s in await queries.home_sensor_states(session, principal, home_id)]


@router.get("/homes/{home_id}/activity/hourly", response_model=list[HourlyActivity],
            summary="Activity events per room per hour (for charts; computed in the database)")
async def hourly_activity(
    home_id: uuid.UUID, principal: CurrentUser, session: Session,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
) -> list[HourlyActivity]:
    start, end = _default_range(start, end)
    rows = await queries.hourly_activity(session, principal, home_id, start, end)
    return [HourlyActivity(**r) for r in rows]


@router.get("/homes/{home_id}/device-health", response_model=DeviceHealthOut,
            summary="Hub connectivity, sensor battery/silence and recent device-health events of a home")
async def device_health(home_id: uuid.UUID, principal: CurrentUser, session: Session) -> DeviceHealthOut:
    data: dict[str, Any] = await queries.device_health(session, principal, home_id)
    return DeviceHealthOut(**data)


@router.get("/telemetry/dead-letters", response_model=list[DeadLetterOut],
            summary="Rejected inputs of this organisation's hubs, newest first (admins)")
async def dead_letters(principal: AdminUser, session: Session,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[DeadLetterOut]:
    return [DeadLetterOut(**d) for d in await queries.dead_letters(session, principal, limit)]

