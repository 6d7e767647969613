"""`seniorsafe up`: the whole system on one machine for a newcomer; Ctrl-C stops everything cleanly.

Embedded PostgreSQL and Redis where DATABASE_URL / REDIS_URL are not set, a private Mosquitto where
MQTT_HOST is not set, then api, ingest, detector, trainer, robot dispatcher, a simulated neighbourhood
and a simulated robot. Secrets for this machine are generated once and kept in var/dev-secrets.json, so a
second run keeps the data and the sessions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from seniorsafe.config import random_secret
from seniorsafe.processes import wait_for_port

log = logging.getLogger(__name__)
BROKER_PORT = 18830
DEMO_RESIDENTS = 4
BACKFILL_DAYS = 3


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "seniorsafe.cli", *args]


def _dev_secrets(var_dir: Path) -> dict[str, str]:
    path = var_dir / "dev-secrets.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    secrets = {"JWT_SECRET": random_secret(48), "MQTT_PASSWORD": random_secret(24)}
    path.write_text(json.dumps(secrets))
    path.chmod(0o600)
    return secrets


def _demo_credentials(env: dict[str, str], var_dir: Path) -> tuple[Path, tuple[str, str, str] | None]:
    """Fresh credentials for the demo hubs (registered in the broker) and the demo robot."""
    from seniorsafe.config import get_settings
    from seniorsafe.db import Database
    from seniorsafe.seed import issue_demo_robot_credential
    from seniorsafe.simulate.runner import demo_credentials

    os.environ.update(env)  # the broker account hooks read the process settings
    get_settings.cache_clear()
    settings = get_settings()
    hubs = asyncio.run(demo_credentials(settings, DEMO_RESIDENTS))
    hubs_file = var_dir / "demo-hubs.json"
    hubs_file.write_text(json.dumps([{"hub_id": h, "secret": s} for h, s in hubs]))
    hubs_file.chmod(0o600)

    async def robot() -> tuple[str, str, str] | None:
        db = Database(settings)
        try:
            async with db.sessions() as session:
                return await issue_demo_robot_credential(session)
        finally:
            await db.dispose()

    return hubs_file, asyncio.run(robot())


def _backfill_history(env: dict[str, str], var_dir: Path, hubs_file: Path) -> None:
    """On the first run, three simulated days of history, so charts and personal models have data at once."""
    marker = var_dir / "demo-history-done"
    if marker.exists():
        return
    time.sleep(3)  # the ingest subscribes first: its persistent session must exist before the backlog is sent
    start = datetime.now(UTC) - timedelta(days=BACKFILL_DAYS)
    print(f"adding {BACKFILL_DAYS} days of simulated history (first run only) ...", flush=True)
    done = subprocess.run(_cli("simulate", "--residents", str(DEMO_RESIDENTS), "--days", str(BACKFILL_DAYS),
                               "--speed", "0", "--start", start.isoformat(), "--hubs-file", str(hubs_file)),
                          env=env, check=False, timeout=600)
    if done.returncode == 0:
        marker.write_text(start.isoformat())


class Supervisor:
    """Starts child processes, stops all of them when one dies or on Ctrl-C."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def start(self, name: str, args: list[str]) -> None:
        self.children[name] = subprocess.Popen(args, env=self.env)

    def run_until_stopped(self) -> None:
        def _stop(*_: object) -> None:
            self.stopping = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        while not self.stopping:
            for name, proc in self.children.items():
                if proc.poll() is not None:
                    log.error("%s exited with %s; stopping everything", name, proc.returncode)
                    self.stopping = True
            time.sleep(0.5)

    def stop_all(self) -> None:
        for proc in reversed(list(self.children.values())):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.children.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def run_all(host: str, port: int, var_dir: Path) -> None:
    from seniorsafe.embedded import embedded_defaults

    var_dir = var_dir.resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    with embedded_defaults(var_dir) as servers:
        env = {**os.environ, **servers}
        for name, value in _dev_secrets(var_dir).items():
            env.setdefault(name, value)
        env.setdefault("STORAGE_DIR", str(var_dir / "objects"))
        env.setdefault("PUBLIC_URL", f"http://{host}:{port}")
        own_broker = "MQTT_HOST" not in os.environ
        if own_broker:
            env.update(MQTT_HOST="127.0.0.1", MQTT_PORT=str(BROKER_PORT), MQTT_USERNAME="seniorsafe-backend")
        subprocess.run(_cli("db", "upgrade"), env=env, check=True)
        subprocess.run(_cli("seed-demo"), env=env, check=True)
        sup = Supervisor(env)
        try:
            if own_broker:
                sup.start("broker", _cli("broker", "run", "--data-dir", str(var_dir / "mosquitto"),
                                         "--port", str(BROKER_PORT)))
                wait_for_port(BROKER_PORT, timeout=20.0, what="the broker")
            hubs_file, robot = _demo_credentials(env, var_dir)
            api_url = f"http://{host}:{port}"
            sup.start("api", _cli("api", "--host", host, "--port", str(port)))
            for name in ("ingest", "detect", "train", "robots"):
                sup.start(name, _cli(name))
            _backfill_history(env, var_dir, hubs_file)
            sup.start("simulate", _cli("simulate", "--residents", str(DEMO_RESIDENTS), "--days", "365",
                                       "--speed", "1", "--hubs-file", str(hubs_file)))
            wait_for_port(port, timeout=60, what="the api")  # the robot signs in to the api's signaling
            if robot is not None:
                robot_id, hub_id, robot_secret = robot
                hub_secret = next(h["secret"] for h in json.loads(hubs_file.read_text()) if h["hub_id"] == hub_id)
                sup.start("robot-sim", _cli("robot-sim", "--robot-id", robot_id, "--hub-id", hub_id,
                                            "--hub-secret", hub_secret, "--mqtt-host", env["MQTT_HOST"],
                                            "--mqtt-port", env["MQTT_PORT"], "--api-url", api_url,
                                            "--robot-secret", robot_secret, "--scenario", "fine"))
            print(f"\nSenior Safe Things is running: open {api_url}  (API docs: {api_url}/docs)\n"
                  "Sign in with a demo account listed above (password demo-password-1).\n"
                  "Trigger a demo emergency (emergency button in 김복순's home):\n"
                  f"  .venv/bin/seniorsafe simulate --hubs-file {hubs_file} --residents 1 --days 0.002 "
                  "--scenario button@0\n"
                  "Ctrl-C stops everything; the data stays in ./var for the next run.\n", flush=True)
            sup.run_until_stopped()
        finally:
            sup.stop_all()
            print("stopped", flush=True)
