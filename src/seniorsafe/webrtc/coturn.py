"""Run a private coturn (`turnserver`) on free ports: for the tests, the benchmark and `seniorsafe up`.

Loopback peers are allowed here because everything runs on one machine; the production config
(deploy/coturn/turnserver.prod.conf) denies them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import TracebackType

from seniorsafe.config import random_secret
from seniorsafe.processes import free_port, stop_process, wait_for_port


def render(data_dir: Path, port: int, secret: str, realm: str, relay_min: int, relay_max: int) -> str:
    return "\n".join([
        "listening-ip=127.0.0.1", f"listening-port={port}", "relay-ip=127.0.0.1",
        f"min-port={relay_min}", f"max-port={relay_max}", f"realm={realm}", "use-auth-secret",
        f"static-auth-secret={secret}", "fingerprint", "no-tls", "no-dtls", "no-cli", "no-multicast-peers",
        "allow-loopback-peers", f"userdb={data_dir / 'turndb'}", f"pidfile={data_dir / 'turnserver.pid'}",
        f"log-file={data_dir / 'turnserver.log'}", "simple-log", "",
    ])


class LocalTurn:
    """coturn on a free port with REST credentials (use-auth-secret)."""

    def __init__(self, data_dir: Path, secret: str | None = None, realm: str = "seniorsafe.test") -> None:
        if shutil.which("turnserver") is None:
            raise FileNotFoundError("coturn is not installed (apt-get install -y coturn)")
        self.data_dir = data_dir
        self.port = free_port(also_udp=True)
        self.secret = secret or random_secret(32)
        self.realm = realm
        base = 20000 + (self.port * 7) % 30000
        self.conf = data_dir / "turnserver.conf"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(render(data_dir.resolve(), self.port, self.secret, realm, base, base + 200))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def urls(self) -> list[str]:
        return [f"turn:127.0.0.1:{self.port}?transport=udp"]

    def start(self) -> LocalTurn:
        out = open(self.data_dir / "stdout.log", "ab")  # noqa: SIM115 - owned by the child process
        self.proc = subprocess.Popen(["turnserver", "-c", str(self.conf)], stdout=out, stderr=out)
        try:
            wait_for_port(self.port, what="turnserver", proc=self.proc)
        except TimeoutError as exc:
            raise RuntimeError(f"turnserver did not start; see {self.data_dir}") from exc
        return self

    def stop(self) -> None:
        stop_process(self.proc, grace_seconds=5)

    def __enter__(self) -> LocalTurn:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
