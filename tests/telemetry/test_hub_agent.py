"""The hub agent: every event reaches the backend, in order, across a network outage and an agent restart."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from pathlib import Path

import httpx
from sqlalchemy import text

from seniorsafe.config import Settings
from seniorsafe.deps import AppState
from seniorsafe.hub.agent import HubAgent
from seniorsafe.hub.config import HubConfig
from seniorsafe.hub.sources import z2m_readings
from seniorsafe.telemetry import dynsec
from tests.telemetry.conftest import IngestProcess, register_hub


class Proxy:
    """A TCP proxy standing for the hub's internet link: cut() drops every connection and refuses new ones."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.port = 0
        self.conns: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(16)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                down, _ = listener.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", self.upstream))
            self.conns += [down, up]
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        assert self.listener is not None
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        for s in self.conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
                s.close()
        self.conns.clear()


def test_z2m_mapping() -> None:
    mapping = {"occupancy": "pir", "contact": "door", "action": "button", "water_leak": "leak"}
    assert z2m_readings({"occupancy": True, "battery": 91.4}, mapping) == [("pir", 1.0, 91)]
    assert z2m_readings({"contact": True}, mapping) == [("door", 0.0, None)]  # contact true = closed
    assert z2m_readings({"contact": False}, mapping) == [("door", 1.0, None)]
    assert z2m_readings({"action": "single"}, mapping) == [("button", 1.0, None)]
    assert z2m_readings({"action": ""}, mapping) == []
    assert z2m_readings({"water_leak": False, "linkquality": 80}, mapping) == [("leak", 0.0, None)]


async def _count(state: AppState, hub_id: str) -> int:
    async with state.db.sessions() as s:
        return int(await s.scalar(text("SELECT count(*) FROM sensor_events WHERE hub_id = :h"), {"h": hub_id}) or 0)


async def _wait_count(state: AppState, hub_id: str, n: int, within: float = 30) -> int:
    got = -1
    for _ in range(int(within * 10)):
        if (got := await _count(state, hub_id)) == n:
            break
        await asyncio.sleep(0.1)
    return got


def _start(agent: HubAgent) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    thread.start()
    return stop, thread


async def test_backlog_after_outage_complete_and_in_order(
        client: httpx.AsyncClient, state: AppState, mqtt_settings: Settings, ingest: IngestProcess,
        tele_orgs: list, tmp_path: Path) -> None:
    h = await register_hub(client, tele_orgs[0])
    await dynsec.drain()
    proxy = Proxy(mqtt_settings.mqtt_port)
    config = HubConfig(hub_id=h.hub_id, secret=h.secret, broker_port=proxy.port,
                       topic_root=mqtt_settings.mqtt_topic_root, data_dir=tmp_path, backlog_rate=200,
                       backlog_batch=25, heartbeat_seconds=1)
    agent = HubAgent(config)
    stop, thread = _start(agent)
    sensors = ["pir-living", "pir-kitchen", "bed", "door-front", "fridge"]
    for i in range(50):
        agent.record(sensors[i % 5], i % 2)
    assert await _wait_count(state, h.hub_id, 50) == 50
    proxy.cut()  # the home's internet goes down
    for i in range(300):
        agent.record(sensors[i % 5], i % 2)
    await asyncio.sleep(1.0)
    stop.set()  # and the hub restarts during the outage
    thread.join(10)
    agent2 = HubAgent(config)
    assert agent2.outbox.count() >= 300
    stop2, thread2 = _start(agent2)
    for i in range(100):
        agent2.record(sensors[i % 5], i % 2)
    await asyncio.sleep(0.5)
    assert await _count(state, h.hub_id) == 50
    proxy.restore()
    assert await _wait_count(state, h.hub_id, 450, within=40) == 450
    async with state.db.sessions() as s:
        seqs = list(await s.scalars(text("SELECT seq FROM sensor_events WHERE hub_id = :h ORDER BY received_at, seq"),
                                    {"h": h.hub_id}))
        connectivity = await s.scalar(text("SELECT connectivity::text FROM hubs WHERE id = :h"), {"h": h.hub_id})
    assert sorted(seqs) == list(range(1, 451))
    assert seqs == sorted(seqs), "the backlog arrived out of order"
    assert connectivity == "online"
    for _ in range(100):
        if not agent2.outbox.count():
            break
        await asyncio.sleep(0.1)
    assert agent2.outbox.count() == 0  # acknowledged events are deleted from the hub's disk
    stop2.set()
    thread2.join(10)
    proxy.cut()
