"""Signaling + video: an aiortc viewer receives the simulated robot's camera, directly and through coturn."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from seniorsafe.audit.models import AuditEntry
from seniorsafe.deps import AppState
from seniorsafe.simulate.robot_sim import Camera, RobotVideo, World
from seniorsafe.webrtc.models import VideoSession, VideoViewing
from seniorsafe.webrtc.viewer import ViewerClient
from tests.conftest import Org
from tests.robots.helpers import RobotHome, make_robot_home, signaling_server, wait_for


@pytest.fixture
async def home(client: httpx.AsyncClient, org: Org) -> RobotHome:
    return await make_robot_home(client, org)


@pytest.fixture
async def live(state: AppState, home: RobotHome) -> AsyncIterator[tuple[str, Any, RobotVideo]]:
    async with signaling_server(state) as (url, sig):
        robot = RobotVideo(url, home.robot_id, home.robot_secret, Camera(World(scenario="fall")))
        await robot.connect()
        try:
            yield url, sig, robot
        finally:
            await robot.close()


async def _viewer(url: str, who: dict[str, str]) -> ViewerClient:
    viewer = ViewerClient(url, who["token"])
    await viewer.connect()
    return viewer


async def test_staff_request_direct_video_and_audit(loopback_ice: None, state: AppState, home: RobotHome,
                                                    live: Any) -> None:
    url, _sig, robot = live
    viewer = await _viewer(url, home.org.staff1)
    try:
        got = await viewer.watch(home.senior_id, reason="family asked us to look in", frames=10)
        assert (got["width"], got["height"]) == (640, 480)
        img = got["last_frame"].to_ndarray(format="rgb24")
        assert img.std() > 10 and np.abs(img[240, 320].astype(int) - [40, 40, 48]).sum() > 0  # a drawn picture
        assert got["first_frame_ms"] < 5000
        await viewer.leave(got["peer_id"])
        await wait_for(lambda: _ended(state, got["peer_id"]))
        assert not robot.peers  # the robot closed that viewer's peer connection
    finally:
        await viewer.close()
    async with state.db.sessions() as session:
        actions = set(await session.scalars(select(AuditEntry.action).where(
            AuditEntry.entity_id == home.senior_id)))
    assert {"video.requested", "video.viewing_started", "video.viewing_ended"} <= actions


async def _ended(state: AppState, peer_id: str) -> bool:
    async with state.db.sessions() as session:
        viewing = await session.scalar(select(VideoViewing).where(VideoViewing.peer_id == peer_id))
    return viewing is not None and viewing.ended_at is not None


async def test_two_viewers_each_get_their_own_peer_through_turn_relay(
        state: AppState, home: RobotHome, turn_settings: Any, live: Any) -> None:
    url, _sig, robot = live
    saved = state.settings
    state.settings = turn_settings
    viewers = [await _viewer(url, home.org.staff1), await _viewer(url, home.org.admin)]
    try:
        first = await viewers[0].watch(home.senior_id, reason="check on her", policy="relay", frames=5)
        second = await viewers[1].watch(home.senior_id, policy="relay", frames=5)
        assert first["peer_id"] != second["peer_id"] and len(robot.peers) == 2
        assert first["candidate_types"] in ([], ["relay", "relay"]), first["candidate_types"]
        assert "relay" in first["candidate_types"] or _relay_only(viewers[0], first["peer_id"])
    finally:
        state.settings = saved
        for v in viewers:
            await v.close()
    await wait_for(lambda: _no_peers(robot))


def _relay_only(viewer: ViewerClient, peer_id: str) -> bool:
    pc = viewer.pcs.get(peer_id)
    sdp = pc.localDescription.sdp if pc else ""
    return "typ relay" in sdp and "typ host" not in sdp


async def _no_peers(robot: RobotVideo) -> bool:
    return not robot.peers


async def test_unauthorised_viewers_are_refused(state: AppState, home: RobotHome, client: httpx.AsyncClient,
                                                other_org: Org, live: Any) -> None:
    url, _, robot = live
    org = home.org
    cases = [(org.staff2, "reason"), (other_org.admin, "reason"), (org.guardian, None), (org.staff1, None)]
    for who, reason in cases:  # not assigned; other org; guardian without consent; staff without a reason
        viewer = await _viewer(url, who)
        try:
            reply = await viewer.request(home.senior_id, reason)
            assert reply.get("error") == "forbidden", (who, reply)
        finally:
            await viewer.close()
    # A guardian with consent still needs an active incident, even while a staff session is open.
    r = await client.patch(f"/api/v1/seniors/{home.senior_id}", headers=org.h(org.admin),
                           json={"video_consent": True})
    assert r.status_code == 200, r.text
    async with state.db.sessions() as session:
        assert await session.scalar(select(VideoSession).where(VideoSession.senior_id == uuid.UUID(home.senior_id),
                                                               VideoSession.ended_at.is_(None))) is None
    viewer = await _viewer(url, org.guardian)
    try:
        assert (await viewer.request(home.senior_id)).get("error") == "forbidden"
    finally:
        await viewer.close()
    assert not robot.peers


async def test_robot_with_wrong_credential_cannot_join(state: AppState, home: RobotHome, live: Any) -> None:
    import socketio

    url, _, _ = live
    impostor = RobotVideo(url, home.robot_id, "not-the-secret", Camera(World()))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await impostor.connect()
    await impostor.close()


async def test_signals_only_reach_their_own_peer(state: AppState, home: RobotHome, live: Any) -> None:
    url, _, _ = live
    viewer = await _viewer(url, home.org.admin)
    try:
        reply = await viewer.sio.call("webrtc.answer", {"peer_id": uuid.uuid4().hex, "sdp": "x", "type": "answer"},
                                      namespace="/webrtc")
        assert reply["error"] == "not_found"
    finally:
        await viewer.close()
