"""`seniorsafe train`: the trainer service (the AI training server, FR-11).

Fits each resident's personal model from the time-series store — nightly at `TRAIN_HOUR` in the home's
local time, and on demand (`seniorsafe train --senior ID`, or the API queueing a request on
`train:requests`) — writes the artifact to object storage (`models/{senior_id}/v{n}.bin`), records it
in `personal_models`, caches it in Redis and publishes "model updated" so that detectors reload.
Alerts staff marked as false alarms are passed to `PersonalModel.fit` as feedback (FR-13); stillness alerts they
resolved as real emergencies (help sent, hospital) too, so that the silence of a fall is not learned as normal.

Being due is derived from the registry (no model created since the last local 03:00), so a trainer that
was down catches up, and a Redis lock per senior keeps two trainers from fitting the same resident.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.alerts.models import PersonalModelVersion
from seniorsafe.bus import Bus
from seniorsafe.config import Settings
from seniorsafe.db import Database
from seniorsafe.homes.models import Home
from seniorsafe.storage import Storage, make_storage

from . import registry
from .personal import HISTORY_DAYS, PersonalModel
from .service import history, home_of_senior, staff_feedback

log = logging.getLogger(__name__)

TRAIN_HOUR = 3.0
LOCK_S = 900


@dataclass(frozen=True)
class TrainResult:
    senior_id: uuid.UUID
    version: int
    days: int
    events: int
    feedback: int
    artifact_key: str
    metrics: dict[str, Any]


class NothingToLearn(Exception):
    """The resident has no home or no stored events yet: the detector keeps using priors."""


async def train_senior(db: Database, bus: Bus, storage: Storage, senior_id: uuid.UUID, *,
                       now: datetime | None = None, history_days: float = HISTORY_DAYS) -> TrainResult:
    """Fit, store, register, cache and announce one resident's model. Raises NothingToLearn."""
    now = now or datetime.now(UTC)
    since = now - timedelta(days=history_days)
    async with db.sessions() as session:
        home = await home_of_senior(session, senior_id)
        if home is None:
            raise NothingToLearn(f"senior {senior_id} has no home")
        stored = await history(session, home, since, now)
        feedback = await staff_feedback(session, senior_id, since)
    if not stored:
        raise NothingToLearn(f"senior {senior_id} has no sensor events since {since:%Y-%m-%d}")
    events = [s.event for s in stored]
    model = await asyncio.to_thread(PersonalModel.fit, events, home.sensors, home.tz, feedback)
    model.young_days = home.thresholds.young_model_days
    model.metrics["summary"] = model.summary(home.thresholds)
    data = model.to_bytes()
    async with db.sessions() as session:
        version = await registry.next_version(session, senior_id)
        key = registry.artifact_key(senior_id, version)
        await storage.put(key, data)  # before the row: a registered version always has its artifact
        row = PersonalModelVersion(
            org_id=home.org_id, senior_id=senior_id, version=version,
            data_from=datetime.fromtimestamp(events[0].ts, UTC), data_to=datetime.fromtimestamp(events[-1].ts, UTC),
            days=float(model.days), events=len(events), metrics=_metrics(model, len(feedback)), artifact_key=key,
            status="active")
        await registry.record_version(session, row)
        await session.commit()
    await registry.cache_artifact(bus, senior_id, version, data)
    await registry.publish_model_updated(bus, senior_id, version, key)
    log.info("senior %s: model v%d trained on %d events over %d days (%d false alarms / emergencies as feedback)",
             senior_id, version, len(events), model.days, len(feedback))
    return TrainResult(senior_id, version, model.days, len(events), len(feedback), key, row.metrics)


def _metrics(model: PersonalModel, feedback_given: int) -> dict[str, Any]:
    m: dict[str, Any] = {k: v for k, v in model.metrics.items() if isinstance(v, int | float | str | bool) or v is None}
    m["feedback_given"] = feedback_given
    m["young"] = model.is_young
    m["young_days"] = model.young_days
    m["pauses_per_day"] = round(model.pause_rate(), 1)  # spreads the false-alarm budget (Thresholds)
    m["routine"] = {k: v for k, v in model.routine.items() if not isinstance(v, list)}
    m["daily"] = model.routine.get("daily") or []  # the last weeks day by day, for the dashboard's trends
    return m


def last_due(now: datetime, tz: str, hour: float = TRAIN_HOUR) -> datetime:
    """The most recent local `hour` o'clock at or before `now`."""
    local = now.astimezone(ZoneInfo(tz))
    due = local.replace(hour=int(hour), minute=int((hour % 1) * 60), second=0, microsecond=0)
    if due > local:
        due -= timedelta(days=1)
    return due.astimezone(UTC)


async def due_seniors(session: AsyncSession, now: datetime, hour: float = TRAIN_HOUR) -> list[uuid.UUID]:
    """Residents whose nightly training time passed since their newest model (or who never had one)."""
    newest = (select(PersonalModelVersion.senior_id, func.max(PersonalModelVersion.created_at).label("at"))
              .group_by(PersonalModelVersion.senior_id).subquery())
    rows = await session.execute(select(Home.senior_id, Home.timezone, newest.c.at)
                                 .outerjoin(newest, newest.c.senior_id == Home.senior_id))
    return [senior for senior, tz, at in rows if at is None or at < last_due(now, tz or "UTC", hour)]


class TrainerService:
    def __init__(self, db: Database, bus: Bus, storage: Storage, *, hour: float = TRAIN_HOUR,
                 check_every_s: float = 60.0) -> None:
        self.db, self.bus, self.storage = db, bus, storage
        self.hour = hour
        self.check_every_s = check_every_s
        self._nothing: dict[uuid.UUID, datetime] = {}  # no data at this due time: do not retry every minute

    async def train_locked(self, senior_id: uuid.UUID) -> TrainResult | None:
        lock = self.bus.key("train", "lock", senior_id)
        if not await self.bus.redis.set(lock, b"1", nx=True, ex=LOCK_S):
            return None
        try:
            return await train_senior(self.db, self.bus, self.storage, senior_id)
        except NothingToLearn as exc:
            log.info("%s", exc)
            return None
        finally:
            await self.bus.redis.delete(lock)

    async def nightly(self, now: datetime | None = None) -> list[TrainResult]:
        now = now or datetime.now(UTC)
        async with self.db.sessions() as session:
            due = await due_seniors(session, now, self.hour)
        done = []
        for senior_id in due:
            if self._nothing.get(senior_id, datetime.min.replace(tzinfo=UTC)) >= now - timedelta(hours=1):
                continue
            result = await self.train_locked(senior_id)
            if result is None:
                self._nothing[senior_id] = now
            else:
                done.append(result)
        return done

    async def serve_requests(self, timeout_s: float) -> TrainResult | None:
        """One on-demand request from the API queue (waits up to timeout_s)."""
        item: Any = await self.bus.redis.blpop([registry.train_queue_key(self.bus)], timeout=timeout_s)
        if item is None:
            return None
        try:
            senior_id = uuid.UUID(item[1].decode())
        except ValueError:
            return None
        return await self.train_locked(senior_id)

    async def run(self, stop: asyncio.Event) -> None:
        next_check = 0.0
        while not stop.is_set():
            if time.monotonic() >= next_check:
                await self.nightly()
                next_check = time.monotonic() + self.check_every_s
            await self.serve_requests(timeout_s=min(5.0, self.check_every_s))


async def run_trainer(settings: Settings, senior_id: uuid.UUID | None = None) -> TrainResult | None:
    db, bus = Database(settings), Bus(settings)
    service = TrainerService(db, bus, make_storage(settings))
    try:
        if senior_id is not None:
            return await train_senior(db, bus, service.storage, senior_id)
        stop = asyncio.Event()
        import signal

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await service.run(stop)
        return None
    finally:
        await bus.close()
        await db.dispose()
