"""Run Mosquitto with the project's configuration (deploy/mosquitto/mosquitto.conf): for `seniorsafe broker run`,
the tests and the benchmark. Debian does not start the packaged broker for us; every caller starts its own."""

from __future__ import annotations

import getpass
import glob
import os
import shutil
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from seniorsafe.config import Settings, random_secret
from seniorsafe.processes import free_port, stop_process, wait_for_port
from seniorsafe.telemetry.dynsec import build_config

TEMPLATE_CANDIDATES = (
    Path(__file__).resolve().parents[3] / "deploy" / "mosquitto" / "mosquitto.conf",
    Path("/etc/seniorsafe/mosquitto.conf"),
)


def find_plugin() -> str:
    for pattern in ("/usr/lib/*/mosquitto_dynamic_security.so", "/usr/lib/mosquitto_dynamic_security.so",
                    "/usr/local/lib/mosquitto_dynamic_security.so"):
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    raise FileNotFoundError("mosquitto_dynamic_security.so not found: install the Debian package `mosquitto`")


def template() -> str:
    for path in TEMPLATE_CANDIDATES:
        if path.exists():
            return path.read_text()
    raise FileNotFoundError("deploy/mosquitto/mosquitto.conf not found")


def render(data_dir: Path, port: int, bind: str = "127.0.0.1") -> str:
    return (template().replace("@PORT@", str(port)).replace("@BIND@", bind)
            .replace("@DATA_DIR@", str(data_dir)).replace("@DYNSEC_PLUGIN@", find_plugin())
            .replace("@USER@", getpass.getuser()))


def write_files(data_dir: Path, port: int, dynsec: dict[str, Any] | None, bind: str = "127.0.0.1") -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "mosquitto.conf"
    conf.write_text(render(data_dir.resolve(), port, bind))
    state = data_dir / "dynamic-security.json"
    if dynsec is not None:
        state.write_text(orjson.dumps(dynsec, option=orjson.OPT_INDENT_2).decode())
    os.chmod(state, 0o600)
    return conf


class LocalBroker:
    """A private Mosquitto on a free port with a fresh dynamic-security state (backend admin account only)."""

    def __init__(self, data_dir: Path, root: str = "seniorsafe/v1", port: int | None = None) -> None:
        if shutil.which("mosquitto") is None:
            raise FileNotFoundError("mosquitto is not installed (apt-get install -y mosquitto mosquitto-clients)")
        self.data_dir = data_dir
        self.port = port or free_port()
        self.admin_user = "seniorsafe-backend"
        self.admin_password = random_secret(18)
        self.root = root
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = write_files(data_dir, self.port, build_config(root, self.admin_user, self.admin_password, []))

    def start(self) -> LocalBroker:
        log = open(self.data_dir / "mosquitto.log", "ab")  # noqa: SIM115 - owned by the child process
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=log, stderr=log)
        wait_for_port(self.port, what="the broker")
        return self

    def stop(self) -> None:
        stop_process(self.proc, grace_seconds=5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def backend_settings(self, settings: Settings, **extra: Any) -> Settings:
        """`settings` pointed at this broker with the backend's account (and any other `extra` changes)."""
        return settings.model_copy(update={
            "mqtt_host": "127.0.0.1", "mqtt_port": self.port, "mqtt_username": self.admin_user,
            "mqtt_password": self.admin_password, "mqtt_topic_root": self.root, **extra})

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
