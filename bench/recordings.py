"""The same homes written the ways devices and other recordings write them: the detector must not be fooled by the
style (issue 4; docs/detection.md, "Activity and context").

1. Check-ins. Zigbee2MQTT publishes a device's whole state with every check-in and battery report, about hourly:
a door or contact sensor repeats "closed", a motion sensor "no motion", a mat "free" — through a fall too. For each
recorded home with enough data this replays the recording with `seniorsafe evaluate`'s protocol (nightly retraining,
the same 60 injected falls, the same seed) as recorded, and again with every sensor that reports a state re-sending it
every `--period-min` minutes, the check-ins going on while the fallen resident lies still. A detector that takes a
repeated state for someone moving detects almost nothing in the second run (Kasteren A: 0 % within 2 h before the
rule); ours must give the same figures in both (`same_with_check_ins`).

2. Openings only. Some recordings log a door, cupboard, light switch or mat only when it is used (1, never 0). A
third run drops every 0 of such sensors and reads the rest as EVENTS.csv is read (`formats.close_each_opening`:
closed again 1 s after each opening). Closings carry information, so some loss is expected; a reader that takes
the repeated openings for check-ins detects nothing (Kasteren A: 0 % within 2 h, 0.53 danger alarms a day).

3. Triggers only. Many motion logs hold the "motion" moments only, not the sensor's "no motion" after them: a
fourth run drops every 0 of the motion and flush sensors (their "off" is pooled with the "on"; expected: nearly
the same figures).

Prints progress and a final JSON line.

    .venv/bin/python bench/recordings.py [--period-min 50] [HOME ...]
"""

from __future__ import annotations

import argparse
import bisect
import json
import statistics
from typing import Any

from tqdm import tqdm

from seniorsafe.detection.activity import POOLED_KINDS, LocalClock
from seniorsafe.detection.datasets import Dataset, load_dataset
from seniorsafe.detection.evaluate import (
    DETECT_WITHIN_S,
    EvalConfig,
    build_timeline,
    false_alarms,
    model_at,
    pick_injections,
    recording_gaps,
    run_injection,
)
from seniorsafe.detection.events import Event
from seniorsafe.detection.formats import OPENING_KINDS, close_each_opening
from seniorsafe.detection.replay import run_detector
from seniorsafe.detection.synthetic import device_check_ins
from seniorsafe.detection.thresholds import Thresholds

HOMES = ("ordonez_a", "ordonez_b", "kasteren_ka", "kasteren_kb", "kasteren_kc", "kasteren2008_a")


def openings_only(ds: Dataset) -> list[Event]:
    """The recording as one that logs doors, cupboards, lights and mats only when used, read back from a file."""
    used = [ev for ev in ds.events if not (ds.sensors[ev.sensor].kind in OPENING_KINDS and ev.value < 0.5)]
    return close_each_opening(used, ds.sensors)


def triggers_only(ds: Dataset) -> list[Event]:
    """The recording as one that logs motion and flush sensors' triggers only."""
    return [ev for ev in ds.events if not (ds.sensors[ev.sensor].kind in POOLED_KINDS and ev.value < 0.5)]


def measure(ds: Dataset, cfg: EvalConfig, thr: Thresholds, period_s: float | None = None,
            recording: list[Event] | None = None) -> dict[str, Any]:
    """The protocol's detection and danger false alarms on ``recording`` (default: as recorded); with `period_s`,
    devices check in all along, and during a fall they re-send the state they were in when it happened."""
    written = ds.events if recording is None else recording
    devices = device_check_ins(ds.sensors, written, period_s, written[-1].ts) if period_s else []
    events = sorted([*written, *devices], key=lambda e: e.ts)
    clock = LocalClock(ds.tz)
    start = clock.epoch_of_local(clock.day(ds.events[0].ts) + cfg.warmup_days, 0.0)
    result = run_detector(events, ds.sensors, ds.tz, thr, keep_models=True)
    fa = false_alarms(result, start, recording_gaps(ds))
    ttd = []
    for t in pick_injections(ds, build_timeline(ds), cfg, start):
        before = written[: bisect.bisect_left(written, t, key=lambda e: e.ts)]
        during = device_check_ins(ds.sensors, before, period_s, t + cfg.fall_hours * 3600.0) if period_s else []
        model = model_at(result.models_by_day, clock, t)
        ttd.append(run_injection(ds, t, model, thr, cfg, events, during).danger)
    return {"events": len(events), "falls": len(ttd),
            "detected_2h": round(sum(x <= DETECT_WITHIN_S for x in ttd) / len(ttd), 3),
            "median_min": round(statistics.median(ttd) / 60.0, 1),
            "danger_false_alarms": sum(fa["danger"].values())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("homes", nargs="*", default=list(HOMES))
    ap.add_argument("--period-min", type=float, default=50.0)
    args = ap.parse_args()
    cfg, thr = EvalConfig(), Thresholds()
    report: dict[str, Any] = {}
    for name in tqdm(args.homes, desc="homes", unit="home"):
        ds = load_dataset(name)
        plain = measure(ds, cfg, thr)
        chatty = measure(ds, cfg, thr, args.period_min * 60.0)
        opened = measure(ds, cfg, thr, recording=openings_only(ds))
        triggers = measure(ds, cfg, thr, recording=triggers_only(ds))
        report[name] = {"recorded": plain, "with_check_ins": chatty, "openings_only": opened, "triggers_only": triggers}
        tqdm.write(f"{name}: recorded {plain}; with check-ins every {args.period_min:g} min {chatty}; "
                   f"openings only {opened}; motion triggers only {triggers}")
    same = all(r["recorded"][k] == r["with_check_ins"][k] for r in report.values()
               for k in ("detected_2h", "median_min", "danger_false_alarms"))
    print(json.dumps({"period_min": args.period_min, "homes": report, "same_with_check_ins": same}))


if __name__ == "__main__":
    main()
