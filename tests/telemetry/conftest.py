"""Telemetry fixtures: registered hubs with the demo sensors, event builders, and a private Mosquitto."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from seniorsafe.config import Settings
from seniorsafe.deps import AppState
from seniorsafe.seed import DEMO_SENSORS
from seniorsafe.simulate.runner import SEOUL
from tests.conftest import Org, make_org


@dataclass
class HubFixture:
    org: Org
    hub_id: str
    secret: str
    home_id: str
    senior_id: str

    def basic(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self.hub_id, self.secret)


def ev(sensor: str, seq: int, value: Any = True, *, ago: float = 0.0, **extra: Any) -> dict[str, Any]:
    ts = datetime.now(UTC) - timedelta(seconds=ago)
    return {"sensor": sensor, "ts": ts.isoformat().replace("+00:00", "Z"), "value": value, "seq": seq, **extra}


async def register_hub(client: httpx.AsyncClient, org: Org) -> HubFixture:
    """A new senior (assigned to staff1, guardian linked) with a home, a hub and the demo sensors."""
    admin = org.h(org.admin)
    r = await client.post("/api/v1/seniors", headers=admin, json={
        "name": f"Tele {uuid.uuid4().hex[:6]}", "birth_date": "1940-02-03", "staff_ids": [org.staff1["id"]]})
    assert r.status_code == 201, r.text
    senior_id = r.json()["id"]
    r = await client.post(f"/api/v1/seniors/{senior_id}/guardians", headers=admin, json={
        "name": "Son", "relation": "son", "phone": "010-1234-5678", "user_id": org.guardian["id"]})
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/seniors/{senior_id}/home", headers=admin, json={})
    assert r.status_code == 201, r.text
    home_id = r.json()["id"]
    hub_id = f"hub-{uuid.uuid4().hex[:12]}"
    r = await client.post(f"/api/v1/homes/{home_id}/hubs", headers=admin, json={"id": hub_id, "name": "hub"})
    assert r.status_code == 201, r.text
    secret = r.json()["credential"]["secret"]
    for sensor_id, kind, room, label in DEMO_SENSORS:
        r = await client.post(f"/api/v1/hubs/{hub_id}/sensors", headers=admin,
                              json={"sensor_id": sensor_id, "kind": kind.value, "room": room.value, "label": label})
        assert r.status_code == 201, r.text
    return HubFixture(org, hub_id, secret, home_id, senior_id)


@pytest.fixture(scope="session")
async def tele_orgs(app: Any, state: AppState) -> list[Org]:
    """Two organisations shared by the telemetry tests (creating users is slow: argon2)."""
    transport = httpx.ASGITransport(app=app, client=("10.9.8.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        return [await make_org(c, state, "TA"), await make_org(c, state, "TB")]


@pytest.fixture
async def hub(client: httpx.AsyncClient, tele_orgs: list[Org]) -> HubFixture:
    return await register_hub(client, tele_orgs[0])


@pytest.fixture
async def other_hub(client: httpx.AsyncClient, tele_orgs: list[Org]) -> HubFixture:
    return await register_hub(client, tele_orgs[1])


@pytest.fixture(scope="session")
def topic_root(run_id: str) -> str:
    return f"sstest-{run_id}/v1"


@pytest.fixture(scope="session")
def mqtt_settings(settings: Settings, broker: Any) -> Settings:
    return broker.backend_settings(settings)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory, topic_root: str) -> Iterator[Any]:
    from seniorsafe.telemetry.broker import LocalBroker

    with LocalBroker(tmp_path_factory.mktemp("mosquitto"), root=topic_root) as running:
        yield running


class IngestProcess:
    """`seniorsafe ingest` as a real child process (so that it can be killed with SIGKILL)."""

    def __init__(self, settings: Settings, client_id: str, log_path: Any) -> None:
        self.settings = settings
        self.client_id = client_id
        self.log_path = log_path
        self.proc: Any = None

    def env(self) -> dict[str, str]:
        s = self.settings
        return {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": s.database_url, "REDIS_URL": s.redis_url,
                "REDIS_PREFIX": s.redis_prefix, "MQTT_HOST": s.mqtt_host, "MQTT_PORT": str(s.mqtt_port),
                "MQTT_USERNAME": s.mqtt_username or "", "MQTT_PASSWORD": s.mqtt_password or "",
                "MQTT_TOPIC_ROOT": s.mqtt_topic_root, "JWT_SECRET": s.jwt_secret}

    def start(self) -> IngestProcess:
        """Start and wait for the subscription (only the very first start matters: later, the broker keeps the
        session's messages while the process is down)."""
        before = self.log_path.read_text().count("subscribed:") if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen([sys.executable, "-m", "seniorsafe.cli", "ingest", "--client-id",
                                      self.client_id, "--max-batch", "500"], env=self.env(), stdout=log,
                                     stderr=subprocess.STDOUT)
        for _ in range(300):
            if self.log_path.read_text().count("subscribed:") > before:
                break
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def ingest(mqtt_settings: Settings, run_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[IngestProcess]:
    from seniorsafe.telemetry import dynsec

    dynsec.configure(mqtt_settings)
    proc = IngestProcess(mqtt_settings, f"ingest-test-{run_id}", tmp_path_factory.mktemp("ingest") / "ingest.log")
    proc.start()
    yield proc
    proc.stop()
    dynsec.configure(None)


class HubClient:
    """A hub's MQTT connection (paho, MQTT 5) for tests: publish and see the broker's PUBACK reason."""

    def __init__(self, port: int, username: str, password: str, *, will_topic: str | None = None) -> None:
        import paho.mqtt.client as mqtt

        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.connack: Any = None
        self.pubacks: dict[int, Any] = {}
        self.subacks: list[Any] = []
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{username}-{uuid.uuid4().hex[:6]}",
                             protocol=mqtt.MQTTProtocolVersion.MQTTv5)
        self.c.username_pw_set(username, password)
        if will_topic:
            self.c.will_set(will_topic, b"offline", qos=1, retain=True)
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = lambda *a: self.disconnected.set()
        self.c.on_publish = lambda c, u, mid, rc, p: self.pubacks.__setitem__(mid, rc)
        self.c.on_subscribe = lambda c, u, mid, rcs, p: self.subacks.extend(rcs)
        self.c.connect("127.0.0.1", port, keepalive=5)
        self.c.loop_start()
        self.connected.wait(5)

    def _on_connect(self, c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connack = reason
        if not reason.is_failure:
            self.connected.set()
        else:
            self.disconnected.set()

    def publish(self, topic: str, payload: bytes, retain: bool = False, wait: bool = True) -> Any:
        info = self.c.publish(topic, payload, qos=1, retain=retain)
        if wait:
            info.wait_for_publish(5)
            return self.pubacks.get(info.mid)
        return info

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def last_morning() -> datetime:
    """The most recent 09:00 in Seoul (the simulator's timezone) that is at least 3 hours ago, in UTC."""
    now = datetime.now(UTC)
    morning = now.astimezone(SEOUL).replace(hour=9, minute=0, second=0, microsecond=0)
    while morning > now - timedelta(hours=3):
        morning -= timedelta(days=1)
    return morning.astimezone(UTC)
