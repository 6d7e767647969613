"""deploy/coturn: the production config, rendered by the container entrypoint, runs a real turnserver."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from seniorsafe.processes import free_port
from tests.deploy.conftest import DEPLOY, self_signed_cert

BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
MAGIC = 0x2112A442


def stun_binding(port: int) -> int:
    """Send a STUN Binding request over UDP; return the response's message type."""
    txid = uuid.uuid4().bytes[:12]
    request = struct.pack("!HHI", BINDING_REQUEST, 0, MAGIC) + txid
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        s.sendto(request, ("127.0.0.1", port))
        data, _ = s.recvfrom(2048)
    assert data[8:20] == txid
    return int(struct.unpack("!H", data[:2])[0])


def test_production_coturn_config_starts_and_answers(tmp_path: Path) -> None:
    if not shutil.which("turnserver"):
        pytest.fail("coturn is not installed (scripts/services.sh installs it)")
    cert, key = self_signed_cert(tmp_path)
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(cert, certs / "fullchain.pem")
    shutil.copy(key, certs / "privkey.pem")
    port, tls_port = free_port(), free_port()
    base = 40000 + (os.getpid() % 200) * 100
    env = {**os.environ, "TURN_SECRET": uuid.uuid4().hex * 2, "TURN_REALM": "turn.test", "TURN_PUBLIC_IP": "127.0.0.1",
           "TURN_PRIVATE_IP": "127.0.0.1", "TURN_TEMPLATE": str(DEPLOY / "coturn" / "turnserver.prod.conf"),
           "TURN_CONFIG_OUT": str(tmp_path / "turnserver.conf"), "TURN_CERT_DIR": str(certs),
           "TURN_LISTEN_PORT": str(port), "TURN_TLS_PORT": str(tls_port), "TURN_MIN_PORT": str(base),
           "TURN_MAX_PORT": str(base + 50), "TURN_PID_FILE": str(tmp_path / "turn.pid"),
           "TURN_DB": str(tmp_path / "turndb")}
    log = (tmp_path / "turn.log").open("w")
    proc = subprocess.Popen(["sh", str(DEPLOY / "coturn" / "entrypoint.sh")], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        answer = None
        while answer is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                answer = stun_binding(port)
            except OSError:
                time.sleep(0.3)
        rendered = (tmp_path / "turnserver.conf").read_text()
        assert f"min-port={base}" in rendered and f"max-port={base + 50}" in rendered
        settings_lines = [line for line in rendered.splitlines() if line and not line.startswith("#")]
        assert "use-auth-secret" in settings_lines and not [line for line in settings_lines if "@" in line]
        assert answer == BINDING_SUCCESS, (tmp_path / "turn.log").read_text()[-3000:]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
