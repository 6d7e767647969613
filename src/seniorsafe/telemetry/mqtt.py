"""`seniorsafe ingest`: the MQTT side of ingest.

One process = one paho client (network thread) + one asyncio loop (batching, database, Redis).
- QoS 1, persistent session (clean_start=False, long session expiry) under a stable client id: events published
  while the process is down wait in the broker and arrive when it returns.
- MQTT 5 shared subscriptions `$share/{group}/{root}/hubs/+/events`: several processes share the load, each
  message goes to one of them.
- manual_ack: a PUBLISH is acknowledged only after `IngestCore.ingest` committed its events (and dead letters)
  and appended them to the stream. A batch that cannot be written is retried, never acknowledged half-done.
- Messages received on an older connection are never acknowledged on a newer one (packet ids are per
  connection); the broker redelivers them and the duplicates are no-ops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from seniorsafe.bus import Bus
from seniorsafe.config import Settings
from seniorsafe.db import Database
from seniorsafe.telemetry import health
from seniorsafe.telemetry.protocol import hub_of_topic
from seniorsafe.telemetry.service import Inbound, IngestCore

log = logging.getLogger(__name__)

SESSION_EXPIRY_SECONDS = 7 * 86400
RECEIVE_MAXIMUM = 2000
WATCHDOG_SECONDS = 30.0
MAINTENANCE_SECONDS = 3600.0


@dataclass(slots=True)
class Received:
    generation: int
    msg: mqtt.MQTTMessage
    at: float


class MqttIngest:
    def __init__(self, settings: Settings, core: IngestCore, client_id: str, *, group: str = "ingest",
                 max_batch: int = 2000) -> None:
        self.settings = settings
        self.core = core
        self.client_id = client_id
        self.group = group
        self.max_batch = max_batch
        self.root = settings.mqtt_topic_root
        self.inbox: deque[Received] = deque()
        self.generation = 0
        self.connected = threading.Event()
        self.stats = {"messages": 0, "stored": 0, "duplicates": 0, "rejected": 0}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._wake_pending = False
        self.client = self._make_client()

    # ------------------------------------------------------------ paho side (network thread)

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=mqtt.MQTTProtocolVersion.MQTTv5, manual_ack=True)
        if self.settings.mqtt_username:
            client.username_pw_set(self.settings.mqtt_username, self.settings.mqtt_password)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.reconnect_delay_set(1, 5)
        return client

    def subscriptions(self) -> list[tuple[str, SubscribeOptions]]:
        base = f"$share/{self.group}/{self.root}/hubs/+"
        return [(f"{base}/{channel}", SubscribeOptions(qos=1)) for channel in ("events", "state", "heartbeat")]

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        self.generation += 1
        client.subscribe(self.subscriptions())
        self.connected.set()
        log.info("connected to the broker as %s (session present: %s)", self.client_id, flags.session_present)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            log.error("broker refused the ingest subscriptions: %s (check the backend account's ACL)", refused)
        else:
            log.info("subscribed: %s", ", ".join(topic for topic, _ in self.subscriptions()))

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connected.clear()
        log.warning("disconnected from the broker: %s", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.inbox.append(Received(self.generation, msg, time.time()))
        if not self._wake_pending and self._loop is not None:
            self._wake_pending = True
            self._loop.call_soon_threadsafe(self._wake.set)

    # ------------------------------------------------------------ asyncio side

    def connect(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        self.client.connect_async(self.settings.mqtt_host, self.settings.mqtt_port, keepalive=30,
                                  clean_start=False, properties=props)
        self.client.loop_start()

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self.connect()
        tasks = [asyncio.create_task(self._periodic(stop))]
        try:
            while not stop.is_set():
                if not self.inbox:
                    self._wake_pending = False
                    self._wake.clear()
                    if not self.inbox:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), 0.5)
                        continue
                await self._process(self._drain())
        finally:
            for task in tasks:
                task.cancel()
            self.client.disconnect()
            self.client.loop_stop()

    def _drain(self) -> list[Received]:
        batch: list[Received] = []
        while self.inbox and len(batch) < self.max_batch:
            batch.append(self.inbox.popleft())
        return batch

    async def _process(self, batch: list[Received]) -> None:
        events: list[Inbound] = []
        status: list[tuple[str, str, bytes]] = []
        for item in batch:
            parsed = hub_of_topic(item.msg.topic, self.root)
            if parsed is not None and parsed[1] in ("state", "heartbeat"):
                status.append((parsed[0], parsed[1], bytes(item.msg.payload)))
            else:
                hub_id = parsed[0] if parsed and parsed[1] == "events" else None
                events.append(Inbound(hub_id, bytes(item.msg.payload), "mqtt", item.msg.topic, bool(item.msg.dup),
                                      item.at))
        log.debug("batch of %d messages (%d events, %d status)", len(batch), len(events), len(status))
        await self._write(events)
        if status:
            await self._retrying(handle_status, self.core, status)
        self._ack(batch)

    async def _write(self, events: list[Inbound]) -> None:
        if not events:
            return
        result = await self._retrying(self.core.ingest, events)
        self.stats["messages"] += len(events)
        self.stats["stored"] += result.stored
        self.stats["duplicates"] += result.duplicates
        self.stats["rejected"] += len(result.rejected)

    async def _retrying(self, fn: Any, *args: Any) -> Any:
        delay = 0.1
        while True:
            try:
                return await fn(*args)
            except Exception:  # the batch stays unacknowledged; retry until the database is back
                log.exception("batch not written; retrying in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _ack(self, batch: list[Received]) -> None:
        current = self.generation
        for item in batch:
            if item.generation == current and item.msg.qos > 0:
                self.client.ack(item.msg.mid, item.msg.qos)

    async def _periodic(self, stop: asyncio.Event) -> None:
        last_maintenance = 0.0
        while not stop.is_set():
            await asyncio.sleep(WATCHDOG_SECONDS)
            try:
                await run_watchdog(self.core)
                if time.monotonic() - last_maintenance > MAINTENANCE_SECONDS:
                    await maintain(self.core)
                    last_maintenance = time.monotonic()
            except Exception:
                log.exception("watchdog/maintenance failed")


async def handle_status(core: IngestCore, status: list[tuple[str, str, bytes]]) -> None:
    """`.../state` (retained "online"/"offline", the last will) and `.../heartbeat` messages."""
    async with core.db.engine.connect() as sa_conn:
        conn: Any = (await sa_conn.get_raw_connection()).driver_connection
        items: list[health.HealthItem] = []
        async with conn.transaction():
            for hub_id, channel, payload in status:
                if channel == "state" and b"offline" in payload[:64]:
                    items += await health.set_hub_offline(conn, hub_id, "last_will_or_shutdown")
                else:
                    items += await health.touch_hubs(conn, [hub_id], channel)
            notices = await health.record(conn, items)
    await core.fanout.publish_health(notices)


async def run_watchdog(core: IngestCore) -> None:
    async with core.db.engine.connect() as sa_conn:
        conn: Any = (await sa_conn.get_raw_connection()).driver_connection
        async with conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext('seniorsafe_ingest_watchdog'))"):
                return
            notices = await health.record(conn, await health.watchdog(conn))
    await core.fanout.publish_health(notices)


async def maintain(core: IngestCore) -> list[str]:
    async with core.db.engine.connect() as sa_conn:
        conn = (await sa_conn.get_raw_connection()).driver_connection
        return await core.partitions.maintain(conn)


async def run_ingest(settings: Settings, client_id: str, *, group: str = "ingest", max_batch: int = 2000,
                     stop: asyncio.Event | None = None) -> None:
    db, bus = Database(settings), Bus(settings)
    core = IngestCore(db, bus)
    stop = stop or asyncio.Event()
    runner = MqttIngest(settings, core, client_id, group=group, max_batch=max_batch)
    reporter = asyncio.create_task(_report(runner, stop))
    try:
        await maintain(core)
        await runner.run(stop)
    finally:
        reporter.cancel()
        await bus.close()
        await db.dispose()


async def _report(runner: MqttIngest, stop: asyncio.Event, every: float = 10.0) -> None:
    last = dict(runner.stats)
    while not stop.is_set():
        await asyncio.sleep(every)
        now = dict(runner.stats)
        rate = (now["messages"] - last["messages"]) / every
        if rate:
            log.info("ingest %s: %.0f msg/s, total stored %d, duplicates %d, rejected %d", runner.client_id, rate,
                     now["stored"], now["duplicates"], now["rejected"])
        last = now
