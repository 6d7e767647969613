"""Replay a recorded home through the production detector in simulated time.

The same ``HomeDetector`` and ``PersonalModel`` code as in production; the model is retrained
every night at 03:00 local time on the events *before* that moment only (like the trainer service),
so at any moment the detector knows only the past.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from tqdm import tqdm

from .activity import LocalClock
from .coverage import blind_spots
from .detector import STILLNESS_KINDS, HomeDetector
from .events import AWAY_KINDS, HEALTH_KINDS, AlertDecision, Event, SensorInfo
from .formats import read_events_csv, read_sensors_json
from .personal import HISTORY_DAYS, ModelFitter, PersonalModel
from .thresholds import Thresholds

RETRAIN_HOUR = 3.0
#: cautions the robot is not sent for: about the system, or about a resident who is out (robots/safety.py)
_NO_CHECK_KINDS = HEALTH_KINDS | AWAY_KINDS


@dataclass
class AlertRecord:
    """One alert from open to close, as written to ALERTS.jsonl."""

    opened_at: float
    kind: str
    severity: str
    room: str | None
    evidence: str
    closed_at: float | None = None
    first_severity: str = ""
    danger_at: float | None = None  # when it became danger (opened as or escalated to)

    def to_json(self, tz: str | None = None) -> dict[str, Any]:
        return {
            "opened_at": iso(self.opened_at, tz) if tz else self.opened_at,
            "closed_at": iso(self.closed_at, tz) if tz else self.closed_at,
            "kind": self.kind,
            "severity": self.severity,
            "room": self.room,
            "evidence": self.evidence,
        }


class AlertLog:
    """Folds detector decisions into alert records (what the alerts service would store)."""

    def __init__(self) -> None:
        self.records: list[AlertRecord] = []
        self._open: dict[str, AlertRecord] = {}

    def apply(self, decisions: Sequence[AlertDecision]) -> None:
        for d in decisions:
            rec = self._open.get(d.kind)
            if d.action == "open" or rec is None:
                if d.action == "close":
                    continue
                rec = AlertRecord(d.at, d.kind, d.severity, d.room, d.evidence, first_severity=d.severity)
                if d.severity == "danger":
                    rec.danger_at = d.at
                self._open[d.kind] = rec
                self.records.append(rec)
            elif d.action == "update":
                if d.severity == "danger" and rec.danger_at is None:
                    rec.danger_at = d.at
                rec.severity, rec.evidence, rec.room = d.severity, d.evidence, d.room or rec.room
            else:
                rec.closed_at = d.at
                del self._open[d.kind]


class EarlyCheck:
    """The robot's early check in simulated time (robots/safety.py with the organisation's ``early_check`` on):
    every caution about the resident sends the robot; ``after_s(room)`` later, if that alert is still open and still a
    caution, the resident answers (the case of a resident who is fine): the alert closes as "resident fine" and,
    for a stillness, the detector restarts its clock (``confirm_fine``), as the detector service does on
    ``alert.resolved``. A check that comes back to an alert already closed (the resident moved meanwhile) or
    already danger changes nothing. Whether a real resident answers cannot be measured on a recording: this
    counts the checks, and the pages that remain if every resident who is fine answers."""

    def __init__(self, after_s: Callable[[str | None], float]) -> None:
        self.after_s = after_s  # seconds from dispatch to the answer, by the room the alert names
        self.due: list[tuple[float, str, float]] = []  # (answer at, kind, the alert's opening)
        self.sent: list[float] = []  # when each check was sent
        self.answered: list[float] = []  # when a check closed an alert the resident was fine through
        self._opened: dict[str, float] = {}  # kind -> opening of the open alert of that kind

    @property
    def next_due(self) -> float:
        return self.due[0][0] if self.due else math.inf

    def observe(self, decisions: Sequence[AlertDecision]) -> None:
        for d in decisions:
            if d.action == "close":
                self._opened.pop(d.kind, None)
            elif d.action == "open":
                self._opened[d.kind] = d.at
                if d.severity == "caution" and d.kind not in _NO_CHECK_KINDS:
                    bisect.insort(self.due, (d.at + self.after_s(d.room), d.kind, d.at))
                    self.sent.append(d.at)

    def answer(self, det: HomeDetector) -> list[AlertDecision]:
        at, kind, opened = self.due.pop(0)
        current = det.open.get(kind)
        if current is None or current.severity != "caution" or self._opened.get(kind) != opened:
            return []
        decisions = det.clear(kind, at)
        if kind in STILLNESS_KINDS:
            det.confirm_fine(at)
        self.answered.append(at)
        return decisions


@dataclass
class ReplayResult:
    events: int
    days: float
    retrains: int
    seconds: float
    alerts: list[AlertRecord]
    out_path: str | None = None
    models_by_day: dict[int, PersonalModel] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # how the input was read (e.g. a room name it did not know)
    model: PersonalModel | None = None  # the last model the detector had
    thresholds: Thresholds = field(default_factory=Thresholds)

    def model_notes(self) -> list[str]:
        """What the last model noticed that staff or installers should check (a sensor firing with nobody home,
        the day ceiling paging on the resident's own habits)."""
        if self.model is None:
            return []
        notes = (self.model.fires_alone_note(), self.model.day_ceiling_note(self.thresholds))
        return [n for n in notes if n]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for a in self.alerts:
            out[f"{a.kind}/{a.severity}"] = out.get(f"{a.kind}/{a.severity}", 0) + 1
        return out


def run_detector(
    events: Sequence[Event],
    sensors: dict[str, SensorInfo],
    tz: str,
    thresholds: Thresholds | None = None,
    *,
    progress: bool = False,
    keep_models: bool = False,
    feedback: Sequence[tuple[float, str]] = (),
    on_decisions: Callable[[list[AlertDecision]], None] | None = None,
    models: dict[int, PersonalModel] | None = None,
    early_check: EarlyCheck | None = None,
) -> ReplayResult:
    """Simulated-time replay of time-ordered ``events`` with nightly retraining at 03:00 local
    (and, with ``early_check``, the robot's checks on cautions)."""
    t0 = time.perf_counter()
    thr = thresholds or Thresholds()
    log = AlertLog()
    clock = LocalClock(tz)
    det = HomeDetector(sensors, tz, None, thr, missing_model_is_fault=False)
    fitter = ModelFitter(sensors, tz, history_days=HISTORY_DAYS)
    kept: dict[int, PersonalModel] = {}
    if not events:
        return ReplayResult(0, 0.0, 0, 0.0, [], None)
    day0 = clock.day(events[0].ts)
    retrain_at = clock.epoch_of_local(day0 + 1, RETRAIN_HOUR)
    pending_start = 0
    retrains = 0

    def emit(decisions: list[AlertDecision]) -> None:
        if decisions:
            log.apply(decisions)
            if on_decisions is not None:
                on_decisions(decisions)
            if early_check is not None:
                early_check.observe(decisions)

    bar = tqdm(total=len(events), unit="ev", disable=not progress, mininterval=0.5, leave=False)
    for i, ev in enumerate(events):
        while True:
            deadline = det.next_deadline
            check_due = early_check.next_due if early_check is not None else math.inf
            if min(deadline, retrain_at, check_due) > ev.ts:
                break
            if early_check is not None and check_due <= min(deadline, retrain_at):
                emit(det.on_tick(check_due))
                emit(early_check.answer(det))
            elif retrain_at <= deadline:
                day = clock.day(retrain_at)
                if models is not None:  # models given (e.g. an evaluation sweep): no refit
                    model = models.get(day)
                else:
                    fitter.add(events[pending_start:i])
                    pending_start = i
                    model = fitter.model(feedback=[f for f in feedback if f[0] < retrain_at], at=retrain_at)
                if model is not None:
                    emit(det.set_model(model, at=retrain_at))
                if keep_models and model is not None:
                    kept[day] = model
                retrains += 1
                retrain_at = clock.epoch_of_local(day + 1, RETRAIN_HOUR)
            else:
                emit(det.on_tick(deadline))
                if det.next_deadline <= deadline:  # never loop on the same instant
                    break
        emit(det.on_event(ev))
        if i % 2048 == 0:
            bar.update(2048 if i else 1)
    bar.close()
    end = events[-1].ts
    while det.next_deadline <= end:
        deadline = det.next_deadline
        emit(det.on_tick(deadline))
        if det.next_deadline <= deadline:
            break
    days = (end - events[0].ts) / 86400.0
    return ReplayResult(
        len(events), days, retrains, time.perf_counter() - t0, log.records, None, kept, model=det.model, thresholds=thr
    )


def replay(
    events_path: str | Path,
    sensors_path: str | Path,
    out_path: str | Path,
    progress: bool = True,
    thresholds: Thresholds | None = None,
    early_check: EarlyCheck | None = None,
) -> ReplayResult:
    """Read EVENTS.csv + SENSORS.json, replay, write ALERTS.jsonl (raises InputError on bad input)."""
    notes: list[str] = []
    tz, sensors = read_sensors_json(sensors_path, notes)
    events = read_events_csv(events_path, sensors, tz, notes, progress=progress)
    result = run_detector(events, sensors, tz, thresholds, progress=progress, early_check=early_check)
    write_alerts_jsonl(out_path, result.alerts, tz)
    result.out_path = str(out_path)
    result.notes = notes + [f"blind spot: {gap}" for gap in blind_spots(sensors)] + result.model_notes()
    return result


def write_alerts_jsonl(path: str | Path, alerts: Sequence[AlertRecord], tz: str) -> None:
    """One JSON object per alert; times as ISO 8601 with the home's UTC offset."""
    with Path(path).open("wb") as fh:
        for a in alerts:
            fh.write(orjson.dumps(a.to_json(tz)) + b"\n")


def iso(ts: float | None, tz: str) -> str | None:
    if ts is None or not math.isfinite(ts):
        return None
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).isoformat()
