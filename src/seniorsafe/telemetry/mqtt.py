"""`seniorsafe ingest`: the MQTT side of ingest.

One process = one asyncio loop: an MQTT 5 receiver (`mqttwire`, 64 KiB socket reads, every complete PUBLISH of a
read parsed at once) feeding an inbox, and a batch writer draining it into `IngestCore.ingest`. No thread and no
lock: while a batch waits for PostgreSQL or Redis, the receiver keeps reading.
- QoS 1, persistent session (clean_start=False, long session expiry) under a stable client id: events published
  while the process is down wait in the broker and arrive when it returns.
- MQTT 5 shared subscriptions `$share/{group}/{root}/hubs/+/events`: several processes share the load, each
  message goes to one of them.
- A PUBLISH is acknowledged only after `IngestCore.ingest` committed its events (and dead letters) and appended
  them to the stream; the PUBACKs of a batch leave in one write. A batch that cannot be written is retried, never
  acknowledged half-done.
- Messages received on an older connection are never acknowledged on a newer one (packet ids are per
  connection); the broker redelivers them (DUP) and the duplicates are no-ops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from typing import Any

from seniorsafe.bus import Bus
from seniorsafe.config import Settings
from seniorsafe.db import Database
from seniorsafe.telemetry import health
from seniorsafe.telemetry.mqttwire import MqttReceiver, Publish, ReceiverOptions
from seniorsafe.telemetry.protocol import hub_of_topic
from seniorsafe.telemetry.service import Inbound, IngestCore

log = logging.getLogger(__name__)

SESSION_EXPIRY_SECONDS = 7 * 86400
RECEIVE_MAXIMUM = 65535  # unacknowledged QoS 1 messages the broker may send us (the inbox bound per process)
KEEPALIVE_SECONDS = 30
WATCHDOG_SECONDS = 30.0
MAINTENANCE_SECONDS = 3600.0
CHANNELS = ("events", "state", "heartbeat")
# Batches in flight at once in one process (each on its own database connection). 1 keeps a process's
# messages in arrival order; >1 overlaps Python work with database round trips, like more processes would.
WRITERS = max(1, int(os.environ.get("INGEST_WRITERS", "1")))

Received = tuple[int, float, Publish]  # (connection generation, received at, the PUBLISH)


class MqttIngest:
    def __init__(self, settings: Settings, core: IngestCore, client_id: str, *, group: str = "ingest",
                 max_batch: int = 2000, writers: int = WRITERS) -> None:
        self.settings = settings
        self.core = core
        self.client_id = client_id
        self.group = group
        self.max_batch = max_batch
        self.writers = writers
        self.root = settings.mqtt_topic_root
        self.inbox: deque[Received] = deque()
        self.stats = {"messages": 0, "stored": 0, "duplicates": 0, "rejected": 0}
        self._wake = asyncio.Event()
        self.receiver = MqttReceiver(ReceiverOptions(
            host=settings.mqtt_host, port=settings.mqtt_port, client_id=client_id, filters=self.subscriptions(),
            username=settings.mqtt_username, password=settings.mqtt_password, keepalive=KEEPALIVE_SECONDS,
            session_expiry=SESSION_EXPIRY_SECONDS, receive_maximum=RECEIVE_MAXIMUM), self._on_publishes)

    def subscriptions(self) -> list[str]:
        base = f"$share/{self.group}/{self.root}/hubs/+"
        return [f"{base}/{channel}" for channel in CHANNELS]

    def _on_publishes(self, generation: int, publishes: list[Publish]) -> None:
        at = time.time()
        self.inbox.extend([(generation, at, p) for p in publishes])
        self._wake.set()

    # ------------------------------------------------------------ batch writer(s)

    async def run(self, stop: asyncio.Event) -> None:
        tasks = [asyncio.create_task(self._periodic(stop)),
                 *(asyncio.create_task(self._writer_loop(stop)) for _ in range(self.writers))]
        try:
            await self.receiver.run(stop)
        finally:
            self._wake.set()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task

    async def _writer_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self.inbox:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 0.5)
                continue
            await self._process(self._drain())

    def _drain(self) -> list[Received]:
        inbox = self.inbox
        if len(inbox) <= self.max_batch:
            batch = list(inbox)
            inbox.clear()
            return batch
        return [inbox.popleft() for _ in range(self.max_batch)]

    async def _process(self, batch: list[Received]) -> None:
        events: list[Inbound] = []
        status: list[tuple[str, str, bytes]] = []
        root = self.root
        for _, at, p in batch:
            parsed = hub_of_topic(p.topic, root)
            if parsed is not None and parsed[1] in ("state", "heartbeat"):
                status.append((parsed[0], parsed[1], p.payload))
            else:
                hub_id = parsed[0] if parsed and parsed[1] == "events" else None
                events.append(Inbound(hub_id, p.payload, "mqtt", p.topic, p.dup, at))
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
        """Committed: acknowledge what arrived on the current connection, in one write."""
        current = self.receiver.generation
        self.receiver.ack(current, [p.packet_id for generation, _, p in batch if generation == current])

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
    async with core.db.raw() as conn:
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
    async with core.db.raw() as conn, conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext('seniorsafe_ingest_watchdog'))"):
            return
        notices = await health.record(conn, await health.watchdog(conn))
    await core.fanout.publish_health(notices)


async def maintain(core: IngestCore) -> list[str]:
    async with core.db.raw() as conn:
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
