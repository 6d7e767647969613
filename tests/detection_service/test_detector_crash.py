"""`seniorsafe detect` as a real process: kill -9 mid-stream, restart, no lost or duplicated alerts."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from seniorsafe.alerts.models import AlertStatus
from seniorsafe.config import Settings
from seniorsafe.deps import AppState
from seniorsafe.telemetry.live import stream_key
from tests.conftest import Org
from tests.detection_service.conftest import alerts_of, new_home, send
from tests.servers import settings_env

CYCLES = 9  # wet/dry cycles per home: each one is exactly one water_leak alert


def start_detector(settings: Settings, name: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        return subprocess.Popen([sys.executable, "-m", "seniorsafe.cli", "detect", "--name", name, "--tick", "0.2",
                                 "--lease-seconds", "2"], env=settings_env(settings), stdout=fh,
                                stderr=subprocess.STDOUT)


async def wait_for(check: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def test_kill9_resume(client: httpx.AsyncClient, state: AppState, settings: Settings, det_orgs: list[Org],
                            tmp_path: Path) -> None:
    homes = [await new_home(client, det_orgs[1], (("leak", "water_leak", "bathroom"),)) for _ in range(3)]
    name = f"crash-{uuid.uuid4().hex[:6]}"
    group = f"{name}-0-of-1"
    log = tmp_path / "detector.log"
    heartbeat = state.bus.key("detector", "heartbeat", group)

    async def alive() -> bool:
        raw = await state.bus.redis.get(heartbeat)
        return raw is not None and orjson.loads(raw)["pid"] == proc.pid

    async def caught_up() -> bool:
        groups: Any = await state.bus.redis.xinfo_groups(stream_key(state.bus))
        g = next(g for g in groups if g["name"].decode() == group)
        return g["pending"] == 0 and g["lag"] == 0

    last = [0.0]

    async def cycle(i: int) -> None:
        # strictly increasing times: an event older than the sensor's state would be (rightly) "late"
        base = max(time.time(), last[0] + 0.05)
        last[0] = base
        for h in homes:
            await send(state, h, [("pir-bathroom", True, base), ("leak", True, base + 0.01),
                                  ("leak", False, base + 0.02)])

    proc = start_detector(settings, name, log)
    try:
        await wait_for(alive, 30, "the detector to start")
        for i in range(3):
            await cycle(i)
        await asyncio.sleep(0.3)
        for i in range(3, 5):  # kill while entries are in flight
            await cycle(i)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        for i in range(5, 7):  # while the detector is dead
            await cycle(i)
        proc = start_detector(settings, name, log)
        await wait_for(alive, 30, "the detector to restart")
        for i in range(7, CYCLES):
            await cycle(i)
        for h in homes:
            await send(state, h, [("button", True, time.time())])
        await wait_for(caught_up, 30, "the detector to catch up")
        await asyncio.sleep(0.5)
        for h in homes:
            leaks = await alerts_of(state, h.senior_id, "water_leak")
            assert len(leaks) == CYCLES, log.read_text()[-2000:]
            assert all(a.status is AlertStatus.closed for a in leaks)
            buttons = await alerts_of(state, h.senior_id, "emergency_button")
            assert len(buttons) == 1 and buttons[0].status is AlertStatus.open
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=15)
