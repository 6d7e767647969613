"""Shared by the robot and WebRTC tests: a senior's home with a hub and a robot, a live signaling server."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import socketio
import uvicorn

from seniorsafe.deps import AppState
from seniorsafe.processes import free_port
from seniorsafe.webrtc.signaling import Signaling, register
from tests.conftest import Org


@dataclass
class RobotHome:
    org: Org
    senior_id: str
    home_id: str
    hub_id: str
    hub_secret: str
    robot_id: str
    robot_secret: str


async def make_robot_home(client: httpx.AsyncClient, org: Org, senior_index: int = 0) -> RobotHome:
    admin = org.h(org.admin)
    senior_id = org.seniors[senior_index]["id"]
    r = await client.post(f"/api/v1/seniors/{senior_id}/home", headers=admin, json={})
    assert r.status_code == 201, r.text
    home_id = r.json()["id"]
    hub_id = f"hub-{uuid.uuid4().hex[:10]}"
    r = await client.post(f"/api/v1/homes/{home_id}/hubs", headers=admin, json={"id": hub_id, "name": "hub"})
    assert r.status_code == 201, r.text
    hub_secret = r.json()["credential"]["secret"]
    robot_id = f"robot-{uuid.uuid4().hex[:10]}"
    r = await client.post(f"/api/v1/homes/{home_id}/robots", headers=admin,
                          json={"id": robot_id, "hub_id": hub_id, "model": "SafeBot S1", "dock_room": "living"})
    assert r.status_code == 201, r.text
    return RobotHome(org, senior_id, home_id, hub_id, hub_secret, robot_id, r.json()["credential"]["secret"])


@contextlib.asynccontextmanager
async def signaling_server(state: AppState) -> AsyncIterator[tuple[str, Signaling]]:
    """Our `/webrtc` namespace on a private Socket.IO server, served by uvicorn in this event loop."""
    sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=[])
    sig = register(sio, state)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(socketio.ASGIApp(sio), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for this
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", sig
    finally:
        await sig.close()
        server.should_exit = True
        await task


async def wait_for(predicate: Any, limit: float = 10.0, every: float = 0.05) -> Any:
    deadline = asyncio.get_running_loop().time() + limit
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(every)
