"""The one ingest path for MQTT and HTTP: validate → COPY (deduplicated) → commit → stream and live fan-out.

Callers acknowledge their transport (MQTT PUBACK, HTTP 200) only after `IngestCore.ingest` returned: by then
the events and the dead letters of the batch are committed and the committed events are on the Redis Stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import orjson

from seniorsafe.bus import Bus
from seniorsafe.db import Database
from seniorsafe.telemetry import health
from seniorsafe.telemetry.directory import Directory, HubInfo, SensorInfo
from seniorsafe.telemetry.live import LiveFanout, activity_channel, iso, state_key
from seniorsafe.telemetry.protocol import (
    BAD_TOPIC,
    HUB_REVOKED,
    TS_FUTURE,
    TS_TOO_OLD,
    UNKNOWN_HUB,
    UNKNOWN_SENSOR,
    Reject,
    WireEvent,
    check_value,
    decode_payload,
    parse_event,
)
from seniorsafe.telemetry.store import RETENTION_DAYS, PartitionManager

log = logging.getLogger(__name__)

FUTURE_SKEW_SECONDS = 300.0   # clocks drift: an event up to 5 min ahead is accepted
LATE_AFTER_SECONDS = 120.0    # an event delivered this long after it happened is "late" (no live notification)
# Parallel consumers (MQTT shared subscription) may commit a hub's burst slightly out of order: an event at most
# this much older than its sensor's latest reading is reordering, not backlog, and stays live.
REORDER_TOLERANCE_SECONDS = 5.0
RETRIES = 5
SLOW_BATCH_SECONDS = 0.25  # a batch slower than this is logged with where its time went

EVENT_COLUMNS = ("ts", "hub_id", "seq", "sensor_pk", "home_id", "kind", "room", "value", "late", "received_at")
STAGING_DDL = ("CREATE TEMP TABLE IF NOT EXISTS ingest_staging (LIKE sensor_events INCLUDING DEFAULTS) "
               "ON COMMIT DELETE ROWS")
INSERT_SQL = (f"INSERT INTO sensor_events ({', '.join(EVENT_COLUMNS)}) SELECT {', '.join(EVENT_COLUMNS)} "
              "FROM ingest_staging ON CONFLICT DO NOTHING RETURNING hub_id, seq, ts")
LOCK_STATE_SQL = ("SELECT sensor_pk, ts, seq, battery, silent_since FROM sensor_state "
                  "WHERE sensor_pk = ANY($1::bigint[]) ORDER BY sensor_pk FOR UPDATE")
UPSERT_STATE_SQL = """
INSERT INTO sensor_state AS s (sensor_pk, home_id, hub_id, ts, seq, value, battery, battery_at, silent_since,
                               updated_at)
SELECT u.pk, u.home, u.hub, u.ts, u.seq, u.value, u.battery, CASE WHEN u.battery IS NULL THEN NULL ELSE u.ts END,
       NULL, now()
FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::timestamptz[], $5::bigint[], $6::float8[], $7::smallint[])
     AS u(pk, home, hub, ts, seq, value, battery)
ON CONFLICT (sensor_pk) DO UPDATE SET
    ts = excluded.ts, seq = excluded.seq, value = excluded.value, hub_id = excluded.hub_id,
    battery = COALESCE(excluded.battery, s.battery), battery_at = COALESCE(excluded.battery_at, s.battery_at),
    silent_since = NULL, updated_at = now()
WHERE (excluded.ts, excluded.seq) > (s.ts, s.seq)
RETURNING sensor_pk
"""
DEAD_LETTER_COLUMNS = ("received_at", "transport", "topic", "hub_id", "reason", "detail", "payload")


@dataclass(slots=True)
class Inbound:
    """One transport message: an MQTT PUBLISH or an HTTP request body."""

    hub_id: str | None
    payload: bytes
    transport: str = "mqtt"
    topic: str | None = None
    redelivered: bool = False
    received_at: float = field(default_factory=time.time)


@dataclass(slots=True)
class Candidate:
    msg: int
    index: int
    hub: HubInfo
    sensor: SensorInfo
    ev: WireEvent
    redelivered: bool
    late: bool = False
    new: bool = False


@dataclass(slots=True)
class Rejected:
    msg: int
    index: int | None
    reason: str
    detail: str
    payload: bytes
    hub_id: str | None
    topic: str | None
    transport: str


@dataclass(slots=True)
class BatchResult:
    rejected: list[Rejected] = field(default_factory=list)
    committed_at: float = 0.0
    by_message: dict[int, list[int]] = field(default_factory=dict)  # message index -> [stored, duplicates, late]

    @property
    def stored(self) -> int:
        return sum(counts[0] for counts in self.by_message.values())

    @property
    def duplicates(self) -> int:
        return sum(counts[1] for counts in self.by_message.values())

    @property
    def late(self) -> int:
        return sum(counts[2] for counts in self.by_message.values())

    def of_message(self, msg: int) -> BatchResult:
        """The part of this batch's result that concerns one of its messages."""
        mine = {msg: self.by_message[msg]} if msg in self.by_message else {}
        return BatchResult([r for r in self.rejected if r.msg == msg], self.committed_at, mine)


@dataclass(slots=True)
class _Prior:
    ts: datetime | None = None
    seq: int = -1
    battery: int | None = None
    silent: bool = False


class IngestCore:
    def __init__(self, db: Database, bus: Bus, *, retention_days: int = RETENTION_DAYS) -> None:
        self.db = db
        self.bus = bus
        self.retention_seconds = retention_days * 86400.0
        self.directory = Directory()
        self.partitions = PartitionManager()
        self.fanout = LiveFanout(bus)
        self._staged: weakref.WeakSet[Any] = weakref.WeakSet()

    # ------------------------------------------------------------ entry point

    async def ingest(self, messages: list[Inbound]) -> BatchResult:
        """Validate and store a batch; retried on deadlocks and on sensors removed meanwhile."""
        for attempt in range(RETRIES):
            try:
                async with self.db.raw() as conn:
                    return await self._ingest(conn, messages)
            except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError,
                    asyncpg.ForeignKeyViolationError) as exc:
                log.warning("ingest batch retried (%s): %s", type(exc).__name__, exc)
                self.directory.invalidate()
                await asyncio.sleep(0.05 * (attempt + 1))
        async with self.db.raw() as conn:
            return await self._ingest(conn, messages)

    async def _ingest(self, conn: Any, messages: list[Inbound]) -> BatchResult:
        now = time.time()
        began = time.perf_counter()
        cands, rejected = await self._validate(conn, messages, now)
        validated = time.perf_counter()
        result = BatchResult(rejected=rejected)
        if cands:
            await self.partitions.ensure(conn, _days(cands))
            if conn not in self._staged:
                await conn.execute(STAGING_DDL)
                self._staged.add(conn)
        states: list[tuple[str, str, float, bytes]] = []
        notices: list[tuple[str, dict[str, Any]]] = []
        async with conn.transaction():
            if cands:
                prior = await self._lock_state(conn, cands)
                _mark_late(cands, prior, now)
                await self._insert_events(conn, cands, datetime.fromtimestamp(now, UTC))
                states = await self._upsert_state(conn, [c for c in cands if c.new])
                items = _battery_and_silence(cands, prior)
                items += await health.touch_hubs(conn, list({c.hub.hub_id for c in cands}), "events")
                notices = await health.record(conn, items)
            if rejected:
                await self._dead_letter(conn, rejected, now)
        result.committed_at = time.time()
        committed = time.perf_counter()
        await self._fan_out(cands, states, result)
        await self.fanout.publish_health(notices)
        _warn_if_slow(len(messages), began, validated, committed, time.perf_counter())
        return result

    # ------------------------------------------------------------ validation

    async def _validate(self, conn: Any, messages: list[Inbound], now: float) -> tuple[list[Candidate],
                                                                                      list[Rejected]]:
        mono = time.monotonic()
        wanted = {m.hub_id for m in messages if m.hub_id and self.directory.stale(m.hub_id, mono)}
        await self.directory.load(conn, sorted(wanted))
        cands: list[Candidate] = []
        rejected: list[Rejected] = []
        refreshed: set[str] = set(wanted)
        for i, msg in enumerate(messages):
            try:
                hub, objs = self._open(msg)
            except Reject as r:
                rejected.append(Rejected(i, None, r.reason, r.detail, msg.payload, msg.hub_id, msg.topic,
                                         msg.transport))
                continue
            for j, obj in enumerate(objs):
                try:
                    cands.append(await self._check(conn, msg, i, j, hub, obj, now, refreshed))
                except Reject as r:
                    raw = msg.payload if len(objs) == 1 else orjson.dumps(obj)
                    rejected.append(Rejected(i, j, r.reason, r.detail, raw, msg.hub_id, msg.topic, msg.transport))
        return cands, rejected

    def _open(self, msg: Inbound) -> tuple[HubInfo, list[Any]]:
        if msg.hub_id is None:
            raise Reject(BAD_TOPIC, f"topic {msg.topic!r} is not seniorsafe/v1/hubs/<hub>/events")
        objs = decode_payload(msg.payload)
        hub = self.directory.get(msg.hub_id)
        if hub is None:
            raise Reject(UNKNOWN_HUB, f"hub {msg.hub_id!r} is not registered")
        if not hub.active:
            raise Reject(HUB_REVOKED, f"hub {msg.hub_id!r} is revoked")
        return hub, objs

    async def _check(self, conn: Any, msg: Inbound, i: int, j: int, hub: HubInfo, obj: Any, now: float,
                     refreshed: set[str]) -> Candidate:
        ev = parse_event(obj, hub.hub_id)
        sensor = hub.sensors.get(ev.sensor)
        if sensor is None and hub.hub_id not in refreshed:  # maybe added a moment ago
            refreshed.add(hub.hub_id)
            await self.directory.load(conn, [hub.hub_id])
            hub = self.directory.get(hub.hub_id) or hub
            sensor = hub.sensors.get(ev.sensor)
        if sensor is None:
            raise Reject(UNKNOWN_SENSOR, f"hub {hub.hub_id!r} has no sensor {ev.sensor!r}")
        check_value(sensor.kind, ev.value)
        ts = ev.ts.timestamp()
        if ts > now + FUTURE_SKEW_SECONDS:
            raise Reject(TS_FUTURE, f"ts {iso(ev.ts)} is more than {FUTURE_SKEW_SECONDS:g} s in the future")
        if ts < now - self.retention_seconds:
            raise Reject(TS_TOO_OLD, f"ts {iso(ev.ts)} is older than the retention window")
        return Candidate(i, j, hub, sensor, ev, msg.redelivered)

    # ------------------------------------------------------------ writing (inside the transaction)

    async def _lock_state(self, conn: Any, cands: list[Candidate]) -> dict[int, _Prior]:
        pks = sorted({c.sensor.pk for c in cands})
        rows = await conn.fetch(LOCK_STATE_SQL, pks)
        return {r["sensor_pk"]: _Prior(r["ts"], r["seq"], r["battery"], r["silent_since"] is not None) for r in rows}

    async def _insert_events(self, conn: Any, cands: list[Candidate], received: datetime) -> None:
        records = [(c.ev.ts, c.hub.hub_id, c.ev.seq, c.sensor.pk, c.hub.home_id, c.sensor.kind, c.sensor.room,
                    c.ev.value, c.late, received) for c in cands]
        await conn.copy_records_to_table("ingest_staging", records=records, columns=EVENT_COLUMNS)
        inserted = {(r["hub_id"], r["seq"], r["ts"]) for r in await conn.fetch(INSERT_SQL)}
        for c in cands:
            key = (c.hub.hub_id, c.ev.seq, c.ev.ts)
            if key in inserted:
                c.new = True
                inserted.discard(key)  # the same event twice in one batch: the second is a duplicate

    async def _upsert_state(self, conn: Any, new: list[Candidate]) -> list[tuple[str, str, float, bytes]]:
        newest: dict[int, Candidate] = {}
        for c in new:
            cur = newest.get(c.sensor.pk)
            if cur is None or (c.ev.ts, c.ev.seq) > (cur.ev.ts, cur.ev.seq):
                newest[c.sensor.pk] = c
        if not newest:
            return []
        # In key order, like the row locks taken before: two batches inserting the first readings of the same
        # sensors in different orders would deadlock (PostgreSQL resolves that only after deadlock_timeout, 1 s).
        rows = [newest[pk] for pk in sorted(newest)]
        updated = await conn.fetch(
            UPSERT_STATE_SQL, [c.sensor.pk for c in rows], [c.hub.home_id for c in rows],
            [c.hub.hub_id for c in rows], [c.ev.ts for c in rows], [c.ev.seq for c in rows],
            [c.ev.value for c in rows], [c.ev.battery for c in rows])
        changed = {r["sensor_pk"] for r in updated}
        return [(state_key(self.bus, c.hub.home_id), c.sensor.sensor_id, c.ev.ts.timestamp(), orjson.dumps(
            {"sensor": c.sensor.sensor_id, "sensor_pk": c.sensor.pk, "kind": c.sensor.kind, "room": c.sensor.room,
             "value": c.ev.value, "ts": c.ev.ts.timestamp(), "seq": c.ev.seq, "hub": c.hub.hub_id,
             "battery": c.ev.battery})) for c in rows if c.sensor.pk in changed]

    async def _dead_letter(self, conn: Any, rejected: list[Rejected], now: float) -> None:
        at = datetime.fromtimestamp(now, UTC)
        records = [(at, r.transport, r.topic, r.hub_id[:64] if r.hub_id else None, r.reason, r.detail, r.payload)
                   for r in rejected]
        await conn.copy_records_to_table("ingest_dead_letters", records=records, columns=DEAD_LETTER_COLUMNS)

    # ------------------------------------------------------------ after commit

    async def _fan_out(self, cands: list[Candidate], states: list[tuple[str, str, float, bytes]],
                       result: BatchResult) -> None:
        stream: list[dict[Any, Any]] = []
        live: list[tuple[str, dict[str, Any]]] = []
        for c in cands:
            counts = result.by_message.setdefault(c.msg, [0, 0, 0])
            if c.new:
                counts[0] += 1
                counts[2] += c.late
            else:
                counts[1] += 1
            # A duplicate may be the redelivery of a batch committed just before a crash, before its stream
            # append: it goes to the stream again, marked redelivered (consumers dedupe by hub + seq).
            stream.append(_stream_fields(c))
            if c.new and not c.late:
                live.append((activity_channel(c.hub.senior_s), _live_payload(c)))
        reasons = Counter(f"dead_letter.{r.reason}" for r in result.rejected)
        metrics = {"events_stored": result.stored, "duplicates": result.duplicates, "late": result.late,
                   "dead_letters": len(result.rejected), **reasons}
        await self.fanout.emit(stream, states, live, metrics)


class GroupCommit:
    """Group commit for HTTP ingest: the requests that arrive while a batch is being written share the next
    transaction (one COPY, one stream append), and each request is answered only after that commit, with its own
    part of the result. Under load this turns N small transactions into one; alone, a request waits for nothing."""

    def __init__(self, core: IngestCore, max_messages: int = 64) -> None:
        self.core = core
        self.max_messages = max_messages
        self._pending: list[tuple[Inbound, asyncio.Future[BatchResult]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.transactions = 0

    async def submit(self, message: Inbound) -> BatchResult:
        future: asyncio.Future[BatchResult] = asyncio.get_running_loop().create_future()
        self._pending.append((message, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending(), name="http-ingest-group-commit")
        return await future

    async def _write_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:self.max_messages], self._pending[self.max_messages:]
            self.transactions += 1
            try:
                result = await self.core.ingest([message for message, _ in batch])
            except Exception as exc:  # every request of the batch fails the same way (nothing was committed)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for i, (_, future) in enumerate(batch):
                if not future.done():  # the client may have gone away; its events are stored all the same
                    future.set_result(result.of_message(i))


def _warn_if_slow(messages: int, began: float, validated: float, committed: float, published: float) -> None:
    if published - began >= SLOW_BATCH_SECONDS:
        log.warning("slow ingest batch: %d messages in %.0f ms (validate %.0f, write+commit %.0f, publish %.0f)",
                    messages, 1000 * (published - began), 1000 * (validated - began), 1000 * (committed - validated),
                    1000 * (published - committed))


def _days(cands: list[Candidate]) -> set[date]:
    return {c.ev.ts.date() for c in cands}


def _mark_late(cands: list[Candidate], prior: dict[int, _Prior], now: float) -> None:
    """Late = older than the sensor's latest known state (beyond the reordering tolerance), or delivered long
    after it happened (backlog). Live state only ever moves forward either way (newest reading wins)."""
    latest: dict[int, datetime | None] = {pk: p.ts for pk, p in prior.items()}
    for c in sorted(cands, key=lambda c: (c.sensor.pk, c.ev.ts, c.ev.seq)):
        known = latest.get(c.sensor.pk)
        behind = (known - c.ev.ts).total_seconds() if known is not None else 0.0
        c.late = behind > REORDER_TOLERANCE_SECONDS or now - c.ev.ts.timestamp() > LATE_AFTER_SECONDS
        if known is None or c.ev.ts > known:
            latest[c.sensor.pk] = c.ev.ts


def _battery_and_silence(cands: list[Candidate], prior: dict[int, _Prior]) -> list[health.HealthItem]:
    items: list[health.HealthItem] = []
    seen: set[tuple[int, str]] = set()
    for c in cands:
        if not c.new or c.late:
            continue
        before = prior.get(c.sensor.pk, _Prior())
        if (c.ev.battery is not None and c.ev.battery < health.LOW_BATTERY_PERCENT
                and (before.battery is None or before.battery >= health.LOW_BATTERY_PERCENT)
                and (c.sensor.pk, health.LOW_BATTERY) not in seen):
            seen.add((c.sensor.pk, health.LOW_BATTERY))
            items.append(health.HealthItem(c.hub.org_id, c.hub.home_id, c.hub.hub_id, health.LOW_BATTERY,
                                           c.sensor.pk, {"sensor": c.sensor.sensor_id, "battery": c.ev.battery}))
        if before.silent and (c.sensor.pk, health.SENSOR_BACK) not in seen:
            seen.add((c.sensor.pk, health.SENSOR_BACK))
            items.append(health.HealthItem(c.hub.org_id, c.hub.home_id, c.hub.hub_id, health.SENSOR_BACK,
                                           c.sensor.pk, {"sensor": c.sensor.sensor_id}))
    return items


def _stream_fields(c: Candidate) -> dict[str, Any]:
    return {"hub": c.hub.hub_id, "seq": c.ev.seq, "sensor": c.sensor.sensor_id, "sensor_pk": c.sensor.pk,
            "kind": c.sensor.kind, "room": c.sensor.room, "home": c.hub.home_s,
            "senior": c.hub.senior_s, "org": c.hub.org_s, "ts": repr(c.ev.ts.timestamp()),
            "value": repr(c.ev.value), "late": "1" if c.late else "0",
            "redelivered": "0" if c.new else "1"}


def _live_payload(c: Candidate) -> dict[str, Any]:
    return {"senior_id": c.hub.senior_s, "home_id": c.hub.home_s, "hub_id": c.hub.hub_id,
            "sensor": c.sensor.sensor_id, "kind": c.sensor.kind, "room": c.sensor.room, "value": c.ev.value,
            "ts": iso(c.ev.ts), "seq": c.ev.seq}
