"""Routes: HTTP ingest for hubs (hub credential) and the time-series queries (user tokens, scoped)."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from seniorsafe.db import Database
from seniorsafe.deps import AdminUser, CurrentUser, Session, app_state
from seniorsafe.errors import PayloadTooLarge, Problem, Unauthorized, UnsupportedMedia
from seniorsafe.homes.models import Room, SensorKind
from seniorsafe.homes.service import hub_id_for_credential
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
from seniorsafe.telemetry.service import GroupCommit, Inbound, IngestCore

router = APIRouter(prefix="/api/v1", tags=["telemetry"])

MAX_BODY_BYTES = 2 * 1024 * 1024


class BadBatch(Problem):
    status = 400
    title = "Batch rejected"
    type_slug = "ingest-rejected"


@dataclass
class HttpIngest:
    """The api process's HTTP ingest: one IngestCore and its group commit."""

    core: IngestCore
    commits: GroupCommit


def http_ingest(request: Request) -> HttpIngest:
    ingest: HttpIngest | None = getattr(request.app.state, "telemetry_ingest", None)
    if ingest is None:
        state = app_state(request)
        core = IngestCore(state.db, state.bus)
        ingest = HttpIngest(core, GroupCommit(core))
        request.app.state.telemetry_ingest = ingest
    return ingest


async def authenticate_hub(db: Database, authorization: str | None) -> str:
    """The hub id for HTTP Basic `hub_id:secret` or `Bearer <secret>` (the credential issued at registration)."""
    scheme, _, value = (authorization or "").partition(" ")
    hub_id: str | None = None
    secret = ""
    if scheme.lower() == "basic":
        try:
            hub_id, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            secret = ""
        secret = secret if hub_id else ""
    elif scheme.lower() == "bearer":
        secret = value.strip()
    found = None
    if secret:
        async with db.raw() as conn:
            found = await hub_id_for_credential(conn, hub_id, secret)
    if found is None:
        raise Unauthorized("a valid hub credential is required (Basic hub_id:secret or Bearer secret)",
                           headers={"WWW-Authenticate": 'Basic realm="hub", Bearer'})
    return found


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
async def post_events(request: Request) -> IngestReceipt:
    ingest = http_ingest(request)
    hub_id = await authenticate_hub(ingest.core.db, request.headers.get("authorization"))
    body = await _read_body(request)
    result = await ingest.commits.submit(Inbound(hub_id, body, transport="http",
                                                 topic=f"http:/api/v1/hub/events#{hub_id}"))
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

