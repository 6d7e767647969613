"""`seniorsafe detect`: the detector service (the AI execution server).

Reads the telemetry stream (`Bus.key("stream", "events")`, fields in telemetry/live.py) through a Redis
consumer group, keeps one `HomeDetector` per home, evaluates on every event and on a periodic tick, and
opens/updates/closes alerts through `alerts.lifecycle.apply_decision` (committed, then published).

Sharding and order. A home's events must be evaluated in order, and consumers of one group receive
arbitrary entries. So each shard `i` of `n` has its *own* consumer group `detector-{i}-of-{n}` on the one
stream, reads every entry, evaluates the homes it owns (`crc32(home_id) % n == i`) and acknowledges the
rest at once. A Redis lease makes a shard single-owner; a restarted process waits for the lease, takes
over the shard's pending entries with XAUTOCLAIM, and continues. Read amplification is n (cheap: an
entry for another shard costs one hash), and the telemetry writer needs no change.

Crash safety. Ingest commits an event before putting it on the stream, so after a restart the history in
`sensor_events` (the last `history_hours`) rebuilds every owned home's live state — stillness timers
included — minus the entries not processed yet (pending or not delivered), which are then processed
normally. Decisions caused by an entry are committed together with a `detector_progress` row (home, entry,
decisions applied), so an entry processed but not acknowledged before a crash never applies twice.
Finally each home's latch is reconciled with the open alerts in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from redis.exceptions import ResponseError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.alerts.lifecycle import Decision, apply_decision
from seniorsafe.alerts.models import Alert
from seniorsafe.bus import Bus
from seniorsafe.config import Settings
from seniorsafe.db import Database
from seniorsafe.homes.service import HOME_CHANGED
from seniorsafe.storage import Storage, make_storage
from seniorsafe.telemetry.live import stream_key

from . import registry
from .detector import CLOSE_ON_ACTIVITY, STILLNESS_KINDS, HomeDetector
from .events import ALERT_KINDS, AlertDecision, Event
from .personal import PersonalModel
from .service import (
    THRESHOLDS_CHANGED,
    HomeInfo,
    StoredEvent,
    history,
    home_thresholds,
    load_homes,
    offline_homes,
    shard_of,
)

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1.0  # how often a running detector refreshes its heartbeat key (expires after 60 s)

#: alerts that only mean "no sensor saw anything": a communication problem while the hub is offline
SILENCE_KINDS = frozenset({"inactivity", "no_activity", "routine_deviation", "routine_change", "not_back"})
#: kinds whose condition the rebuilt state shows after a restart, so an open one it does not show has ended; other
#: open kinds are adopted as they are: button, smoke, gas (they wait for staff), routine_change (checked once a
#: day or night, maybe before the rebuilt window) and not_back (the outing may have begun before it); the detector
#: still closes them when their condition ends
AUTO_CLOSING = frozenset({*CLOSE_ON_ACTIVITY, "water_leak", "night_exit", "device_fault", "model_fault"})
#: resolutions of a stillness alert that say the resident was seen fine (by staff, a call or the robot)
FOUND_FINE = frozenset({"resident_fine", "false_alarm"})
RECENT_KEYS = 512  # (hub, seq) remembered per home to drop redelivered entries
SEED_RECENT_S = 600.0  # history this recent seeds that memory after a restart
CONTEXT_EVENTS = 20  # events before the history window, so a long stillness is still known after a restart

UPSERT_PROGRESS = text(
    "INSERT INTO detector_progress (home_id, entry_id, applied, updated_at) VALUES (:home, :entry, :applied, now()) "
    "ON CONFLICT (home_id) DO UPDATE SET entry_id = excluded.entry_id, applied = excluded.applied, "
    "updated_at = now()")
RENEW_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@dataclass
class DetectorConfig:
    name: str = "detector"  # consumer-group prefix (one deployment runs one name)
    shard: int = 0
    shards: int = 1
    consumer: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    batch: int = 500
    tick_s: float = 1.0
    history_hours: float = 24.0
    lease_s: float = 15.0
    health_refresh_s: float = 15.0

    @property
    def group(self) -> str:
        return f"{self.name}-{self.shard}-of-{self.shards}"


def entry_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass
class LiveHome:
    info: HomeInfo
    det: HomeDetector
    model_version: int | None = None
    progress: tuple[str, int] | None = None  # last entry with committed decisions, decisions applied
    recent: deque[tuple[str, int]] = field(default_factory=lambda: deque(maxlen=RECENT_KEYS))
    recent_set: set[tuple[str, int]] = field(default_factory=set)
    opened: dict[str, float] = field(default_factory=dict)  # kind -> when the open alert was first raised

    def seen(self, key: tuple[str, int]) -> bool:
        """True when this (hub, seq) was already evaluated; remembers it otherwise."""
        if key in self.recent_set:
            return True
        if len(self.recent) == self.recent.maxlen:
            self.recent_set.discard(self.recent[0])
        self.recent.append(key)
        self.recent_set.add(key)
        return False


def _json_safe(value: Any) -> Any:
    """Details go to JSONB: non-finite numbers (a model producing nonsense) become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, int | str | bool) or value is None:
        return value
    return float(value) if hasattr(value, "__float__") else str(value)


def _decision(d: AlertDecision) -> Decision:
    return Decision(action=d.action, kind=d.kind, severity=d.severity, room=d.room, evidence=d.evidence,
                    at=d.at if math.isfinite(d.at) else time.time(), details=_json_safe(d.details))


class DetectorService:
    def __init__(self, db: Database, bus: Bus, storage: Storage, config: DetectorConfig | None = None) -> None:
        self.db = db
        self.bus = bus
        self.storage = storage
        self.config = config or DetectorConfig()
        self.homes: dict[uuid.UUID, LiveHome] = {}
        self.by_senior: dict[uuid.UUID, uuid.UUID] = {}
        self.stream = stream_key(bus)
        self.messages: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.stats = {"entries": 0, "evaluated": 0, "decisions": 0, "skipped": 0}
        self._lease_key = bus.key("detector", "lease", self.config.group)
        self._renew = bus.redis.register_script(RENEW_LEASE)
        self._last_health = 0.0
        self._keeper: asyncio.Task[None] | None = None
        self.lease_lost = False

    # ------------------------------------------------------------------ start-up
    async def start(self, wait_lease: bool = True) -> None:
        """Take the shard, rebuild live state from history, finish the entries left pending, reconcile."""
        await self._acquire_lease(wait_lease)
        self._keeper = asyncio.create_task(self._keep_lease())
        await self._ensure_group()
        snapshot_at = datetime.now(UTC)
        infos = await self._owned_homes()
        unprocessed = await self._unprocessed_keys()
        for info in infos:
            await self._build_home(info, snapshot_at, unprocessed, reconcile=False)
        await self._reclaim_pending()
        # after the pending entries: their committed decisions are in the latch again (progress skips them)
        for home in list(self.homes.values()):
            async with self.db.sessions() as session:
                await self._reconcile(session, home)
        await self.refresh_health()
        log.info("detector %s (%s): %d homes rebuilt, %d unprocessed entries", self.config.group,
                 self.config.consumer, len(self.homes), len(unprocessed))

    async def close(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        await self.release_lease()

    async def _keep_lease(self) -> None:
        while True:
            await asyncio.sleep(self.config.lease_s / 3)
            if not await self.renew_lease():
                log.error("lost the lease of %s", self.config.group)
                self.lease_lost = True
                return

    async def _acquire_lease(self, wait: bool) -> None:
        ms = int(self.config.lease_s * 1000)
        while not await self.bus.redis.set(self._lease_key, self.config.consumer, nx=True, px=ms):
            if not wait:
                raise RuntimeError(f"shard {self.config.group} is owned by another detector")
            await asyncio.sleep(min(1.0, self.config.lease_s / 4))

    async def renew_lease(self) -> bool:
        ok = await self._renew(keys=[self._lease_key], args=[self.config.consumer, int(self.config.lease_s * 1000)])
        return bool(ok)

    async def release_lease(self) -> None:
        if await self.bus.redis.get(self._lease_key) == self.config.consumer.encode():
            await self.bus.redis.delete(self._lease_key)

    async def _ensure_group(self) -> None:
        try:
            # "$": events older than the group are covered by the history rebuild, not replayed as live
            await self.bus.redis.xgroup_create(self.stream, self.config.group, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _owned_homes(self) -> list[HomeInfo]:
        async with self.db.sessions() as session:
            infos = await load_homes(session)
        return [i for i in infos if shard_of(i.home_id, self.config.shards) == self.config.shard]

    async def _unprocessed_keys(self) -> set[tuple[str, int]]:
        """(hub, seq) of entries pending in the group or not delivered to it yet."""
        r: Any = self.bus.redis
        keys: set[tuple[str, int]] = set()
        groups = await r.xinfo_groups(self.stream)
        last = next((g["last-delivered-id"] for g in groups if _s(g["name"]) == self.config.group), b"0-0")
        start = "-"
        while True:
            pending = await r.xpending_range(self.stream, self.config.group, min=start, max="+", count=1000)
            if not pending:
                break
            for p in pending:
                for _id, fields in await r.xrange(self.stream, min=p["message_id"], max=p["message_id"]):
                    keys.add(_entry_identity(fields))
            start = "(" + _s(pending[-1]["message_id"])
        start = "(" + _s(last)
        while True:
            batch = await r.xrange(self.stream, min=start, max="+", count=5000)
            if not batch:
                break
            keys.update(_entry_identity(fields) for _id, fields in batch)
            start = "(" + _s(batch[-1][0])
        return keys

    async def _build_home(self, info: HomeInfo, snapshot_at: datetime, unprocessed: AbstractSet[tuple[str, int]],
                          reconcile: bool = True) -> LiveHome:
        """Detector + model, fed with the stored history (minus unprocessed entries), latch reconciled."""
        det = HomeDetector(info.sensors, info.tz, None, info.thresholds, missing_model_is_fault=False)
        home = LiveHome(info, det)
        self.homes[info.home_id] = home
        self.by_senior[info.senior_id] = info.home_id
        opened = home.opened
        _fold(opened, await self._install_model(home, at=snapshot_at.timestamp()))
        async with self.db.sessions() as session:
            since = snapshot_at - timedelta(hours=self.config.history_hours)
            events = await _context_before(session, info, since) + await history(session, info, since)
            row = (await session.execute(text("SELECT entry_id, applied FROM detector_progress WHERE home_id = :h"),
                                         {"h": info.home_id})).first()
            home.progress = (row.entry_id, row.applied) if row else None
            for stored in events:
                key = (stored.hub, stored.seq)
                if key in unprocessed:
                    continue
                _fold(opened, det.on_event(stored.event))
                if stored.event.ts >= snapshot_at.timestamp() - SEED_RECENT_S:
                    home.seen(key)
            if reconcile:
                await self._reconcile(session, home)
        return home

    async def _reconcile(self, session: AsyncSession, home: LiveHome) -> None:
        """Make the rebuilt latch agree with the alerts in the database, applying what a crash lost."""
        info, det, opened = home.info, home.det, home.opened
        rows = (await session.scalars(select(Alert).where(
            Alert.senior_id == info.senior_id, Alert.closed_at.is_(None), Alert.source == "detector",
            Alert.kind.in_(ALERT_KINDS)))).all()
        in_db = {a.kind: a for a in rows}
        todo: list[AlertDecision] = []
        for kind, current in list(det.open.items()):
            if kind in in_db:
                continue
            since = datetime.fromtimestamp(opened.get(kind, current.at) - 1.0, UTC)
            recorded = await session.scalar(select(Alert.id).where(
                Alert.senior_id == info.senior_id, Alert.kind == kind, Alert.opened_at >= since).limit(1))
            if recorded is not None or (info.hub_offline and kind in SILENCE_KINDS):
                det.open.pop(kind)  # handled (e.g. resolved by staff) while we were away, or suppressed
            else:
                todo.append(AlertDecision("open", kind, current.severity, current.room, current.evidence,
                                          current.at, current.details))
        for kind, alert in in_db.items():
            if kind in det.open:
                continue
            if kind in AUTO_CLOSING:
                todo.append(AlertDecision("close", kind, alert.severity.value, alert.room,
                                          "the condition ended while the detector was restarting", time.time()))
            else:
                det.open[kind] = AlertDecision("open", kind, alert.severity.value, alert.room, alert.evidence,
                                               alert.opened_at.timestamp(), dict(alert.details or {}))
        await session.rollback()
        await self._apply(home, todo)

    async def _install_model(self, home: LiveHome, at: float | None = None) -> list[AlertDecision]:
        """Newest model from the Redis cache or object storage; problems → priors + model_fault (FR-12)."""
        det, senior_id = home.det, home.info.senior_id
        try:
            async with self.db.sessions() as session:
                artifact = await registry.load_artifact(session, self.bus, self.storage, senior_id)
        except registry.ArtifactUnavailable as exc:
            log.warning("model of senior %s unavailable: %s; using rules and priors", senior_id, exc)
            home.model_version = None
            return det.fail_model(str(exc), at)
        if artifact is None:
            home.model_version = None
            return det.set_model(None, at=at)  # new resident: priors, not a fault
        decisions = det.set_model(artifact.data, at=at)
        if det.model_fault:
            log.warning("model v%d of senior %s rejected: %s", artifact.version, senior_id, det.model_fault)
            home.model_version = None
        else:
            home.model_version = artifact.version
        return decisions

    async def _reclaim_pending(self) -> None:
        """Take over the shard's pending entries (a crashed predecessor's) and finish them, in order."""
        cursor = "0-0"
        while True:
            reply = await self.bus.redis.xautoclaim(self.stream, self.config.group, self.config.consumer,
                                                    min_idle_time=0, start_id=cursor, count=self.config.batch)
            cursor, entries = _s(reply[0]), reply[1]
            entries = [(i, f) for i, f in entries if f]  # trimmed from the stream meanwhile
            if entries:
                await self.process(entries)
            if cursor == "0-0":
                break

    # ------------------------------------------------------------------ main loop
    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen(stop))  # subscribed before the rebuild: no reload is missed
        await self.start()
        heartbeat_key = self.bus.key("detector", "heartbeat", self.config.group)
        # Ticks (a pass over every live home) and the heartbeat run on their own period, not after every read:
        # under a steady stream the loop turns hundreds of times a second.
        next_tick = next_beat = 0.0
        try:
            while not stop.is_set():
                wait_s = max(0.001, min(self.config.tick_s, next_tick - time.time()))
                await self.consume_once(block_ms=int(wait_s * 1000))
                await self.drain_messages()
                now = time.time()
                if now >= next_tick:
                    await self.tick(now)
                    next_tick = now + self.config.tick_s
                await self._maybe_refresh_health()
                if self.lease_lost:
                    break
                if now >= next_beat:
                    await self.bus.redis.set(heartbeat_key, orjson.dumps(
                        {"consumer": self.config.consumer, "pid": os.getpid(), "at": now,
                         "homes": len(self.homes), **self.stats}), ex=60)
                    next_beat = now + HEARTBEAT_SECONDS
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await self.close()

    async def consume_once(self, block_ms: int | None = None) -> int:
        reply: Any = await self.bus.redis.xreadgroup(self.config.group, self.config.consumer, {self.stream: ">"},
                                                count=self.config.batch, block=block_ms)
        if not reply:
            return 0
        entries = reply[0][1]
        await self.process(entries)
        return len(entries)

    async def process(self, entries: list[tuple[Any, dict[Any, Any]]]) -> None:
        """Evaluate entries in order; acknowledge them once their alert changes are committed."""
        ids = []
        for raw_id, fields in entries:
            entry_id = _s(raw_id)
            ids.append(entry_id)
            self.stats["entries"] += 1
            try:
                await self._process_entry(entry_id, {_s(k): _s(v) for k, v in fields.items()})
            except (ValueError, KeyError) as exc:  # a malformed entry must not stop the detector
                log.warning("stream entry %s skipped: %s", entry_id, exc)
        if ids:
            await self.bus.redis.xack(self.stream, self.config.group, *ids)

    async def _process_entry(self, entry_id: str, f: dict[str, str]) -> None:
        home_id = uuid.UUID(f["home"])
        if shard_of(home_id, self.config.shards) != self.config.shard:
            return
        home = self.homes.get(home_id) or await self._add_home(home_id)
        if home is None:
            return
        sid = home.info.by_pk.get(int(f["sensor_pk"]))
        if sid is None:  # a sensor added since the home was built
            home = await self._add_home(home_id)
            sid = home.info.by_pk.get(int(f["sensor_pk"])) if home else None
            if home is None or sid is None:
                return
        if home.seen((f["hub"], int(f["seq"]))):
            self.stats["skipped"] += 1
            return
        late = f.get("late") == "1"
        decisions = home.det.on_event(Event(float(f["ts"]), sid, float(f["value"]), late))
        self.stats["evaluated"] += 1
        if late:  # FR-19: a backlog event may end a condition but never raises a live alert
            decisions = [d for d in decisions if d.action == "close"]
        await self._apply(home, decisions, entry_id)

    async def _add_home(self, home_id: uuid.UUID) -> LiveHome | None:
        """A home new to this process (or whose sensors changed): build it from the database."""
        async with self.db.sessions() as session:
            infos = await load_homes(session, [home_id])
        if not infos:
            return None
        self.homes.pop(home_id, None)
        return await self._build_home(infos[0], datetime.now(UTC), frozenset())

    async def tick(self, now: float) -> int:
        """Fire passed deadlines (stillness grows without events). One float comparison per idle home."""
        fired = 0
        for home in list(self.homes.values()):
            if home.det.next_deadline <= now:
                decisions = home.det.on_tick(now)
                fired += len(decisions)
                await self._apply(home, decisions)
        return fired

    # ------------------------------------------------------------------ alerts
    async def _apply(self, home: LiveHome, decisions: list[AlertDecision], entry_id: str | None = None) -> None:
        _fold(home.opened, decisions)
        decisions = self._filter_offline(home, decisions)
        if not decisions:
            return
        skip = 0
        if entry_id is not None and home.progress is not None:
            done_id, applied = home.progress
            if entry_key(done_id) > entry_key(entry_id):
                return
            if done_id == entry_id:
                skip = applied
        info = home.info
        version = f"v{home.model_version}" if home.model_version else None
        for index, d in enumerate(decisions):
            if index < skip:
                continue
            async with self.db.sessions() as session:
                if entry_id is not None:  # committed by apply_decision together with the alert change
                    await session.execute(UPSERT_PROGRESS, {"home": info.home_id, "entry": entry_id,
                                                            "applied": index + 1})
                await apply_decision(session, self.bus, org_id=info.org_id, senior_id=info.senior_id,
                                     home_id=info.home_id, decision=_decision(d), model_version=version,
                                     source="detector")
            if entry_id is not None:
                home.progress = (entry_id, index + 1)
            self.stats["decisions"] += 1
            log.info("senior %s: %s %s (%s) %s", info.senior_id, d.action, d.kind, d.severity, d.evidence)

    def _filter_offline(self, home: LiveHome, decisions: list[AlertDecision]) -> list[AlertDecision]:
        if not home.info.hub_offline or not decisions:
            return decisions
        kept = []
        for d in decisions:
            if d.kind in SILENCE_KINDS and d.action != "close":
                if d.action == "open":
                    home.det.open.pop(d.kind, None)  # never raised: the latch must not hold it
                continue
            kept.append(d)
        return kept

    # ------------------------------------------------------------------ messages (pub/sub)
    async def _listen(self, stop: asyncio.Event) -> None:
        pubsub = self.bus.redis.pubsub()
        await pubsub.subscribe(registry.model_updated_channel(self.bus))
        await pubsub.psubscribe(self.bus.key("pub", "org:*"))
        try:
            while not stop.is_set():
                msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if msg is None:
                    continue
                try:
                    self.messages.put_nowait((_s(msg["channel"]), registry.decode(msg["data"])))
                except orjson.JSONDecodeError:
                    continue
        finally:
            await pubsub.aclose()

    async def drain_messages(self) -> None:
        while not self.messages.empty():
            channel, data = self.messages.get_nowait()
            try:
                await self.handle_message(channel, data)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("message on %s ignored: %s", channel, exc)

    async def handle_message(self, channel: str, data: dict[str, Any]) -> None:
        if channel == registry.model_updated_channel(self.bus):
            await self.reload_model(uuid.UUID(data["senior_id"]))
        elif channel.endswith(":device_health"):
            self._on_device_health(data)
        elif data.get("event") == "alert.resolved":
            self._on_resolved(data.get("data") or {})
        elif data.get("event") == THRESHOLDS_CHANGED:
            senior = data.get("senior_id")
            await self.reload_thresholds(uuid.UUID(data["org_id"]), uuid.UUID(senior) if senior else None)
        elif data.get("event") == HOME_CHANGED:
            await self.rebuild_home(uuid.UUID(data["data"]["home_id"]))

    async def rebuild_home(self, home_id: uuid.UUID) -> bool:
        """An admin changed the home's time zone or its sensors (kind, room, added, removed; `home.changed`): build
        it again from the database, as after a restart (state from the stored hours, latch reconciled with the
        alerts table), so that the change applies at once, and ask the trainer for a new model when the layout or
        time zone changed. Homes this process does not run are left alone."""
        live = self.homes.get(home_id)
        if live is None:
            return False
        before = (live.info.tz, live.info.sensors)
        rebuilt = await self._add_home(home_id)
        if rebuilt is None:
            return False
        log.info("home %s rebuilt after a change of its sensors or time zone", home_id)
        if (rebuilt.info.tz, rebuilt.info.sensors) != before:
            # the model learned its contexts' rooms, the home's mats and its hours from the old layout: the trainer
            # fits it again now rather than tonight
            await registry.request_training(self.bus, rebuilt.info.senior_id)
        return True

    async def reload_thresholds(self, org_id: uuid.UUID, senior_id: uuid.UUID | None = None) -> int:
        """An admin changed thresholds (`detection.thresholds_changed`): re-read them for the live homes concerned
        (one senior's, or every home of the organisation in this shard), recompute the model limits and re-arm
        the stillness under way, so that the new limits apply at once."""
        homes = [h for h in self.homes.values()
                 if h.info.org_id == org_id and (senior_id is None or h.info.senior_id == senior_id)]
        if not homes:
            return 0
        async with self.db.sessions() as session:
            fresh = await home_thresholds(session, [h.info.home_id for h in homes])
        changed = 0
        for home in homes:
            thresholds = fresh.get(home.info.home_id)
            if thresholds is None or thresholds == home.det.thresholds:
                continue
            home.info.thresholds = thresholds
            home.det.thresholds = thresholds
            decisions = await self._recompute_limits(home, time.time())
            home.det.rearm()
            await self._apply(home, decisions)
            changed += 1
        log.info("thresholds changed (org %s, senior %s): %d live homes updated", org_id, senior_id, changed)
        return changed

    async def _recompute_limits(self, home: LiveHome, now: float) -> list[AlertDecision]:
        """The model's limit tables under the new thresholds (sensitivity, personal model on/off)."""
        det = home.det
        if det.model is None and (home.model_version is not None or det.model_fault is not None):
            # the model is switched off or broken: load it again (the new thresholds may enable it)
            return await self._install_model(home, at=now)
        return det.set_model(det.model, at=now)  # the same model (or priors), limits recomputed

    async def reload_model(self, senior_id: uuid.UUID) -> None:
        home_id = self.by_senior.get(senior_id)
        home = self.homes.get(home_id) if home_id else None
        if home is None:
            return
        await self._apply(home, await self._install_model(home, at=time.time()))
        log.info("senior %s: model reloaded (v%s)", senior_id, home.model_version)

    def _on_device_health(self, data: dict[str, Any]) -> None:
        home = self.homes.get(uuid.UUID(data["home_id"]))
        if home is None:
            return
        if data.get("kind") == "hub_offline":
            home.info.hub_offline = True
        elif data.get("kind") == "hub_online":
            home.info.hub_offline = False

    def _on_resolved(self, alert: dict[str, Any]) -> None:
        """Staff (or the robot's check) resolved an alert: the latch must forget it so that a new occurrence
        opens a new alert; a stillness found fine restarts the stillness clock (a sign of life no sensor saw)."""
        if alert.get("outcome") == "auto_cleared" or not alert.get("senior_id"):
            return
        home_id = self.by_senior.get(uuid.UUID(alert["senior_id"]))
        home = self.homes.get(home_id) if home_id else None
        if home is None:
            return
        kind = str(alert.get("kind"))
        if kind in home.det.open:
            home.det.clear(kind)
        if kind in STILLNESS_KINDS and alert.get("outcome") in FOUND_FINE:
            closed = alert.get("closed_at")
            home.det.confirm_fine(datetime.fromisoformat(closed).timestamp() if closed else time.time())

    async def _maybe_refresh_health(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_health < self.config.health_refresh_s:
            return
        self._last_health = now
        async with self.db.sessions() as session:
            offline = await offline_homes(session)
        for home_id, home in self.homes.items():
            home.info.hub_offline = home_id in offline

    async def refresh_health(self) -> None:
        await self._maybe_refresh_health(force=True)


# ---------------------------------------------------------------------- helpers
def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entry_identity(fields: dict[Any, Any]) -> tuple[str, int]:
    return _s(fields.get(b"hub", b"")), int(fields.get(b"seq", b"-1"))


def _fold(opened: dict[str, float], decisions: list[AlertDecision]) -> None:
    """Track when each still-open kind was first opened (to recognise its alert in the database)."""
    for d in decisions:
        if d.action == "open":
            opened[d.kind] = d.at
        elif d.action == "close":
            opened.pop(d.kind, None)


async def _context_before(session: AsyncSession, info: HomeInfo, since: datetime) -> list[StoredEvent]:
    rows = (await session.execute(text(
        "SELECT ts, hub_id, seq, sensor_pk, value, late FROM sensor_events WHERE home_id = :h AND ts < :since "
        "AND ts >= :floor ORDER BY ts DESC LIMIT :n"),
        {"h": info.home_id, "since": since, "floor": since - timedelta(days=7), "n": CONTEXT_EVENTS})).all()
    out = []
    for r in reversed(rows):
        sid = info.by_pk.get(r.sensor_pk)
        if sid is not None:  # history only: these must not raise anything old as new
            out.append(StoredEvent(Event(r.ts.timestamp(), sid, float(r.value), True), r.hub_id, int(r.seq)))
    return out


async def run_detector(settings: Settings, config: DetectorConfig) -> None:
    db, bus = Database(settings), Bus(settings)
    service = DetectorService(db, bus, make_storage(settings), config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await service.run(stop)
    finally:
        await bus.close()
        await db.dispose()


__all__ = ["DetectorConfig", "DetectorService", "PersonalModel", "run_detector"]
