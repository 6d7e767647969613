"""Shared MQTT load pieces for the benchmarks (bench/ingest.py, bench/realtime.py): a private Mosquitto with a
dynamic-security account per hub, the `seniorsafe ingest` processes, and a minimal MQTT 3.1.1 publisher on raw
sockets (pre-built packets, QoS 1, PUBACKs counted) so that the measurement is about the backend, not the
publishers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import orjson

from seniorsafe.telemetry.broker import LocalBroker
from seniorsafe.telemetry.dynsec import build_config, hash_password
from seniorsafe.telemetry.mqttwire import encode_varint, utf8_string

ROOT = "seniorsafe/v1"


# ---------------------------------------------------------------- minimal MQTT 3.1.1 publisher


def connect_packet(client_id: str, user: str, password: str) -> bytes:
    header = utf8_string("MQTT") + bytes([4, 0xC2]) + (60).to_bytes(2, "big")  # MQTT 3.1.1, user + password
    body = header + b"".join(utf8_string(s) for s in (client_id, user, password))
    return b"\x10" + encode_varint(len(body)) + body


def publish_packet(topic: bytes, pid: int, payload: bytes) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic + pid.to_bytes(2, "big") + payload
    return b"\x32" + encode_varint(len(body)) + body


class MqttHub:
    """One hub's connection with its own credential: QoS 1 PUBLISHes to `{root}/hubs/{hub_id}/events`, PUBACKs
    counted (`inflight` = published − acknowledged)."""

    def __init__(self, hub_id: str, secret: str, port: int, root: str = ROOT) -> None:
        self.hub_id, self.secret, self.port = hub_id, secret, port
        self.topic = f"{root}/hubs/{hub_id}/events".encode()
        self.pid = 0
        self.inflight = 0
        self.acked = 0
        self.sent = 0

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(connect_packet(f"bench-{self.hub_id}", self.hub_id, self.secret))
        connack = await self.reader.readexactly(4)
        if connack[3] != 0:
            raise RuntimeError(f"CONNACK refused for {self.hub_id}: {connack[3]}")
        self.acker = asyncio.create_task(self._read_acks())

    async def _read_acks(self) -> None:
        buf = b""
        while True:
            data = await self.reader.read(65536)
            if not data:
                return
            buf += data
            n = len(buf) // 4  # PUBACK = 4 bytes (0x40 0x02 pid); nothing else is sent to a publisher
            self.acked += n
            self.inflight -= n
            buf = buf[n * 4:]

    def publish(self, payloads: Iterable[bytes]) -> int:
        """One QoS 1 PUBLISH per payload, written at once (no wait for the PUBACKs)."""
        chunks = []
        for payload in payloads:
            self.pid = self.pid % 65535 + 1
            chunks.append(publish_packet(self.topic, self.pid, payload))
        self.writer.write(b"".join(chunks))
        self.inflight += len(chunks)
        self.sent += len(chunks)
        return len(chunks)

    def close(self) -> None:
        self.writer.close()


async def connect_all(hubs: Sequence[MqttHub], parallel: int = 100) -> None:
    for start in range(0, len(hubs), parallel):
        await asyncio.gather(*(h.connect() for h in hubs[start:start + parallel]))


async def wait_acked(hubs: Sequence[MqttHub], seconds: float = 30.0) -> None:
    """Until every PUBLISH is acknowledged (at most `seconds`)."""
    for _ in range(int(seconds / 0.05)):
        if all(h.inflight <= 0 for h in hubs):
            return
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------- broker and ingest processes


def start_broker(data_dir: Path, hubs: Iterable[tuple[str, str]], root: str = ROOT) -> LocalBroker:
    """A private Mosquitto whose dynamic-security state holds the backend account and one enabled account per
    (hub_id, secret), as production's `seniorsafe broker sync` would write it."""
    broker = LocalBroker(data_dir, root=root)
    config = build_config(root, broker.admin_user, broker.admin_password,
                          [(h, *hash_password(s), True) for h, s in hubs])
    (data_dir / "dynamic-security.json").write_bytes(orjson.dumps(config))
    return broker.start()


def ingest_env(base: dict[str, str], broker: LocalBroker, root: str = ROOT) -> dict[str, str]:
    """The ingest processes' environment: `base` (DATABASE_URL, REDIS_PREFIX, ...) plus the backend's broker
    account. LOG_LEVEL INFO: start_ingest waits for the "subscribed:" line."""
    return {**base, "MQTT_HOST": "127.0.0.1", "MQTT_PORT": str(broker.port), "MQTT_USERNAME": broker.admin_user,
            "MQTT_PASSWORD": broker.admin_password, "MQTT_TOPIC_ROOT": root, "LOG_LEVEL": "INFO"}


def start_ingest(env: dict[str, str], procs: int, log_dir: Path) -> list[subprocess.Popen[bytes]]:
    """`procs` `seniorsafe ingest` processes sharing the subscription; returns once each one has subscribed."""
    out = []
    for i in range(procs):
        log = open(log_dir / f"ingest-{i}.log", "wb")  # noqa: SIM115 - owned by the child
        out.append(subprocess.Popen([sys.executable, "-m", "seniorsafe.cli", "ingest", "--client-id",
                                     f"bench-ingest-{i}", "--max-batch", "2000"], env=env, stdout=log,
                                    stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # every process subscribed (its log says so)
        if all("subscribed:" in (log_dir / f"ingest-{i}.log").read_text() for i in range(procs)):
            break
        time.sleep(0.1)
    else:
        raise RuntimeError(f"ingest processes did not subscribe within 30 s (logs in {log_dir})")
    return out


def stop_all(procs: Iterable[subprocess.Popen[bytes]]) -> None:
    procs = list(procs)
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
