"""The backend's worker processes for the live browser tests, each started as the real command with the test
settings (tests/servers.py `settings_env`), its output in a log file under the test's tmp_path, and stopped with
SIGTERM (SIGKILL after 10 s) when the test ends.

- `seniorsafe detect` (ready when its Redis heartbeat names its pid),
- `seniorsafe robots`, the robot dispatcher (ready when it has stored a status report of the robot),
- `seniorsafe robot-sim`, the simulated robot: MQTT with the hub's credential, video over `/webrtc` with the
  robot's own credential (ready when the signaling has its connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from seniorsafe.config import Settings
from seniorsafe.processes import stop_process
from tests.servers import settings_env


def tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no output)"


class Process:
    """One `python -m seniorsafe.cli ...` child process writing to `log`."""

    def __init__(self, name: str, args: list[str], settings: Settings, log: Path) -> None:
        self.name, self.log = name, log
        with log.open("ab") as fh:
            self.proc = subprocess.Popen([sys.executable, "-m", "seniorsafe.cli", *args], env=settings_env(settings),
                                         stdout=fh, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def wait_until(self, ready: Callable[[], Awaitable[Any]], limit: float, what: str) -> None:
        """Poll `ready()` until it is truthy; fail with the process's output if it exits or takes too long."""
        deadline = time.monotonic() + limit
        while True:
            if await ready():
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: {what} not seen within {limit:.0f} s "
                                   f"(exit code {self.proc.poll()}):\n{tail(self.log)}")
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        stop_process(self.proc)


@contextlib.contextmanager
def processes() -> Any:
    """Collects the processes a test starts; stops them all (in reverse order) at the end."""
    started: list[Process] = []
    try:
        yield started
    finally:
        for proc in reversed(started):
            proc.stop()


def start_detector(settings: Settings, log: Path) -> tuple[Process, str]:
    """`seniorsafe detect` with its own consumer group name; returns the process and that name."""
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    proc = Process("detector", ["detect", "--name", name, "--tick", "0.2", "--lease-seconds", "3",
                                "--history-hours", "0.1"], settings, log)
    return proc, name


async def detector_ready(proc: Process, name: str, state: Any, limit: float = 45) -> None:
    heartbeat = state.bus.key("detector", "heartbeat", f"{name}-0-of-1")

    async def beating() -> bool:
        raw = await state.bus.redis.get(heartbeat)
        return raw is not None and orjson.loads(raw)["pid"] == proc.pid

    await proc.wait_until(beating, limit, "the detector's heartbeat")


@contextlib.asynccontextmanager
async def running_detector(settings: Settings, state: Any, log: Path) -> AsyncIterator[Process]:
    """`seniorsafe detect` as a real process (its own consumer group); returns once it consumes."""
    proc, name = start_detector(settings, log)
    try:
        await detector_ready(proc, name, state)
        yield proc
    finally:
        proc.stop()


def start_dispatcher(broker_settings: Settings, log: Path) -> Process:
    """`seniorsafe robots`: command delivery over MQTT, acks and status, the safety-check flow."""
    return Process("robots", ["robots"], broker_settings, log)


def start_robot_sim(broker_settings: Settings, log: Path, *, robot_id: str, robot_secret: str, hub_id: str,
                    hub_secret: str, api_url: str, scenario: str, person_room: str, dock_room: str = "living",
                    time_scale: float = 10.0) -> Process:
    """`seniorsafe robot-sim` as the home's robot, straight to the backend broker with the hub's credential."""
    return Process("robot-sim", [
        "robot-sim", "--robot-id", robot_id, "--hub-id", hub_id, "--hub-secret", hub_secret,
        "--mqtt-host", broker_settings.mqtt_host, "--mqtt-port", str(broker_settings.mqtt_port),
        "--api-url", api_url, "--robot-secret", robot_secret, "--scenario", scenario, "--person-room", person_room,
        "--dock-room", dock_room, "--time-scale", str(time_scale)], broker_settings, log)
