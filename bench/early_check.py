"""How much earlier staff learn of a fall when a caution sends the robot first, and what it costs (issue 6).

For each recorded home with enough data, `seniorsafe evaluate`'s protocol (detection/evaluate.py) runs with its
early-check scenario (`early_check_scenario`) at the default thresholds, but with the simulated robot's own
check time instead of the protocol's worst case: dock → the room the caution names at the simulator's speed
(simulate/robot_sim.py: 0.4 m/s on its floor plan), plus the 30 s answer window and the command round trip.
A fallen resident does not answer, so the alert becomes danger when the check ends. On the unmodified
recording every caution sends the robot; the figures say how many checks a day that is, and how many danger
pages are left if every resident who is fine and at home answers (a check while the resident is out — a silence
that ends with the resident coming in through the exterior door, or a stretch between two door events where one
sensor alone fired on its own — finds nobody: a page). Prints progress and a final JSON line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
from typing import Any

from tqdm import tqdm

from seniorsafe.detection.datasets import load_dataset
from seniorsafe.detection.evaluate import EvalConfig, evaluate_home
from seniorsafe.detection.thresholds import Thresholds
from seniorsafe.simulate.robot_sim import ROOMS, SPEED_M_S

HOMES = ("ordonez_a", "ordonez_b", "kasteren_ka", "kasteren_kb", "kasteren_kc", "kasteren2008_a")
ANSWER_WINDOW_S = 30.0  # robots/safety.py asks with wait_seconds=30
COMMAND_ROUND_TRIP_S = 1.0  # backend → hub → robot and the ack back (measured well under 1 s in tests)
DOCK = "living"


def robot_check_seconds(room: str | None) -> float:
    """Time from dispatch until a silent resident's check ends, by the simulator's motion model."""
    (dx, dy), (tx, ty) = ROOMS[DOCK][:2], ROOMS.get(room or "other", ROOMS["other"])[:2]
    metres = math.dist((dx, dy), (tx, ty))
    steps = max(1, int(metres / 0.5))  # the simulator moves in 0.5 m steps
    return COMMAND_ROUND_TRIP_S + steps * 0.5 / SPEED_M_S + ANSWER_WINDOW_S


def measure_home(name: str, cfg: EvalConfig, thr: Thresholds) -> dict[str, Any]:
    report = evaluate_home(load_dataset(name), cfg, thr, sweep=False, check_s=robot_check_seconds)
    alone, robot = report["detector"], report["early_check"][0]
    return {
        "home": name, "falls": report["injections"], "eval_days": report["eval_days"],
        "median_min_without": alone["median_min"], "median_min_with_early_check": robot["median_min"],
        "detected_2h_without": alone["detected_2h"], "detected_2h_with_early_check": robot["detected_2h"],
        "danger_fa_per_day_without": alone["fa_danger_per_day"], "checks_per_day": robot["checks_per_day"],
        "answered_per_day": robot["answered_per_day"], "danger_fa_per_day_with": robot["fa_danger_per_day"],
        "checks_while_out": robot["checks_while_out"], "pages_per_day_with": robot["pages_per_day"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--injections", type=int, default=40)
    parser.add_argument("--homes", nargs="*", default=list(HOMES))
    parser.add_argument("--caution", type=float, default=Thresholds().inactivity_caution_per_day,
                        help="the caution budget a day, about the robot's visits a day (the default threshold's, "
                             "or up to 3 for an organisation with robots)")
    args = parser.parse_args()
    thr = Thresholds(inactivity_caution_per_day=args.caution)
    budgets = ((thr.inactivity_caution_per_day, thr.inactivity_danger_per_day),)
    cfg = dataclasses.replace(EvalConfig(injections=args.injections), early_check_budgets=budgets)
    homes = [measure_home(name, cfg, thr) for name in tqdm(args.homes, desc="homes")]
    for home in homes:
        print(json.dumps(home))
    gains = [h["median_min_without"] - h["median_min_with_early_check"] for h in homes
             if h["median_min_without"] is not None and h["median_min_with_early_check"] is not None]
    days = sum(h["eval_days"] for h in homes)

    def pooled(key: str) -> float:
        return round(sum(h[key] * h["eval_days"] for h in homes) / days, 3)

    print(json.dumps({
        "homes": len(homes), "caution_per_day": thr.inactivity_caution_per_day,
        "robot_check_s_bedroom": round(robot_check_seconds("bedroom"), 1),
        "median_min_with_early_check_worst_home": max(
            (h["median_min_with_early_check"] for h in homes if h["median_min_with_early_check"] is not None),
            default=None),
        "median_gain_min_across_homes": round(statistics.median(gains), 1) if gains else None,
        "checks_per_day_pooled": pooled("checks_per_day"),
        "danger_fa_per_day_pooled_without": pooled("danger_fa_per_day_without"),
        "danger_fa_per_day_pooled_with": pooled("danger_fa_per_day_with"),
        "pages_per_day_pooled_with": pooled("pages_per_day_with"),
    }))

if __name__ == "__main__":
    main()
