"""Detector benchmark: events/s through HomeDetector.on_event, one tick over 10,000 homes, training time.

Run: .venv/bin/python bench/detector.py   (last line is JSON)
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

from seniorsafe.detection import Event, HomeDetector, PersonalModel, SensorInfo, Thresholds
from seniorsafe.detection.replay import run_detector
from seniorsafe.detection.synthetic import dense_resident, dense_sensors, synthetic_resident, synthetic_sensors

TZ = "Europe/Paris"


def log(msg: str) -> None:
    print(msg, file=sys.stderr if "--quiet" in sys.argv else sys.stdout, flush=True)


def year_and_training(
    what: str, sensors: dict[str, SensorInfo], generate: Callable[..., list[Event]]
) -> tuple[list[Event], PersonalModel, float]:
    """A generated resident-year, the model fitted on it and the seconds the fit took."""
    log(f"generating a {what} resident-year ...")
    year = generate(365, TZ, seed=1)
    log(f"  {len(year)} events")
    log("training on it ...")
    t = time.perf_counter()
    model = PersonalModel.fit(year, sensors, TZ)
    return year, model, time.perf_counter() - t


def main() -> None:
    sensors = synthetic_sensors()
    year, model, train_s = year_and_training("synthetic", sensors, synthetic_resident)
    log(f"  {train_s:.2f} s ({model.metrics['pauses']} pauses, {len(model.to_bytes())} bytes)")

    log("streaming events through HomeDetector.on_event ...")
    det = HomeDetector(sensors, TZ, model, Thresholds())
    stream = year[-100_000:]
    t = time.perf_counter()
    for ev in stream:
        det.on_event(ev)
    ev_s = time.perf_counter() - t
    events_per_s = len(stream) / ev_s
    log(f"  {events_per_s:,.0f} events/s")

    log("building 10,000 homes ...")
    homes = []
    t_last = stream[-1].ts
    for i in range(10_000):
        h = HomeDetector(sensors, TZ, model, Thresholds())
        for ev in stream[-20 - (i % 7) :]:
            h.on_event(ev)
        homes.append(h)
    now = t_last + 60
    log("ticking 10,000 homes once ...")
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for h in homes:
            h.on_tick(now)
        best = min(best, time.perf_counter() - t)
        now += 1
    tick_ms = best * 1000
    log(f"  {tick_ms:.1f} ms")
    service_tick_ms = service_tick(homes, now)
    log(f"  through DetectorService.tick: {service_tick_ms:.1f} ms")
    dense = dense_home_year()
    print(
        json.dumps(
            {
                "events_per_s": round(events_per_s),
                "tick_ms_10k_homes": round(tick_ms, 2),
                "train_s_per_resident_year": round(train_s, 3),
                "events_per_resident_year": len(year),
                "model_bytes": len(model.to_bytes()),
                "service_tick_ms_10k_homes": round(service_tick_ms, 2),
                **dense,
            }
        )
    )


def dense_home_year() -> dict[str, float]:
    """A densely sensed home (27 ceiling motion sensors, ~5,000 events a day, as in the CASAS apartments):
    training on its year, and the replay of that year with nightly retraining (the ``seniorsafe replay`` path)."""
    sensors = dense_sensors()
    year, _, train_s = year_and_training("densely sensed", sensors, dense_resident)
    log(f"  {train_s:.2f} s")
    log("replaying it with nightly retraining ...")
    result = run_detector(year, sensors, TZ, progress="--quiet" not in sys.argv)
    log(f"  {result.seconds:.1f} s, {len(result.alerts)} alerts")
    return {
        "dense_events_per_resident_year": len(year),
        "dense_train_s_per_resident_year": round(train_s, 3),
        "dense_replay_s_per_year": round(result.seconds, 1),
    }


def service_tick(homes: list[HomeDetector], now: float) -> float:
    """The detector service's periodic tick over the same 10,000 idle homes (no deadline due: no I/O)."""
    import asyncio
    import uuid

    from seniorsafe.bus import Bus
    from seniorsafe.config import Settings
    from seniorsafe.db import Database
    from seniorsafe.detection.detector_service import DetectorService, LiveHome
    from seniorsafe.detection.service import HomeInfo
    from seniorsafe.storage import LocalStorage

    settings = Settings()
    svc = DetectorService(Database(settings), Bus(settings), LocalStorage(settings.storage_dir))
    for h in homes:
        info = HomeInfo(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), TZ, h.sensors, {}, Thresholds())
        svc.homes[info.home_id] = LiveHome(info, h)
    idle = min(h.next_deadline for h in homes) - 1.0
    at = min(now, idle)

    async def run() -> float:
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            await svc.tick(at)
            best = min(best, time.perf_counter() - t)
        return best * 1000

    return asyncio.run(run())


if __name__ == "__main__":
    main()
