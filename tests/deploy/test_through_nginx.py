"""The deployed topology without containers: real nginx (deploy/nginx/nginx.conf) in front of a real api."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import socketio

from seniorsafe.config import Settings
from seniorsafe.deps import AppState
from tests.conftest import PASSWORD, make_org
from tests.deploy.conftest import nginx_running
from tests.servers import api_server


async def test_login_and_api_through_nginx_over_tls(settings: Settings, state: AppState, client: httpx.AsyncClient,
                                                    tmp_path: Path) -> None:
    org = await make_org(client, state, "Nginx")
    dashboard = tmp_path / "dist"
    (dashboard / "assets").mkdir(parents=True)
    (dashboard / "index.html").write_text("<!doctype html><title>Senior Safe Things</title>")
    with api_server(settings) as base, nginx_running(tmp_path / "nginx", base.removeprefix("http://"),
                                                     dashboard) as ports:
        https = f"https://127.0.0.1:{ports['https']}"
        async with httpx.AsyncClient(verify=False, timeout=10) as web:
            plain = await web.get(f"http://127.0.0.1:{ports['http']}/api/v1/seniors")
            assert plain.status_code == 301 and plain.headers["location"].startswith("https://")
            r = await web.post(f"{https}/api/v1/auth/login", json={"email": org.admin["email"], "password": PASSWORD})
            assert r.status_code == 200, r.text
            token = r.json()["access_token"]
            assert "max-age" in r.headers["strict-transport-security"]
            seniors = await web.get(f"{https}/api/v1/seniors", headers={"Authorization": f"Bearer {token}"})
            assert seniors.status_code == 200 and len(seniors.json()["items"]) == 3
            assert seniors.headers["x-content-type-options"] == "nosniff"
            page = await web.get(f"{https}/seniors/some-deep-link")
            assert page.status_code == 200 and "Senior Safe Things" in page.text
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
            missing = await web.get(f"{https}/assets/old-build.js")
            assert missing.status_code == 404
            big = await web.put(f"{https}/api/v1/seniors/{org.seniors[0]['id']}/photo",
                                headers={"Authorization": f"Bearer {token}"},
                                files={"file": ("p.jpg", b"x" * (7 * 1024 * 1024), "image/jpeg")})
            assert big.status_code == 413
            ready = await web.get(f"{https}/readyz")
            assert ready.status_code == 200
            await _live_event_through_nginx(web, https, token, org.seniors[0]["id"])


async def _live_event_through_nginx(web: httpx.AsyncClient, https: str, token: str, senior_id: str) -> None:
    """A dashboard socket (WebSocket upgrade through nginx) sees a sensor event sent by a hub through nginx."""
    auth = {"Authorization": f"Bearer {token}"}
    home = (await web.post(f"{https}/api/v1/seniors/{senior_id}/home", headers=auth, json={})).json()
    hub_id = f"nginx-{uuid.uuid4().hex[:8]}"
    hub = await web.post(f"{https}/api/v1/homes/{home['id']}/hubs", headers=auth, json={"id": hub_id, "name": "h"})
    secret = hub.json()["credential"]["secret"]
    await web.post(f"{https}/api/v1/hubs/{hub_id}/sensors", headers=auth,
                   json={"sensor_id": "pir-1", "kind": "motion", "room": "kitchen"})
    received: asyncio.Queue[Any] = asyncio.Queue()
    sio = socketio.AsyncClient(reconnection=False, ssl_verify=False)
    sio.on("sensor.activity", received.put)
    await sio.connect(https, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    try:
        assert (await sio.call("senior.watch", {"senior_id": senior_id}, timeout=10))["ok"] is True
        event = {"sensor": "pir-1", "ts": datetime.now(UTC).isoformat(), "value": 1, "seq": 1}
        r = await web.post(f"{https}/api/v1/hub/events", auth=(hub_id, secret), json=[event])
        assert r.status_code == 200 and r.json()["stored"] == 1, r.text
        activity = await asyncio.wait_for(received.get(), timeout=10)
        assert activity["event"] == "sensor.activity" and activity["data"]["sensor"] == "pir-1", activity
    finally:
        await sio.disconnect()


async def test_turn_relayed_video_through_nginx(settings: Settings, state: AppState, client: httpx.AsyncClient,
                                                tmp_path: Path) -> None:
    """A viewer gets the robot's camera with the media forced through coturn, signaling through nginx."""
    from seniorsafe.simulate.robot_sim import Camera, RobotVideo, World
    from seniorsafe.webrtc.coturn import LocalTurn
    from seniorsafe.webrtc.viewer import ViewerClient
    from tests.robots.helpers import make_robot_home

    org = await make_org(client, state, "Relay")
    home = await make_robot_home(client, org)
    dashboard = tmp_path / "dist"
    dashboard.mkdir()
    (dashboard / "index.html").write_text("<!doctype html>")
    with LocalTurn(tmp_path / "coturn") as turn:
        relay_settings = settings.model_copy(update={"turn_urls": turn.urls, "turn_secret": turn.secret})
        with api_server(relay_settings) as base, nginx_running(tmp_path / "nginx", base.removeprefix("http://"),
                                                                 dashboard) as ports:
            https = f"https://127.0.0.1:{ports['https']}"
            robot = RobotVideo(https, home.robot_id, home.robot_secret, Camera(World(scenario="fall")),
                               ssl_verify=False)
            await robot.connect()
            viewer = ViewerClient(https, org.staff1["token"], ssl_verify=False)
            await viewer.connect()
            try:
                got = await viewer.watch(home.senior_id, reason="smoke test of the deployment", policy="relay",
                                         frames=5, wait=20)
                assert (got["width"], got["height"]) == (640, 480)
                pc = viewer.pcs[got["peer_id"]]
                assert "typ relay" in pc.localDescription.sdp and "typ host" not in pc.localDescription.sdp
            finally:
                await viewer.close()
                await robot.close()
