"""Nightly training through the real services: what one resident's `train_senior` costs for a typical and for a
densely sensed home, from PostgreSQL to the stored, registered and cached model (issue 4, FR-11).

    .venv/bin/python bench/trainer.py            # last line is JSON

A throwaway database (migrated) gets one organisation and two residents with 90 days of sensor events each (the
trainer's history window): the synthetic resident of bench/detector.py (~210 events a day) and the densely sensed
one (27 ceiling motion sensors, ~5,000 a day). Each is trained three times through `train_senior` (history from
PostgreSQL, false alarms and emergencies, fit in a worker thread, artifact to the local object storage, registry
row, Redis cache, "model updated"); the best run is reported, with the history read timed on its own. From those,
the hours of one core that 10,000 such residents need each night.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
from tqdm import tqdm

from cleanup import create_database, drop_run, insert_home
from seniorsafe.bus import Bus
from seniorsafe.config import Settings
from seniorsafe.db import Database
from seniorsafe.detection import Event, SensorInfo
from seniorsafe.detection.personal import HISTORY_DAYS
from seniorsafe.detection.service import history, home_of_senior
from seniorsafe.detection.synthetic import dense_resident, dense_sensors, synthetic_resident, synthetic_sensors
from seniorsafe.detection.trainer import train_senior
from seniorsafe.storage import LocalStorage

TZ = "Europe/Paris"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
RUNS = 3


def seed_home(libpq: str, org: uuid.UUID, name: str, sensors: dict[str, SensorInfo], events: list[Event]) -> uuid.UUID:
    """A resident, a home, a hub, its sensors and its events (COPY); returns the senior id."""
    hub = f"bench-{name}"
    with psycopg.connect(libpq, autocommit=True) as conn:
        specs = [(s.id, s.kind, s.room) for s in sensors.values()]
        senior, home, pk = insert_home(conn, org, name, hub, "x", TZ, specs)
        first, last = (datetime.fromtimestamp(t, UTC).date() for t in (events[0].ts, events[-1].ts))
        for day in range((last - first).days + 1):  # the daily partitions (ingest creates them as data arrives)
            conn.execute("SELECT sensor_events_ensure_partition(%s)", (first + timedelta(days=day),))
        buf = io.StringIO()
        for seq, ev in enumerate(events, start=1):
            s = sensors[ev.sensor]
            ts = datetime.fromtimestamp(ev.ts, UTC).isoformat()
            buf.write(f"{ts}\t{hub}\t{seq}\t{pk[ev.sensor]}\t{home}\t{s.kind}\t{s.room}\t{ev.value}\tf\n")
        with conn.cursor().copy("COPY sensor_events (ts, hub_id, seq, sensor_pk, home_id, kind, room, value, late) "
                                "FROM STDIN") as copy:
            copy.write(buf.getvalue())
        conn.execute("ANALYZE sensor_events")
    return senior


async def measure(settings: Settings, senior: uuid.UUID) -> dict[str, float]:
    db, bus = Database(settings), Bus(settings)
    storage = LocalStorage(settings.storage_dir)
    try:
        best_read, best_train, events = float("inf"), float("inf"), 0
        for _ in range(RUNS):
            t = time.perf_counter()
            async with db.sessions() as session:
                home = await home_of_senior(session, senior)
                assert home is not None
                stored = await history(session, home, datetime.now(UTC) - timedelta(days=HISTORY_DAYS))
            best_read = min(best_read, time.perf_counter() - t)
            t = time.perf_counter()
            result = await train_senior(db, bus, storage, senior)
            best_train = min(best_train, time.perf_counter() - t)
            events = result.events
            assert abs(events - len(stored)) < 100, (events, len(stored))  # the same window, a moment later
        return {"events": events, "history_read_s": round(best_read, 3), "train_senior_s": round(best_train, 3)}
    finally:
        await bus.close()
        await db.dispose()


def main() -> None:
    run = f"ss_bench_trainer_{uuid.uuid4().hex[:8]}"
    prefix = f"ssbench:{run}:"
    homes: list[tuple[str, Callable[[], dict[str, SensorInfo]], Callable[..., list[Event]]]] = [
        ("typical", synthetic_sensors, synthetic_resident), ("dense", dense_sensors, dense_resident)]
    url = create_database(run)
    libpq = url.replace("postgresql+asyncpg://", "postgresql://")
    out: dict[str, Any] = {"history_days": HISTORY_DAYS}
    try:
        with tempfile.TemporaryDirectory(prefix="ss-bench-trainer-") as tmp:
            settings = Settings(environment="test", database_url=url, redis_url=REDIS_URL, redis_prefix=prefix,
                                storage_dir=Path(tmp) / "objects", jwt_secret="bench-" + uuid.uuid4().hex)
            org = uuid.uuid4()
            with psycopg.connect(libpq, autocommit=True) as conn:
                conn.execute("INSERT INTO organisations (id, name, settings) VALUES (%s, 'bench', '{}')", (org,))
            for name, sensors, generate in tqdm(homes, desc="homes", file=sys.stderr):
                start = (datetime.now(UTC) - timedelta(days=HISTORY_DAYS)).date().isoformat()
                events = generate(int(HISTORY_DAYS), TZ, seed=1, start=start)  # the 90 days up to today
                senior = seed_home(libpq, org, name, sensors(), events)
                figures = asyncio.run(measure(settings, senior))
                out.update({f"{name}_{k}": v for k, v in figures.items()})
                out[f"{name}_nightly_core_hours_10k"] = round(figures["train_senior_s"] * 10_000 / 3600, 2)
                print(orjson.dumps({"home": name, **figures}).decode(), file=sys.stderr)
    finally:
        drop_run(run, prefix)
    print(orjson.dumps(out).decode())


if __name__ == "__main__":
    main()
