"""Running the real api process (uvicorn) for tests that need a server over TCP."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from seniorsafe.config import Settings
from seniorsafe.processes import free_port, stop_process


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process use the same settings as the tests."""
    env = dict(os.environ)
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        env[name.upper()] = value if isinstance(value, str) else __import__("json").dumps(value)
    return env


@contextlib.contextmanager
def api_server(settings: Settings, workers: int = 1) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "seniorsafe.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
        env=settings_env(settings),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"api server did not start (exit {proc.poll()})")
            time.sleep(0.2)
        yield base
    finally:
        stop_process(proc)
