"""How much earlier staff learn of a fall when an inactivity caution sends the robot first (issue 6).

For each recorded home with enough data, falls are injected as in `seniorsafe evaluate` (all events removed
from a waking-hour moment when the person was at home and active), and the production detector is replayed
with the models it would have had then. Without the early check, staff learn of the fall at the first
danger alert. With it, the first inactivity caution dispatches the robot; a fallen resident does not answer,
so the alert becomes danger when the check ends: dock → the room where the person was last sensed at the
simulator's speed (simulate/robot_sim.py: 0.4 m/s on its floor plan), plus the 30 s answer window and the
command round trip. Prints progress and a final JSON line.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import statistics
from typing import Any

from tqdm import tqdm

from seniorsafe.detection.activity import LocalClock
from seniorsafe.detection.datasets import Dataset, load_dataset
from seniorsafe.detection.evaluate import EvalConfig, _model_at, build_timeline, pick_injections, run_injection
from seniorsafe.detection.replay import run_detector
from seniorsafe.detection.thresholds import Thresholds
from seniorsafe.simulate.robot_sim import ROOMS, SPEED_M_S

HOMES = ("ordonez_a", "ordonez_b", "kasteren_kc", "kasteren_kb")
ANSWER_WINDOW_S = 30.0  # robots/safety.py asks with wait_seconds=30
COMMAND_ROUND_TRIP_S = 1.0  # backend → hub → robot and the ack back (measured well under 1 s in tests)
DOCK = "living"


def robot_check_seconds(room: str) -> float:
    """Time from dispatch until a silent resident's check ends, by the simulator's motion model."""
    (dx, dy), (tx, ty) = ROOMS[DOCK][:2], ROOMS.get(room, ROOMS["other"])[:2]
    metres = math.dist((dx, dy), (tx, ty))
    steps = max(1, int(metres / 0.5))  # the simulator moves in 0.5 m steps
    return COMMAND_ROUND_TRIP_S + steps * 0.5 / SPEED_M_S + ANSWER_WINDOW_S


def last_room(ds: Dataset, t: float) -> str:
    i = bisect.bisect_left(ds.events, t, key=lambda e: e.ts) - 1
    while i >= 0:
        sensor = ds.sensors.get(ds.events[i].sensor)
        if sensor is not None and ds.events[i].value and sensor.room in ROOMS:
            return sensor.room
        i -= 1
    return "other"


def measure_home(name: str, cfg: EvalConfig, thr: Thresholds) -> dict[str, Any]:
    ds = load_dataset(name)
    base = run_detector(ds.events, ds.sensors, ds.tz, thr, keep_models=True)
    clock = LocalClock(ds.tz)
    start = clock.epoch_of_local(clock.day(ds.events[0].ts) + cfg.warmup_days, 0.0)
    injections = pick_injections(ds, build_timeline(ds), cfg, start)
    without, with_check, gains = [], [], []
    for t in tqdm(injections, desc=name, leave=False):
        danger, first_any = run_injection(ds, t, _model_at(base.models_by_day, clock, t), thr, cfg)
        early = first_any + robot_check_seconds(last_room(ds, t)) if first_any < danger else danger
        learned = min(danger, early)
        without.append(danger)
        with_check.append(learned)
        if math.isfinite(danger) and math.isfinite(learned):
            gains.append(danger - learned)
    return {"home": name, "falls": len(injections), **_summary(without, with_check, gains)}


def _median_min(values: list[float]) -> float | None:
    """Median over every fall (undetected ones count as later than any detected one); None if undetected."""
    median = statistics.median(values) if values else math.inf
    return round(median / 60.0, 1) if math.isfinite(median) else None


def _summary(without: list[float], with_check: list[float], gains: list[float]) -> dict[str, Any]:
    within_2h = lambda xs: round(sum(x <= 7200 for x in xs) / len(xs), 3) if xs else None  # noqa: E731
    return {
        "median_min_without": _median_min(without), "median_min_with_early_check": _median_min(with_check),
        "median_gain_min": round(statistics.median(gains) / 60.0, 1) if gains else None,
        "detected_2h_without": within_2h(without), "detected_2h_with_early_check": within_2h(with_check),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--injections", type=int, default=40)
    parser.add_argument("--homes", nargs="*", default=list(HOMES))
    args = parser.parse_args()
    cfg = EvalConfig(injections=args.injections)
    thr = Thresholds()
    homes = [measure_home(name, cfg, thr) for name in tqdm(args.homes, desc="homes")]
    for home in homes:
        print(json.dumps(home))
    gains = [h["median_gain_min"] for h in homes if h["median_gain_min"] is not None]
    print(json.dumps({"homes": len(homes), "robot_check_s_bedroom": round(robot_check_seconds("bedroom"), 1),
                      "median_gain_min_across_homes": round(statistics.median(gains), 1) if gains else None,
                      "per_home_median_gain_min": {h["home"]: h["median_gain_min"] for h in homes}}))


if __name__ == "__main__":
    main()
