"""Who may watch a robot's camera, video sessions, and the viewing audit (no HTTP, no Socket.IO here).

Video is allowed only while a session is open for the senior: a safety check, an active incident, or an
explicit staff request (audited). Guardians additionally need the senior's video consent and an active incident.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.models import User
from seniorsafe.accounts.security import Principal
from seniorsafe.alerts.lifecycle import add_timeline
from seniorsafe.alerts.models import Alert, Severity
from seniorsafe.audit.service import record
from seniorsafe.errors import Forbidden, NotFound
from seniorsafe.homes.models import DeviceStatus, Home, Robot
from seniorsafe.seniors.models import Senior
from seniorsafe.seniors.service import get_visible_senior
from seniorsafe.webrtc.models import VideoSession, VideoViewing


def _now() -> datetime:
    return datetime.now(UTC)


async def robot_of_senior(session: AsyncSession, senior_id: uuid.UUID) -> Robot | None:
    return await session.scalar(select(Robot).join(Home, Home.id == Robot.home_id).where(
        Home.senior_id == senior_id, Robot.status == DeviceStatus.active).order_by(Robot.id).limit(1))


async def open_session_for(session: AsyncSession, senior_id: uuid.UUID) -> VideoSession | None:
    return await session.scalar(select(VideoSession).where(VideoSession.senior_id == senior_id,
                                                           VideoSession.ended_at.is_(None))
                                .order_by(VideoSession.started_at.desc()).limit(1))


async def incident_active(session: AsyncSession, senior_id: uuid.UUID) -> bool:
    found = await session.scalar(select(Alert.id).where(
        Alert.senior_id == senior_id, Alert.closed_at.is_(None), Alert.category == "resident",
        Alert.severity == Severity.danger).limit(1))
    return found is not None


async def start_session(session: AsyncSession, *, senior: Senior, robot: Robot, reason: str,
                        alert_id: uuid.UUID | None = None, started_by: uuid.UUID | None = None) -> VideoSession:
    """Open (or reuse) the senior's video session. The caller commits."""
    current = await open_session_for(session, senior.id)
    if current is not None:
        return current
    vs = VideoSession(id=uuid.uuid4(), org_id=senior.org_id, senior_id=senior.id, robot_id=robot.id,
                      alert_id=alert_id, reason=reason, started_by=started_by, started_at=_now())
    session.add(vs)
    await session.flush()
    return vs


async def authorise_viewer(session: AsyncSession, principal: Principal, senior_id: uuid.UUID,
                           request_reason: str | None, ip: str | None) -> tuple[VideoSession, Robot]:
    """The open video session this caller may watch, opening one on an explicit staff request."""
    try:
        senior = await get_visible_senior(session, principal, senior_id)
    except NotFound as exc:
        raise Forbidden("you may not watch this senior's video") from exc
    robot = await robot_of_senior(session, senior.id)
    if robot is None:
        raise NotFound("this senior's home has no active robot")
    current = await open_session_for(session, senior.id)
    if principal.is_guardian:
        if not senior.video_consent:
            raise Forbidden("the senior has not consented to video for guardians")
        if current is None or not await incident_active(session, senior.id):
            raise Forbidden("video is available to guardians only during an active incident")
        return current, robot
    if current is None:
        if not request_reason:
            raise Forbidden("no safety check or incident is active; an explicit request with a reason is needed")
        current = await start_session(session, senior=senior, robot=robot, reason="staff_request",
                                      started_by=principal.user_id)
        record(session, action="video.requested", entity="senior", entity_id=senior.id, org_id=senior.org_id,
               actor_id=principal.user_id, ip=ip, reason=request_reason, robot_id=robot.id)
    return current, robot


async def start_viewing(session: AsyncSession, principal: Principal, vs: VideoSession, peer_id: str,
                        ip: str | None) -> tuple[VideoViewing, Alert | None]:
    """Record who watches (audit log, and the incident's timeline when the video belongs to an open alert).

    Returns the viewing and the alert whose timeline gained a "video viewed" step (to be published)."""
    now = _now()
    viewing = VideoViewing(id=uuid.uuid4(), session_id=vs.id, org_id=vs.org_id, senior_id=vs.senior_id,
                           viewer_id=principal.user_id, viewer_role=principal.role.value, peer_id=peer_id, ip=ip,
                           started_at=now)
    session.add(viewing)
    record(session, action="video.viewing_started", entity="senior", entity_id=vs.senior_id, org_id=vs.org_id,
           actor_id=principal.user_id, ip=ip, peer_id=peer_id, session_id=vs.id, reason=vs.reason)
    alert = await session.get(Alert, vs.alert_id) if vs.alert_id else None
    if alert is not None and alert.closed_at is None:
        viewer = await session.get(User, principal.user_id)
        name = viewer.name if viewer else "unknown viewer"
        add_timeline(session, alert, "video_viewed", f"live video viewed by {name} ({principal.role.value})",
                     at=now, actor_id=principal.user_id, peer_id=peer_id, session_id=str(vs.id))
    else:
        alert = None
    await session.commit()
    return viewing, alert


async def end_viewing(session: AsyncSession, peer_id: str, reason: str) -> VideoViewing | None:
    viewing = await session.scalar(select(VideoViewing).where(VideoViewing.peer_id == peer_id,
                                                              VideoViewing.ended_at.is_(None)))
    if viewing is None:
        return None
    viewing.ended_at, viewing.end_reason = _now(), reason
    seconds = (viewing.ended_at - viewing.started_at).total_seconds()
    record(session, action="video.viewing_ended", entity="senior", entity_id=viewing.senior_id,
           org_id=viewing.org_id, actor_id=viewing.viewer_id, peer_id=peer_id, reason=reason,
           seconds=round(seconds, 1))
    await session.commit()
    return viewing


async def end_sessions(session: AsyncSession, senior_id: uuid.UUID, reason: str) -> list[str]:
    """Close the senior's video sessions and their viewings; returns the peer ids that must be hung up."""
    now = _now()
    sessions = list(await session.scalars(select(VideoSession).where(VideoSession.senior_id == senior_id,
                                                                    VideoSession.ended_at.is_(None))))
    peers: list[str] = []
    for vs in sessions:
        vs.ended_at, vs.end_reason = now, reason
        viewings = await session.scalars(select(VideoViewing).where(VideoViewing.session_id == vs.id,
                                                                    VideoViewing.ended_at.is_(None)))
        for viewing in viewings:
            viewing.ended_at, viewing.end_reason = now, reason
            peers.append(viewing.peer_id)
        record(session, action="video.session_ended", entity="senior", entity_id=senior_id, org_id=vs.org_id,
               session_id=vs.id, reason=reason)
    await session.commit()
    return peers


async def list_viewings(session: AsyncSession, principal: Principal, senior_id: uuid.UUID,
                        limit: int = 100) -> list[VideoViewing]:
    if principal.is_guardian:
        raise Forbidden("guardians cannot read the viewing audit")
    senior = await get_visible_senior(session, principal, senior_id)
    return list(await session.scalars(select(VideoViewing).where(VideoViewing.senior_id == senior.id)
                                      .order_by(VideoViewing.started_at.desc()).limit(limit)))
