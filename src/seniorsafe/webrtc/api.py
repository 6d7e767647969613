"""REST for WebRTC: ICE servers with time-limited TURN credentials, and the viewing audit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from seniorsafe.deps import CurrentUser, Session, State
from seniorsafe.webrtc import service
from seniorsafe.webrtc.turn import ice_servers

router = APIRouter(prefix="/api/v1", tags=["webrtc"])


class IceServer(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class IceServers(BaseModel):
    iceServers: list[IceServer]
    ttl: int
    expires_at: int | None


class ViewingOut(BaseModel):
    id: uuid.UUID
    session_id: uuid.UUID
    senior_id: uuid.UUID
    viewer_id: uuid.UUID
    viewer_role: str
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None

    model_config = {"from_attributes": True}


@router.get("/webrtc/ice-servers", response_model=IceServers,
            summary="STUN/TURN servers with a time-limited TURN credential (coturn REST scheme)")
async def get_ice_servers(principal: CurrentUser, state: State) -> dict[str, Any]:
    return ice_servers(state.settings, str(principal.user_id))


@router.get("/seniors/{senior_id}/video-viewings", response_model=list[ViewingOut],
            summary="Who watched this senior's robot video, and when (staff and admins)")
async def list_viewings(senior_id: uuid.UUID, principal: CurrentUser, session: Session) -> list[ViewingOut]:
    return [ViewingOut.model_validate(v) for v in await service.list_viewings(session, principal, senior_id)]
