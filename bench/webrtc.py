"""Robot video benchmark: viewer asks for video → first decoded frame (p50), direct and through coturn relay, and
the frame rate at 640×480. Runs everything itself: a scratch database, coturn, our signaling, the simulated robot.

    .venv/bin/python bench/webrtc.py [--runs 5] [--frames 150]

Progress on stderr; the last stdout line is JSON: first_frame_ms_direct, first_frame_ms_relay, fps, ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import aioice.ice
import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import PG_ADMIN_URL, REDIS_URL, _database_url, make_org
from tests.robots.helpers import make_robot_home, signaling_server

from seniorsafe.app import build_state, create_app
from seniorsafe.config import Settings
from seniorsafe.migrate import upgrade
from seniorsafe.simulate.robot_sim import Camera, RobotVideo, World
from seniorsafe.webrtc.coturn import LocalTurn
from seniorsafe.webrtc.viewer import ViewerClient


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


async def measure(url: str, token: str, senior_id: str, policy: str, runs: int, frames: int) -> dict[str, Any]:
    firsts, fps, types = [], [], []
    for i in range(runs):
        viewer = ViewerClient(url, token)
        await viewer.connect()
        try:
            got = await viewer.watch(senior_id, reason="benchmark", policy=policy, frames=frames if i == 0 else 2)
            await viewer.leave(got["peer_id"])
        finally:
            await viewer.close()
        firsts.append(got["first_frame_ms"])
        types.append(got["candidate_types"])
        if i == 0:
            fps.append(got["fps"])
        progress(f"  {policy} run {i + 1}/{runs}: first frame {got['first_frame_ms']:.0f} ms"
                 + (f", {got['fps']:.1f} fps over {frames} frames" if i == 0 else "") + f" {got['candidate_types']}")
    return {"p50": statistics.median(firsts), "max": max(firsts), "fps": fps[0], "pairs": types[0]}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    name = f"ss_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    tmp = Path(tempfile.mkdtemp(prefix="ss-bench-webrtc-"))
    try:
        upgrade(_database_url(name))
        with LocalTurn(tmp / "coturn") as turn:
            settings = Settings(environment="test", database_url=_database_url(name), redis_url=REDIS_URL,
                                redis_prefix=f"ssbench:{name}:", storage_dir=tmp / "objects",
                                jwt_secret="bench-" + uuid.uuid4().hex, turn_urls=turn.urls, turn_secret=turn.secret)
            return await _bench(settings, args)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _bench(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    state = build_state(settings)
    app = create_app(settings)
    app.state.services = state
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        progress("creating an organisation, a senior's home, a hub and a robot ...")
        org = await make_org(client, state, "Bench")
        home = await make_robot_home(client, org)
    result: dict[str, Any] = {}
    async with signaling_server(state) as (url, _sig):
        robot = RobotVideo(url, home.robot_id, home.robot_secret, Camera(World(scenario="fall")))
        original = aioice.ice.get_host_addresses
        aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]  # one machine: loopback
        try:
            await robot.connect()
            for policy in ("all", "relay"):
                progress(f"{policy}: {args.runs} runs")
                result[policy] = await measure(url, org.staff1["token"], home.senior_id, policy, args.runs,
                                               args.frames)
        finally:
            aioice.ice.get_host_addresses = original
            await robot.close()
    await state.bus.close()
    await state.db.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    r = asyncio.run(run(args))
    print(json.dumps({
        "first_frame_ms_direct": round(r["all"]["p50"], 1), "first_frame_ms_relay": round(r["relay"]["p50"], 1),
        "first_frame_ms_relay_max": round(r["relay"]["max"], 1),
        "fps": round(min(r["all"]["fps"], r["relay"]["fps"]), 1),
        "fps_direct": round(r["all"]["fps"], 1), "fps_relay": round(r["relay"]["fps"], 1),
        "resolution": "640x480", "runs": args.runs, "relay_pair": r["relay"]["pairs"],
        "target": {"first_frame_ms_relay_p50_max": 1500, "fps_min": 25}}))


if __name__ == "__main__":
    main()
