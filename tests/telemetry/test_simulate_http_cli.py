"""`seniorsafe simulate --via http --api-url URL`: the command line drives the hub HTTP path of a real api."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
from sqlalchemy import text

from seniorsafe.config import Settings
from seniorsafe.deps import AppState
from seniorsafe.simulate.runner import resident_events
from tests.conftest import Org
from tests.servers import api_server, settings_env
from tests.telemetry.conftest import last_morning, register_hub


async def test_simulate_via_http_from_the_command_line(client: httpx.AsyncClient, state: AppState,
                                                       settings: Settings, tele_orgs: list[Org],
                                                       tmp_path: Path) -> None:
    hub = await register_hub(client, tele_orgs[0])
    hubs_file = tmp_path / "hubs.json"
    hubs_file.write_bytes(orjson.dumps([{"hub_id": hub.hub_id, "secret": hub.secret}]))
    start = last_morning()  # a waking-hours window: at night the simulated resident may not move at all
    expected = resident_events(0, start, start + timedelta(days=0.1), seed=5)
    assert expected
    command = [sys.executable, "-m", "seniorsafe.cli", "simulate", "--via", "http", "--hubs-file", str(hubs_file),
               "--residents", "1", "--days", "0.1", "--speed", "0", "--start", start.isoformat(), "--seed", "5"]
    refused = await asyncio.to_thread(subprocess.run, command, env=settings_env(settings), capture_output=True,
                                      text=True, timeout=60)
    assert refused.returncode != 0 and "--api-url" in refused.stderr  # http needs the api's URL
    with api_server(settings) as base:
        done = await asyncio.to_thread(subprocess.run, [*command, "--api-url", base + "/"],
                                       env=settings_env(settings), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    async with state.db.sessions() as session:
        stored = await session.scalar(text("SELECT count(*) FROM sensor_events WHERE hub_id = :h"),
                                      {"h": hub.hub_id})
    assert stored == len(expected)
