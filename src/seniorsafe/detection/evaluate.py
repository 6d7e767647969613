"""Evaluation on recorded homes: false alarms on the unmodified data, injected falls, fixed baselines.

Protocol (documented in docs/detection.md):
- The home is replayed in simulated time with nightly retraining (models know only the past).
- False alarms: alerts on the unmodified recording after the first ``warmup_days`` (learning
  period); an alert that reached "danger" counts as a danger false alarm, one that stayed
  "caution" as a caution. None of these recordings contains a real emergency.
- Injected falls: a random moment in waking hours (08:00-21:00 local) when the resident was at
  home and active (an action within the previous 10 minutes, not just through the front door, not
  sitting/lying on a bed/chair sensor); every event of the next 6 hours is removed. The detector
  is rebuilt with the model trained before that moment, fed the 24 h of real events before it,
  then ticked through the silent 6 hours. Time to detect = first danger alert - fall moment.
- Baselines: a fixed inactivity limit (3 h, 12 h; swept for the trade-off plot): alarm when
  nothing happened for that long, except after the exterior door (away).
- Recording gaps: a silence of the whole recording (no event of any sensor) that contains at least
  one full local calendar day is a hub outage, not stillness (in production the hub's heartbeat
  shows it as "communication lost"). Alerts opened (or reaching danger) inside such a gap are
  reported separately (``in_recording_gaps``), not counted as false alarms, and the gap's time is not
  counted as evaluation days. Silences shorter than that always count, whatever their cause.
- The robot's early check (``early_check_scenario``): every caution sends the robot; a fallen resident does not
  answer (danger when the check ends), a resident who is fine does (the alert closes, the clock restarts).
"""

from __future__ import annotations

import bisect
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from tqdm import tqdm

from .activity import ActivityTracker, LocalClock
from .coverage import blind_spots
from .datasets import Dataset, load_dataset
from .detector import HomeDetector
from .events import HEALTH_KINDS, Event
from .personal import PersonalModel, lone_sensor_stretches, sensor_codes
from .replay import RETRAIN_HOUR, EarlyCheck, ReplayResult, run_detector
from .thresholds import Thresholds

DETECT_WITHIN_S = 2 * 3600.0
#: a front-door action followed by an action inside within this time let the resident in (coming home); one
#: followed by nothing inside for longer let them out (leaving: they were at home until then)
ARRIVAL_S = 30 * 60.0


@dataclass
class EvalConfig:
    injections: int = 60
    seed: int = 7
    warmup_days: int = 7
    fall_hours: float = 6.0
    waking_hours: tuple[float, float] = (8.0, 21.0)
    active_within_min: float = 10.0
    baseline_hours: tuple[float, ...] = (3.0, 12.0)
    baseline_sweep_hours: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
    #: multipliers of the danger sensitivity for the trade-off curve (1 = configured value)
    sweep: tuple[float, ...] = (8.0, 4.0, 2.0, 1.0, 0.5, 0.25, 0.1)
    min_days_enough: float = 14.0
    #: the robot's early check (a caution sends the robot; no answer = danger): minutes from the caution to its
    #: outcome at the latest (robots/protocol.py: the safety check's 180 s run timeout, 30 s acknowledgement;
    #: bench/early_check.py uses the simulated robot's trip to the room instead)
    robot_check_min: float = 3.5
    #: (caution, danger) budgets per day for the early-check scenario
    early_check_budgets: tuple[tuple[float, float], ...] = ((0.4, 0.1), (1.0, 0.1), (2.0, 0.1))

    def waking(self, hour: float) -> bool:
        return self.waking_hours[0] <= hour < self.waking_hours[1]


@dataclass
class Timeline:
    """Activity moments of a recording with what is needed to pick injection moments."""

    ts: list[float]
    exterior: list[bool]
    resting: list[bool]
    gaps_start: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gaps_len: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: (from, to) of the stretches between two front-door actions where one sensor alone fired for 4 h or more:
    #: the resident was probably out (the model names such sensors, ``routine["fires_alone"]``)
    lone_sensor: list[tuple[float, float]] = field(default_factory=list)

    def ordinary(self, i: int) -> bool:
        """Action ``i`` is one a fall may follow: not the front door (going out), not on a bed/chair sensor."""
        return not (self.exterior[i] or self.resting[i])

    def came_in(self, i: int) -> bool:
        """Front-door action ``i`` let the resident in: an action inside follows within ARRIVAL_S."""
        end = self.ts[i] + ARRIVAL_S
        for j in range(i + 1, len(self.ts)):
            if self.ts[j] > end:
                break
            if not self.exterior[j]:
                return True
        return False


def build_timeline(ds: Dataset) -> Timeline:
    tracker = ActivityTracker(ds.sensors)
    code_of = sensor_codes(ds.sensors)
    ts: list[float] = []
    ext: list[bool] = []
    rest: list[bool] = []
    codes: list[int] = []
    for ev in ds.events:
        act = tracker.classify(ev)
        if act is not None:
            ts.append(act.ts)
            ext.append(act.exterior)
            rest.append(act.resting)
            codes.append(code_of[act.sensor])
    arr = np.asarray(ts)
    gaps = np.diff(arr) if arr.size > 1 else np.zeros(0)
    home = ~np.asarray(ext[:-1], dtype=bool) if arr.size > 1 else np.zeros(0, dtype=bool)
    lone = lone_sensor_stretches(arr, np.asarray(ext, dtype=bool), np.asarray(codes, dtype=np.int64))
    return Timeline(ts, ext, rest, arr[:-1][home] if arr.size > 1 else arr, gaps[home],
                    [(ts[i], ts[j]) for i, j in lone])


def pick_injections(ds: Dataset, tl: Timeline, cfg: EvalConfig, start: float) -> list[float]:
    """Fall moments: waking hours, at home, active, not resting; fixed seed per home."""
    rng = np.random.default_rng(cfg.seed + zlib.crc32(ds.name.encode()))
    clock = LocalClock(ds.tz)
    end = ds.events[-1].ts - cfg.fall_hours * 3600.0
    out: list[float] = []
    if end <= start or not tl.ts:
        return out
    for _ in range(cfg.injections * 200):
        if len(out) >= cfg.injections:
            break
        t = float(rng.uniform(start, end))
        if not cfg.waking(clock.hour(t)):
            continue
        i = bisect.bisect_right(tl.ts, t) - 1
        if i < 0 or t - tl.ts[i] > cfg.active_within_min * 60.0 or not tl.ordinary(i):
            continue
        out.append(t)
    return sorted(out)


def model_at(models: dict[int, PersonalModel], clock: LocalClock, t: float) -> PersonalModel | None:
    """The model the detector had at ``t``: the one trained at the last nightly retraining before it."""
    day = clock.day(t)
    if clock.hour(t) < RETRAIN_HOUR:
        day -= 1
    return models.get(day)


class Injection(NamedTuple):
    """What the detector did after one injected fall (seconds after the fall; inf when not within the window)."""

    danger: float  # first danger alert
    first: float  # first alert of any severity (what a caution-stage check would act on)
    room: str | None  # the room that first alert names (where the resident was last sensed)


def run_injection(
    ds: Dataset,
    t: float,
    model: PersonalModel | None,
    thr: Thresholds,
    cfg: EvalConfig,
    events: Sequence[Event] | None = None,
    during: Sequence[Event] = (),
) -> Injection:
    """A fall at ``t``: the detector is fed the day before from ``events`` (default: the recording), then nothing
    a person does for ``cfg.fall_hours`` — only ``during``, what devices send on their own meanwhile (sorted)."""
    recording = ds.events if events is None else events
    det = HomeDetector(ds.sensors, ds.tz, model, thr, missing_model_is_fault=False)
    lo = bisect.bisect_left(recording, t - 86400.0, key=lambda e: e.ts)
    hi = bisect.bisect_left(recording, t, key=lambda e: e.ts)
    for ev in recording[lo:hi]:
        det.on_event(ev)
    horizon = t + cfg.fall_hours * 3600.0
    first_any = first_danger = math.inf
    room: str | None = None
    device = iter([ev for ev in during if t <= ev.ts < horizon])
    pending = next(device, None)
    while min(det.next_deadline, pending.ts if pending else math.inf) <= horizon:
        if pending is not None and pending.ts < det.next_deadline:
            det.on_event(pending)  # a device reporting on its own; nothing is due before it
            pending = next(device, None)
            continue
        now = max(det.next_deadline, t)
        for d in det.on_tick(now):
            if d.action == "close" or d.kind in HEALTH_KINDS:
                continue
            if now - t < first_any:
                first_any, room = now - t, d.room
            if d.severity == "danger":
                first_danger = min(first_danger, now - t)
        if first_danger < math.inf:
            break
    return Injection(first_danger, first_any, room)


def _out_at(tl: Timeline, t: float) -> tuple[float, float] | None:
    """The absence a robot check at ``t`` falls in, None when the resident was at home: a stretch where only a
    sensor that fires on its own acted between two front-door actions, or a silence that ends with the resident
    coming in through the front door (so was out — unseen by the door sensor when leaving). A silence that ends
    with the resident going out through it was spent at home."""
    for lo, hi in tl.lone_sensor:
        if lo <= t <= hi:
            return lo, hi
    i = bisect.bisect_right(tl.ts, t)
    if i < len(tl.ts) and tl.exterior[i] and tl.came_in(i):
        return (tl.ts[i - 1] if i else -math.inf), tl.ts[i]
    return None


def recording_gaps(ds: Dataset) -> list[tuple[float, float]]:
    """(last event, next event) of every silence of the whole recording that spans a full local day.

    A silence that starts at the exterior door is time out of home, not a gap."""
    clock = LocalClock(ds.tz)
    out: list[tuple[float, float]] = []
    prev: Event | None = None
    for ev in ds.events:
        if prev is not None and clock.day(ev.ts) - clock.day(prev.ts) >= 2:
            sensor = ds.sensors.get(prev.sensor)
            if sensor is None or not sensor.is_exterior_door:
                out.append((prev.ts, ev.ts))
        prev = ev
    return out


def _any_within(sorted_times: Sequence[float], lo: float, hi: float) -> bool:
    """Whether one of ``sorted_times`` lies in (lo, hi]."""
    i = bisect.bisect_right(sorted_times, lo)
    return i < len(sorted_times) and sorted_times[i] <= hi


def _in_gap(t: float, gaps: Sequence[tuple[float, float]]) -> bool:
    return any(a < t <= b for a, b in gaps)


def _gap_days(gaps: Sequence[tuple[float, float]], start: float) -> float:
    return sum(max(0.0, b - max(a, start)) for a, b in gaps) / 86400.0


def false_alarms(result: ReplayResult, start: float, gaps: Sequence[tuple[float, float]] = ()) -> dict[str, Any]:
    danger: dict[str, int] = {}
    caution: dict[str, int] = {}
    in_gaps: dict[str, int] = {}
    for a in result.alerts:
        if a.kind in HEALTH_KINDS:
            continue
        if _in_gap(a.danger_at if a.danger_at is not None else a.opened_at, gaps):
            if a.opened_at >= start:
                key = f"{a.kind}/{'danger' if a.danger_at is not None else 'caution'}"
                in_gaps[key] = in_gaps.get(key, 0) + 1
            continue
        if a.danger_at is not None and a.danger_at >= start:
            danger[a.kind] = danger.get(a.kind, 0) + 1
        elif a.danger_at is None and a.opened_at >= start:
            caution[a.kind] = caution.get(a.kind, 0) + 1
    return {"danger": danger, "caution": caution, "in_recording_gaps": in_gaps}


def _ttd_stats(ttd: Sequence[float]) -> dict[str, Any]:
    arr = np.asarray(ttd, dtype=np.float64)
    if arr.size == 0:
        return {"n": 0, "detected_2h": None, "median_min": None, "p90_min": None}
    med = float(np.median(arr))
    p90 = float(np.quantile(arr, 0.9, method="higher"))
    return {
        "n": int(arr.size),
        "detected_2h": float(np.mean(arr <= DETECT_WITHIN_S)),
        "median_min": round(med / 60.0, 1) if math.isfinite(med) else None,
        "p90_min": round(p90 / 60.0, 1) if math.isfinite(p90) else None,
    }


def _baseline(
    tl: Timeline,
    injections: Sequence[float],
    start: float,
    days: float,
    hours: float,
    gaps: Sequence[tuple[float, float]] = (),
) -> dict[str, Any]:
    limit = hours * 3600.0
    in_eval = tl.gaps_start >= start
    fa = sum(
        1
        for g0, glen in zip(tl.gaps_start[in_eval], tl.gaps_len[in_eval], strict=True)
        if glen >= limit and not _in_gap(float(g0) + limit, gaps)
    )
    ttd = []
    for t in injections:
        i = bisect.bisect_right(tl.ts, t) - 1
        ttd.append(max(0.0, tl.ts[i] + limit - t))
    stats = _ttd_stats(ttd)
    stats.update({"hours": hours, "false_alarms": fa, "fa_per_day": round(fa / days, 3) if days else None})
    return stats


def hindsight(tl: Timeline, injections: Sequence[float]) -> dict[str, Any]:
    """A detector that knew when each real silence would end: at every fall moment it pages exactly when the
    real recording's next action would have come (never a false alarm by construction). Its share <= 2 h
    and median bound what any detector can reach *without false alarms* on this recording."""
    ttd = []
    for t in injections:
        i = bisect.bisect_right(tl.ts, t)
        ttd.append(tl.ts[i] - t if i < len(tl.ts) else math.inf)
    return _ttd_stats(ttd)


def long_waking_silences(
    ds: Dataset, tl: Timeline, cfg: EvalConfig, start: float, limits_min: Sequence[float] = (45.0, 120.0)
) -> dict[str, int]:
    """How often an action like those a fall is injected after (waking hours, at home, not on a bed/chair,
    not the front door) was followed by a real silence longer than each limit, after the warm-up: what a
    detector paging at that limit after such actions would raise as false alarms."""
    clock = LocalClock(ds.tz)
    out = {f"{m:g}min": 0 for m in limits_min}
    for i in range(len(tl.ts) - 1):
        t = tl.ts[i]
        if t < start or not tl.ordinary(i) or not cfg.waking(clock.hour(t)):
            continue
        for m in limits_min:
            if tl.ts[i + 1] - t > m * 60.0:
                out[f"{m:g}min"] += 1
    return out


def evaluate_home(
    ds: Dataset,
    cfg: EvalConfig,
    thr: Thresholds,
    progress: bool = False,
    sweep: bool = True,
    check_s: Callable[[str | None], float] | None = None,
) -> dict[str, Any]:
    """Everything of the protocol for one home (``check_s``: the robot's check time by room, see
    :func:`early_check_scenario`)."""
    base = run_detector(ds.events, ds.sensors, ds.tz, thr, keep_models=True)
    first, end = ds.events[0].ts, ds.events[-1].ts
    clock = LocalClock(ds.tz)
    start = clock.epoch_of_local(clock.day(first) + cfg.warmup_days, 0.0)
    gaps = recording_gaps(ds)
    days = max(0.0, (end - start) / 86400.0 - _gap_days(gaps, start))
    tl = build_timeline(ds)
    injections = pick_injections(ds, tl, cfg, start)

    def measure(t: Thresholds, result: ReplayResult) -> dict[str, Any]:
        fa = false_alarms(result, start, gaps)
        ttd, any_ttd = [], []
        for inj in injections:
            fall = run_injection(ds, inj, model_at(base.models_by_day, clock, inj), t, cfg)
            ttd.append(fall.danger)
            any_ttd.append(fall.first)
        n_d, n_c = sum(fa["danger"].values()), sum(fa["caution"].values())
        out = _ttd_stats(ttd)
        out.update(
            {
                "any_alert": _ttd_stats(any_ttd),
                "danger_false_alarms": n_d,
                "caution_false_alarms": n_c,
                "fa_danger_per_day": round(n_d / days, 3) if days else None,
                "fa_caution_per_day": round(n_c / days, 3) if days else None,
                "false_alarms_by_kind": fa,
            }
        )
        return out

    main = measure(thr, base)
    report: dict[str, Any] = {
        "home": ds.name,
        "tz": ds.tz,
        "continuous": ds.continuous,
        "motion_sensors": any(s.kind == "motion" for s in ds.sensors.values()),
        "days_total": round((end - first) / 86400.0, 1),
        "eval_days": round(days, 1),
        "injections": len(injections),
        "recording_gaps": [{"from": a, "to": b, "hours": round((b - a) / 3600.0, 1)} for a, b in gaps if b > start],
        "enough_data": ds.continuous and (end - first) / 86400.0 >= cfg.min_days_enough,
        "detector": main,
        "baselines": [_baseline(tl, injections, start, days, h, gaps) for h in cfg.baseline_hours],
        "hindsight": hindsight(tl, injections),
        "long_waking_silences": long_waking_silences(ds, tl, cfg, start),
        "blind_spots": blind_spots(ds.sensors),
        "notes": ds.notes + base.model_notes(),
    }
    if cfg.early_check_budgets:
        report["early_check"] = [
            early_check_scenario(ds, cfg, thr.replace(inactivity_caution_per_day=c, inactivity_danger_per_day=d),
                                 base.models_by_day, injections, start, days, gaps, tl, check_s)
            for c, d in cfg.early_check_budgets
        ]
    if sweep:
        curve = []
        for mult in tqdm(cfg.sweep, desc=f"{ds.name} sweep", disable=not progress, leave=False):
            b_d = min(1.0, thr.inactivity_danger_per_day * mult)
            t = thr.replace(
                inactivity_danger_per_day=b_d, inactivity_caution_per_day=max(thr.inactivity_caution_per_day, b_d)
            )
            res = run_detector(ds.events, ds.sensors, ds.tz, t, models=base.models_by_day)
            m = measure(t, res)
            keys = ("detected_2h", "median_min", "fa_danger_per_day", "danger_false_alarms")
            curve.append({"danger_per_day": b_d, "mult": mult, **{k: m[k] for k in keys}})
        report["tradeoff"] = curve
        report["baseline_tradeoff"] = [
            _baseline(tl, injections, start, days, h, gaps) for h in cfg.baseline_sweep_hours
        ]
    return report


def early_check_scenario(
    ds: Dataset,
    cfg: EvalConfig,
    thr: Thresholds,
    models: dict[int, PersonalModel],
    injections: Sequence[float],
    start: float,
    days: float,
    gaps: Sequence[tuple[float, float]],
    tl: Timeline,
    check_s: Callable[[str | None], float] | None = None,
) -> dict[str, Any]:
    """The caution -> robot check -> danger stage (organisation setting ``early_check``), at these budgets.

    ``check_s(room)``: seconds from a caution to the check's outcome (default ``cfg.robot_check_min``).
    Falls: the fallen resident does not answer, so danger comes at the first alert + the check or at the
    model's own danger limit, whichever is first. Unmodified recording: every caution sends the robot; a
    resident who is fine is assumed to answer (the check closes the alert and restarts the stillness clock),
    except one who was not at home (:func:`_out_at`: a silence that ends with the resident coming in through the
    front door, or a stretch where only a sensor that fires on its own acted): such a check finds nobody —
    ``not_found``, a danger page, one per such absence. Reported: checks a day, checks answered, the pages left
    (``pages_per_day``: danger alerts + those absences); with an answer rate r at home the pages a day would be
    ``pages + (1 - r) x answered at home`` (r cannot be measured on a recording)."""
    duration = check_s or (lambda room: cfg.robot_check_min * 60.0)
    clock = LocalClock(ds.tz)
    robot = EarlyCheck(duration)
    result = run_detector(ds.events, ds.sensors, ds.tz, thr, models=models, early_check=robot)
    fa = false_alarms(result, start, gaps)
    ttd = []
    for inj in injections:
        fall = run_injection(ds, inj, model_at(models, clock, inj), thr, cfg)
        ttd.append(min(fall.danger, fall.first + duration(fall.room)))
    n_d = sum(fa["danger"].values())
    sent, answered = ([t for t in times if t >= start and not _in_gap(t, gaps)]
                      for times in (robot.sent, robot.answered))
    out_periods = [period for t in answered if (period := _out_at(tl, t)) is not None]
    # one page per such absence, unless a danger alert (counted above) already paged during it
    paged = sorted(a.danger_at for a in result.alerts if a.danger_at is not None)
    out_silences = sum(1 for lo, hi in set(out_periods) if not _any_within(paged, lo, hi))
    at_home = len(answered) - len(out_periods)
    out = _ttd_stats(ttd)
    out.update(
        {
            "caution_per_day": thr.inactivity_caution_per_day,
            "danger_per_day": thr.inactivity_danger_per_day,
            "checks": len(sent),
            "checks_per_day": round(len(sent) / days, 3) if days else None,
            "answered": at_home,
            "answered_per_day": round(at_home / days, 3) if days else None,
            "checks_while_out": len(out_periods),
            "out_silences": out_silences,
            "danger_false_alarms": n_d,
            "fa_danger_per_day": round(n_d / days, 3) if days else None,
            "pages": n_d + out_silences,
            "pages_per_day": round((n_d + out_silences) / days, 3) if days else None,
            "false_alarms_by_kind": fa,
        }
    )
    return out


def evaluate_homes(
    names: Sequence[str],
    cfg: EvalConfig | None = None,
    thr: Thresholds | None = None,
    *,
    data_dir: str | Path | None = None,
    progress: bool = True,
    sweep: bool = True,
) -> dict[str, Any]:
    cfg = cfg or EvalConfig()
    thr = thr or Thresholds()
    homes = []
    for name in tqdm(list(names), desc="homes", unit="home", disable=not progress):
        ds = load_dataset(name, data_dir)
        homes.append(evaluate_home(ds, cfg, thr, progress=progress, sweep=sweep))
    report = {"config": cfg.__dict__, "thresholds": thr.to_dict(), "homes": homes, "pooled": _pooled(homes)}
    if sweep:
        report["leave_one_home_out"] = leave_one_home_out(report)
    return report


def _pick_sensitivity(homes: Sequence[dict[str, Any]], budget: float) -> int:
    """Index of the sweep point with the best mean share detected <= 2 h whose pooled danger
    false-alarm rate over ``homes`` is within ``budget`` (the least sensitive point when none is)."""
    days = sum(h["eval_days"] for h in homes)
    points = range(len(homes[0]["tradeoff"]))

    def within_budget(i: int) -> bool:
        return bool(days) and sum(h["tradeoff"][i]["danger_false_alarms"] for h in homes) / days <= budget + 1e-9

    def detected(i: int) -> float:
        return float(np.mean([h["tradeoff"][i]["detected_2h"] or 0.0 for h in homes]))

    allowed = [i for i in points if within_budget(i)]
    if not allowed:
        return min(points, key=lambda i: homes[0]["tradeoff"][i]["danger_per_day"])
    return max(allowed, key=detected)


def leave_one_home_out(report: dict[str, Any], budgets: Sequence[float] = (0.03, 0.1, 0.25)) -> dict[str, Any]:
    """Choose the danger sensitivity on the other homes (rule: best mean detection within a pooled
    false-alarm budget), report the held-out home at that choice; and the same rule in-sample."""
    ok = [h for h in report["homes"] if h["enough_data"] and h.get("tradeoff")]
    out: dict[str, Any] = {}
    if len(ok) < 2:
        return out
    for budget in budgets:
        rows = []
        for h in ok:
            others = [o for o in ok if o is not h]
            i = _pick_sensitivity(others, budget)
            rows.append({"home": h["home"], "chosen_mult": h["tradeoff"][i]["mult"], **h["tradeoff"][i]})
        j = _pick_sensitivity(ok, budget)
        days = sum(h["eval_days"] for h in ok)
        n_fa = sum(r["danger_false_alarms"] for r in rows)
        out[str(budget)] = {
            "held_out": rows,
            "pooled_fa_danger_per_day": round(n_fa / days, 3) if days else None,
            "mean_detected_2h": round(float(np.mean([r["detected_2h"] or 0.0 for r in rows])), 3),
            "in_sample_mult": ok[0]["tradeoff"][j]["mult"],
        }
    return out


def _pooled(homes: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [h for h in homes if h["enough_data"]]
    days = sum(h["eval_days"] for h in ok)
    if not ok or not days:
        return {}
    n_d = sum(h["detector"]["danger_false_alarms"] for h in ok)
    n_c = sum(h["detector"]["caution_false_alarms"] for h in ok)
    return {
        "homes": [h["home"] for h in ok],
        "eval_days": round(days, 1),
        "fa_danger_per_day": round(n_d / days, 3),
        "fa_caution_per_day": round(n_c / days, 3),
        "detected_2h_mean": round(float(np.mean([h["detector"]["detected_2h"] or 0 for h in ok])), 3),
    }


def _fmt_min(v: float | None) -> str:
    if v is None:
        return "> 6 h"
    return f"{int(v // 60)} h {int(v % 60):02d}" if v >= 60 else f"{v:.0f} min"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f} %"


def markdown_table(report: dict[str, Any]) -> str:
    head = (
        "| home | eval days | enough data | falls | detected ≤ 2 h | median TTD | p90 TTD | danger FA/day | "
        "caution FA/day | first alert (caution or danger): ≤ 2 h / median | "
        "fixed 3 h: ≤ 2 h / median / FA/day | fixed 12 h: ≤ 2 h / median / FA/day | hindsight, 0 FA: ≤ 2 h / median |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = [head]
    for h in report["homes"]:
        d = h["detector"]
        anyd = d["any_alert"]
        bl = [f"{_pct(b['detected_2h'])} / {_fmt_min(b['median_min'])} / {b['fa_per_day']}" for b in h["baselines"]]
        rows.append(
            f"| {h['home']} | {h['eval_days']} | {'yes' if h['enough_data'] else 'no'} | {h['injections']} | "
            f"{_pct(d['detected_2h'])} | {_fmt_min(d['median_min'])} | {_fmt_min(d['p90_min'])} | "
            f"{d['fa_danger_per_day']} ({d['danger_false_alarms']}) | {d['fa_caution_per_day']} "
            f"({d['caution_false_alarms']}) | {_pct(anyd['detected_2h'])} / {_fmt_min(anyd['median_min'])} | "
            f"{' | '.join(bl)} | {_pct(h['hindsight']['detected_2h'])} / {_fmt_min(h['hindsight']['median_min'])} |"
        )
    pooled = report.get("pooled") or {}
    if pooled:
        rows.append(
            f"\nPooled over homes with enough data ({', '.join(pooled['homes'])}; {pooled['eval_days']} days): "
            f"{pooled['fa_danger_per_day']} danger and {pooled['fa_caution_per_day']} caution false alarms/day; "
            f"mean share detected ≤ 2 h {_pct(pooled['detected_2h_mean'])}."
        )
    loho = report.get("leave_one_home_out") or {}
    for budget, res in loho.items():
        rows.append(
            f"\nLeave-one-home-out (sensitivity chosen on the other homes: best mean detection with pooled danger "
            f"FA/day <= {budget}; in-sample choice p×{res['in_sample_mult']}): "
            + "; ".join(
                f"{r['home']} p×{r['chosen_mult']}: {_pct(r['detected_2h'])} / {_fmt_min(r['median_min'])} / "
                f"{r['fa_danger_per_day']}"
                for r in res["held_out"]
            )
            + f". Pooled held-out danger FA/day {res['pooled_fa_danger_per_day']}, mean detected ≤ 2 h "
            f"{_pct(res['mean_detected_2h'])}."
        )
    return "\n".join(rows)


def sweep_table(report: dict[str, Any]) -> str:
    """Share detected <= 2 h / median TTD / danger FA per day at each sensitivity multiplier."""
    ok = [h for h in report["homes"] if h["enough_data"] and h.get("tradeoff")]
    if not ok:
        return ""
    mults = [p.get("mult", 0.0) for p in ok[0]["tradeoff"]]
    rows = ["| home | " + " | ".join(f"p×{m}" for m in mults) + " |", "|---" * (len(mults) + 1) + "|"]
    for h in ok:
        cells = [
            f"{_pct(p['detected_2h'])} / {_fmt_min(p['median_min'])} / {p['fa_danger_per_day']}" for p in h["tradeoff"]
        ]
        rows.append(f"| {h['home']} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def early_check_table(report: dict[str, Any], answer_rate: float = 0.9) -> str:
    """The caution -> robot check -> danger stage per home and budget: detected <= 2 h / median TTD, robot
    checks a day, danger pages a day if every resident who is fine and at home answers (a check while the
    resident is out is a page), and if only ``answer_rate`` of those at home do."""
    ok = [h for h in report["homes"] if h["enough_data"] and h.get("early_check")]
    if not ok:
        return ""
    budgets = [(e["caution_per_day"], e["danger_per_day"]) for e in ok[0]["early_check"]]
    miss = f"{100 * (1 - answer_rate):.0f} %"
    rows = [
        "| home | " + " | ".join(f"robot check, caution {c}/day" for c, _ in budgets) + " |",
        "|---" * (len(budgets) + 1) + "|",
    ]
    for h in ok:
        cells = [
            f"{_pct(e['detected_2h'])} / {_fmt_min(e['median_min'])}; {e['checks_per_day']} checks; pages "
            f"{e['pages_per_day']} ({e['danger_false_alarms']} danger + {e['out_silences']} out), {miss} unanswered: "
            f"{_home_pages_per_day(e, answer_rate)}"
            for e in h["early_check"]
        ]
        rows.append(f"| {h['home']} | " + " | ".join(cells) + " |")
    days = sum(h["eval_days"] for h in ok)
    pooled = []
    for i, (c, _) in enumerate(budgets):
        runs = [h["early_check"][i] for h in ok]
        n_d = sum(e["danger_false_alarms"] for e in runs)
        n_out = sum(e["out_silences"] for e in runs)
        checks = sum(e["checks"] for e in runs)
        answered = sum(e["answered"] for e in runs)
        pooled.append(
            f"caution {c}/day: mean {_pct(float(np.mean([e['detected_2h'] or 0.0 for e in runs])))} ≤ 2 h, "
            f"{checks / days:.2f} checks/day, pages {(n_d + n_out) / days:.3f}/day ({n_d} danger + {n_out} silences "
            f"with nobody home; {_pages_per_day((n_d + n_out) / days, answered / days, answer_rate):.3f} with {miss} "
            "unanswered)"
        )
    rows.append(f"\nPooled ({round(days, 1)} days): " + "; ".join(pooled) + ".")
    return "\n".join(rows)


def _pages_per_day(pages_per_day: float, answered_per_day: float, answer_rate: float) -> float:
    """Danger pages a day when a share ``1 - answer_rate`` of the checks that found the resident fine at home got
    no answer (each such check turns its alert into danger)."""
    return pages_per_day + (1 - answer_rate) * answered_per_day


def _home_pages_per_day(e: dict[str, Any], answer_rate: float) -> float | None:
    if e["pages_per_day"] is None:
        return None
    return round(_pages_per_day(e["pages_per_day"], e["answered_per_day"] or 0.0, answer_rate), 3)


def plot_tradeoff(report: dict[str, Any], path: str | Path) -> None:
    """Median time to detect vs danger false alarms per day, as the alarm threshold moves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, h in enumerate(x for x in report["homes"] if x["enough_data"] and "tradeoff" in x):
        c = colors[i % len(colors)]
        pts = [(p["fa_danger_per_day"], p["median_min"]) for p in h["tradeoff"] if p["median_min"] is not None]
        if pts:
            ax.plot(*zip(*pts, strict=True), "o-", color=c, label=f"{h['home']} personal model")
        bpts = [(b["fa_per_day"], b["median_min"]) for b in h["baseline_tradeoff"] if b["median_min"] is not None]
        if bpts:
            ax.plot(*zip(*bpts, strict=True), "x--", color=c, alpha=0.6, label=f"{h['home']} fixed limit")
        rpts = [(e["pages_per_day"], e["median_min"]) for e in h.get("early_check", []) if e["median_min"]]
        if rpts:
            ax.plot(*zip(*rpts, strict=True), "^:", color=c, alpha=0.9, markersize=7,
                    label="robot early check (if the resident at home answers)" if i == 0 else None)
    ax.plot([0.09], [323], "k*", markersize=12, label="Wilhelm & Wahl 2024 (mean, 0.09 FA/day)")
    ax.axhline(45, color="grey", lw=0.8, ls=":")
    ax.axvline(0.03, color="grey", lw=0.8, ls=":")
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xlim(left=-0.001)
    ax.set_xlabel("danger false alarms per day (unmodified recordings, after warm-up)")
    ax.set_ylabel("median time to detect an injected fall (min)")
    ax.set_title("Detection trade-off as the alarm threshold moves (targets: dotted lines)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
