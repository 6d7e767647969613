"""The live detector of one home: hard rules + the resident's personal model, on events and ticks.

Every rule is turned into a *deadline* when an event arrives ("if nothing happens before 14:35,
raise inactivity"), so a tick is one comparison per home until a deadline passes.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np

from .activity import Activity, ActivityTracker, LocalClock, in_wet_room, room_key
from .events import HAZARD_KINDS, ROOM_PHRASES, WET_ROOMS, AlertDecision, Event, SensorInfo, Severity, format_duration
from .personal import (
    VISIT_GAP_S,
    PersonalModel,
    ThresholdTables,
    clock_text,
    describe_context,
    is_night_visit,
    night_of,
)
from .thresholds import Thresholds

INF = math.inf
_EMPTY: list[AlertDecision] = []
_RANK = {"caution": 1, "danger": 2}
#: rooms whose activity does not mean "up and about" (night toilet visits)
WAKE_NEUTRAL_ROOMS = frozenset({"bedroom", "bathroom", "toilet", "hall"})
#: alert kinds that close by themselves as soon as the resident is seen acting again
CLOSE_ON_ACTIVITY = ("inactivity", "bathroom_stay", "no_activity", "routine_deviation")
#: alerts about one and the same stillness (all end with the next action): while one is open, another of these
#: conditions updates it (raising its severity, with the new evidence) instead of paging staff a second time
STILLNESS_KINDS = ("inactivity", "bathroom_stay", "no_activity")
#: the model's caution comes at least this long before its danger (where the learned limits coincide)
CAUTION_LEAD_S = 10 * 60.0
#: routine changes are checked only when the model has seen at least this many days / nights
ROUTINE_MIN_DAYS = 10
#: the meal check is skipped on a day with more time out of home than this (meals out)
MEAL_MAX_OUT_S = 3 * 3600.0
#: the night's bathroom visits are reviewed when the resident is first up and about between these hours
NIGHT_REVIEW_HOURS = (5.0, 12.0)
#: a second exterior-door event within this time belongs to the same passage (open + close)
DOOR_PASSAGE_S = 5 * 60.0


@lru_cache(maxsize=32)
def _prior_tables(caution_per_day: float, danger_per_day: float) -> ThresholdTables:
    return PersonalModel.prior().tables(caution_per_day, danger_per_day)


def _day_part(hour: int, weekend: int) -> str:
    part = "nights" if hour < 6 else "mornings" if hour < 12 else "afternoons" if hour < 18 else "evenings"
    return f"on {'weekend' if weekend else 'weekday'} {part}"


def _tables_ok(t: ThresholdTables) -> bool:
    return bool(np.all(np.isfinite(t.danger)) and np.all(t.danger > 0) and np.all(t.caution > 0))


class HomeDetector:
    """Live state of one home. Feed :meth:`on_event` and call :meth:`on_tick` periodically."""

    def __init__(
        self,
        sensors: dict[str, SensorInfo] | list[SensorInfo],
        tz: str,
        model: PersonalModel | bytes | None = None,
        thresholds: Thresholds | None = None,
        *,
        missing_model_is_fault: bool = True,
    ) -> None:
        self.sensors = sensors if isinstance(sensors, dict) else {s.id: s for s in sensors}
        self.tz = tz
        self.clock = LocalClock(tz)
        self.thresholds = thresholds or Thresholds()
        self.tracker = ActivityTracker(self.sensors)
        self.missing_model_is_fault = missing_model_is_fault
        self.open: dict[str, AlertDecision] = {}
        self.last: Activity | None = None
        self.live_ts = -INF
        self.late_events = 0
        self._out_since: float | None = None
        self._back_in = False  # a door after being out: probably back, no activity inside seen yet
        self._up_local = -INF  # local time of the last activity outside bedroom/bathroom/hall
        self._wet_watched = {
            s.room for s in self.sensors.values() if s.kind in ("motion", "presence") and s.room in WET_ROOMS
        }
        self._faulty: set[str] = set()
        self._pending: list[AlertDecision] = []
        # deadlines (epoch seconds)
        self._caution_at = self._danger_at = self._bath_at = self._noact_at = INF
        self._night_at = self._routine_at = self._wake_at = INF
        self._meal_at = self._away_at = INF
        self._next = INF
        # routine-change state (local days / seconds)
        self._kitchen_day = self._meal_day = -1
        self._out_day, self._out_today_s = -1, 0.0
        self._wet_local = -INF
        self._night, self._night_visits, self._night_reviewed = -1, 0, -1
        self.model: PersonalModel | None = None
        self.tables: ThresholdTables = _prior_tables(
            self.thresholds.inactivity_caution_per_day, self.thresholds.inactivity_danger_per_day
        )
        self.model_fault: str | None = None
        self._pending.extend(self.set_model(model, at=None))

    # ------------------------------------------------------------------ model management
    def set_model(self, model: PersonalModel | bytes | None, at: float | None = None) -> list[AlertDecision]:
        """Install a (new) personal model; falls back to priors and reports ``model_fault`` when broken."""
        when = at if at is not None else (self.live_ts if self.live_ts > -INF else 0.0)
        thr = self.thresholds
        problem: str | None = None
        tables: ThresholdTables | None = None
        loaded: PersonalModel | None = None
        if isinstance(model, bytes | bytearray):
            try:
                loaded = PersonalModel.from_bytes(bytes(model))
            except ValueError as exc:
                problem = f"the personal model could not be loaded ({exc})"
        else:
            loaded = model
        if loaded is None and problem is None and self.missing_model_is_fault and thr.use_personal_model:
            problem = "no personal model is available for this resident"
        if loaded is not None and thr.use_personal_model:
            try:
                tables = loaded.tables(thr.inactivity_caution_per_day, thr.inactivity_danger_per_day)
                if not _tables_ok(tables):
                    problem = "the personal model gives impossible limits (NaN or negative)"
                    tables = None
            except (ValueError, IndexError, KeyError) as exc:
                problem = f"the personal model is broken ({exc})"
                tables = None
        if problem is not None:
            return self._fallback(problem, when)
        if tables is None:
            self.model = None
            self.tables = _prior_tables(thr.inactivity_caution_per_day, thr.inactivity_danger_per_day)
        else:
            self.model = loaded
            self.tables = tables
        self.model_fault = None
        return self._close("model_fault", when, "personal model working again")

    def fail_model(self, problem: str, at: float | None = None) -> list[AlertDecision]:
        """The service could not even obtain the model (artifact missing, storage down): priors + fault."""
        return self._fallback(problem, at if at is not None else (self.live_ts if self.live_ts > -INF else 0.0))

    def _fallback(self, problem: str, at: float) -> list[AlertDecision]:
        thr = self.thresholds
        self.model = None
        self.tables = _prior_tables(thr.inactivity_caution_per_day, thr.inactivity_danger_per_day)
        self.model_fault = problem
        return self._raise(
            "model_fault",
            "caution",
            None,
            f"{problem}; watching with the fixed safety rules and typical values until it is retrained",
            at,
            {"problem": problem},
        )

    def rearm(self) -> None:
        """Re-arm the deadlines of the stillness under way from the last activity, with the current thresholds and
        limits (after an admin changed them), so that a lowered limit applies now and not from the next event.
        Conditions already alerted are not raised again; their alerts stay open until activity resumes."""
        act = self.last
        if act is None:
            return
        thr = self.thresholds
        if self._out_since is not None:  # away: the night-exit and not-back waits run, counted from the door
            if self._night_at < INF and "night_exit" not in self.open:
                self._night_at = self._out_since + thr.night_exit_return_min * 60.0
            self._arm_out_deadlines()
        else:
            up_local = self._up_local
            self._arm_home_deadlines(act)
            self._up_local = up_local
            self._disarm_alerted()
        self._update_next()

    def _disarm_alerted(self) -> None:
        """After `rearm`: the stillness already alerted is not raised again (one alert per stillness); at
        caution, the danger stages (model or rules) may still raise it."""
        stillness = [self.open[kind] for kind in STILLNESS_KINDS if kind in self.open]
        if stillness:
            self._caution_at = INF
            if any(alert.severity == "danger" for alert in stillness):
                self._danger_at = self._bath_at = self._noact_at = INF
        if "routine_deviation" in self.open:
            self._routine_at = self._wake_at = INF

    def clear(self, kind: str, at: float | None = None) -> list[AlertDecision]:
        """Staff resolved an alert that does not close by itself (button, smoke, gas, night exit...)."""
        return self._close(kind, at if at is not None else self.live_ts, "resolved by staff")

    def confirm_fine(self, at: float) -> None:
        """Staff or the robot's check found the resident fine at ``at`` (a stillness alert resolved as
        "resident fine" or "false alarm"): a sign of life no sensor saw. The stillness clock restarts from
        then, in the same context, so the silence that was just checked does not page again at once; the next
        alert of this silence comes after at least as long again as it had lasted (``_backed_off``)."""
        last = self.last
        if last is None or self._out_since is not None or at <= last.ts:
            return
        since = last.still_since if last.still_since is not None else last.ts
        checked = dataclasses.replace(last, ts=at, found_fine=True, still_since=since)
        self._arm_home_deadlines(checked)
        self.last = checked
        self._update_next()

    # ------------------------------------------------------------------ event entry point
    def on_event(self, ev: Event) -> list[AlertDecision]:
        sensor = self.sensors.get(ev.sensor)
        if sensor is None or not math.isfinite(ev.ts):
            return _EMPTY
        out: list[AlertDecision] = []
        if self._pending:
            out.extend(self._pending)
            self._pending = []
        if ev.late and ev.ts <= self.live_ts:
            self.late_events += 1  # history only: the trainer reads it from the event store
            return out
        live = not ev.late
        if live and ev.ts >= self.live_ts:
            out.extend(self.on_tick(ev.ts))
        kind = sensor.kind
        if kind in ("button", "smoke", "gas", "water_leak", "battery", "fault"):
            if live:
                out.extend(self._device_event(sensor, ev))
            return out
        if ev.ts < self.live_ts:
            return out  # out of order: never roll the live state backwards
        self.live_ts = ev.ts
        act = self.tracker.classify(ev)
        if act is None:
            return out
        decisions = self._on_activity(act)
        if not live:
            decisions = [d for d in decisions if d.action == "close"]
        out.extend(decisions)
        return out

    def on_tick(self, now: float) -> list[AlertDecision]:
        """Cheap unless a deadline has passed."""
        if now < self._next and not self._pending:
            return _EMPTY
        out = self._pending
        self._pending = []
        if now >= self._next:
            out.extend(self._fire(now))
        return out

    @property
    def next_deadline(self) -> float:
        """The next moment at which a tick can change anything (``inf`` when none is armed)."""
        return self._next

    # ------------------------------------------------------------------ devices and hazards
    def _device_event(self, sensor: SensorInfo, ev: Event) -> list[AlertDecision]:
        on = ev.value >= 0.5
        where = ROOM_PHRASES.get(sensor.room, sensor.room)
        at_clock = self._clock_str(ev.ts)
        if sensor.kind == "button":
            if not on:
                return _EMPTY
            return self._raise(
                "emergency_button",
                "danger",
                sensor.room,
                f"emergency button pressed in {where} at {at_clock}",
                ev.ts,
                {"sensor": sensor.id},
            )
        if sensor.kind in HAZARD_KINDS:
            name = {"smoke": "smoke", "gas": "gas", "water_leak": "water leak"}[sensor.kind]
            severity: Severity = "caution" if sensor.kind == "water_leak" else "danger"
            if on:
                return self._raise(
                    sensor.kind,
                    severity,
                    sensor.room,
                    f"{name} detected in {where} at {at_clock}",
                    ev.ts,
                    {"sensor": sensor.id},
                )
            if sensor.kind == "water_leak":
                return self._close("water_leak", ev.ts, f"water sensor in {where} dry again")
            return _EMPTY
        target = sensor.of or sensor.id
        bad = ev.value < self.thresholds.low_battery_pct if sensor.kind == "battery" else on
        if bad:
            self._faulty.add(target)
        elif sensor.kind == "battery" and ev.value < self.thresholds.low_battery_pct + 5:
            return _EMPTY  # hysteresis
        else:
            self._faulty.discard(target)
        if self._faulty:
            names = ", ".join(sorted(self._faulty))
            return self._raise(
                "device_fault",
                "caution",
                sensor.room,
                f"sensor(s) {names} report a fault or a low battery: the home is partly unwatched",
                ev.ts,
                {"sensors": sorted(self._faulty)},
            )
        return self._close("device_fault", ev.ts, "all sensors working again")

    # ------------------------------------------------------------------ activity
    def _on_activity(self, act: Activity) -> list[AlertDecision]:
        out: list[AlertDecision] = []
        ts = act.ts
        for kind in CLOSE_ON_ACTIVITY:
            if kind in self.open:
                out.extend(self._close(kind, ts, f"activity again: {describe_context(act.key, self.sensors)}"))
        thr = self.thresholds
        if act.exterior:
            self._clear_home_deadlines()  # away: only the night-exit and not-back waits run
            if self._out_since is None:
                self._out_since, self._back_in = ts, False
                if thr.is_night(self.clock.hour(ts)):
                    self._night_at = ts + thr.night_exit_return_min * 60.0
            elif ts - self._out_since > DOOR_PASSAGE_S:
                self._out_since, self._back_in = ts, True  # coming back in: wait for activity inside
            self._arm_out_deadlines()
        else:
            if self._out_since is not None:
                self._add_time_out(self._out_since, ts)
            self._out_since, self._back_in = None, False
            self._night_at = self._away_at = INF
            if "night_exit" in self.open:
                out.extend(self._close("night_exit", ts, "activity inside the home again"))
            if "not_back" in self.open:
                out.extend(self._close("not_back", ts, f"back home: activity inside at {self._clock_str(ts)}"))
            self._arm_home_deadlines(act)
            out.extend(self._track_routine(act))
        self.last = act
        self._update_next()
        return out

    def _clear_home_deadlines(self) -> None:
        self._caution_at = self._danger_at = self._bath_at = self._noact_at = INF
        self._routine_at = self._wake_at = INF

    def _arm_home_deadlines(self, act: Activity) -> None:
        """The deadlines of the stillness that begins with ``act`` at home (those of the previous one cleared)."""
        self._clear_home_deadlines()
        thr = self.thresholds
        ts = act.ts
        local = self.clock.local_seconds(ts)
        hour = int((local % 86400.0) // 3600.0)
        weekend = 1 if (int(local // 86400.0) + 3) % 7 >= 5 else 0
        rkey = room_key(act.room, act.resting)
        row = self.tables.lookup(act.key, rkey)
        caution = float(self.tables.caution[row, hour, weekend])
        danger = float(self.tables.danger[row, hour, weekend])
        if not (caution > 0 and danger > 0):  # NaN/negative from a model: FR-12
            self._pending.extend(self._fallback("the personal model gives an impossible limit", ts))
            row = self.tables.lookup(act.key, rkey)
            caution = float(self.tables.caution[row, hour, weekend])
            danger = float(self.tables.danger[row, hour, weekend])
        # the day ceiling (the window is only looked at when the model's own limit is longer: a hot path). It comes
        # before the back-off, so that after "found fine" the next check still waits as long again
        if not act.resting and thr.day_stillness_limit_min * 60.0 < danger:
            ceiling = thr.day_ceiling_s((local % 86400.0) / 3600.0)
            if ceiling is not None:
                danger = ceiling
                caution = min(caution, danger - CAUTION_LEAD_S)
        if act.still_since is not None:
            caution, danger = _backed_off(caution, danger, ts - act.still_since)
        # an occupied bed/chair locates the person on it, not on the floor: a long stillness then is a caution
        # for the model; danger comes from the no-activity rule
        danger = INF if act.resting else max(danger, thr.inactivity_danger_floor_min * 60.0)
        self._danger_at = ts + danger
        caution = min(caution, danger - CAUTION_LEAD_S)  # a caution (and the robot's check) always comes first
        self._caution_at = ts + max(caution, thr.inactivity_caution_floor_min * 60.0)
        self._noact_at = ts + thr.no_activity_hours * 3600.0
        if in_wet_room(act) and act.room in self._wet_watched:
            self._bath_at = ts + thr.bathroom_stay_min * 60.0
        if not act.resting:
            self._routine_at = ts + thr.routine_min_silence_hours * 3600.0
        self._arm_wake(act, local)

    def _arm_wake(self, act: Activity, local: float) -> None:
        """'Not up yet': armed by bedroom activity at night when the resident has not been up since."""
        model = self.model
        if act.room != "bedroom" and not (act.resting and act.room == "bedroom"):
            if act.room not in WAKE_NEUTRAL_ROOMS:
                self._up_local = local
            return
        if model is None:
            return
        wake = model.routine.get("wake_p90")
        if wake is None or model.routine.get("nights", 0) < 3:
            return
        hour = (local % 86400.0) / 3600.0
        limit = float(wake) + self.thresholds.late_wakeup_margin_min / 60.0
        day = int(local // 86400.0)
        if hour >= 18.0:
            day += 1
        elif hour >= limit or self._up_local >= day * 86400.0 + 4 * 3600.0:
            return  # past the limit already, or up and about since 04:00
        self._wake_at = self.clock.epoch_of_local(day, limit)

    # ------------------------------------------------------------------ routine changes (meals, night bathroom)
    def _add_time_out(self, since: float, until: float) -> None:
        day = int(self.clock.local_seconds(until) // 86400.0)
        if day != self._out_day:
            self._out_day, self._out_today_s = day, 0.0
        self._out_today_s += until - since

    def _routine_model(self, count_key: str) -> dict[str, Any] | None:
        """The routine figures when the model has seen enough days for ``count_key`` (kitchen_days, ...)."""
        model = self.model
        if model is None or int(model.routine.get(count_key) or 0) < ROUTINE_MIN_DAYS:
            return None
        return model.routine

    def _track_routine(self, act: Activity) -> list[AlertDecision]:
        """Kitchen use and night bathroom visits of today / tonight; the morning review of the night."""
        local = self.clock.local_seconds(act.ts)
        day = int(local // 86400.0)
        hour = (local % 86400.0) / 3600.0
        out: list[AlertDecision] = []
        if act.located and act.room == "kitchen":
            self._kitchen_day = day
            self._meal_at = INF
            out.extend(self._close_routine_change("no_meal", act.ts, "the kitchen is in use again"))
        elif in_wet_room(act):
            if local - self._wet_local > VISIT_GAP_S and is_night_visit(local):
                night = night_of(local)
                if night != self._night:
                    self._night, self._night_visits = night, 0
                self._night_visits += 1
            self._wet_local = local
        if act.room not in WAKE_NEUTRAL_ROOMS and NIGHT_REVIEW_HOURS[0] <= hour < NIGHT_REVIEW_HOURS[1]:
            out.extend(self._review_night(act.ts, day))
        self._arm_meal(act.ts, day)
        return out

    def _arm_meal(self, ts: float, day: int) -> None:
        if self._kitchen_day == day or self._meal_day == day:  # done for today (most actions stop here)
            return
        routine = self._routine_model("kitchen_days")
        if routine is None:
            return
        usual = routine.get("kitchen_first_p95")
        if usual is None:
            return
        check = float(usual) + self.thresholds.meal_margin_min / 60.0 + float(routine.get("meal_feedback_h", 0.0))
        at = self.clock.epoch_of_local(day, check) if check < 24.0 else INF
        if at > ts:
            self._meal_day, self._meal_at = day, at

    def _meal_check(self, now: float) -> list[AlertDecision]:
        self._meal_at = INF
        routine = self._routine_model("kitchen_days")
        day = int(self.clock.local_seconds(now) // 86400.0)
        out_today = self._out_today_s if self._out_day == day else 0.0
        if routine is None or self._kitchen_day == day or self._out_since is not None or out_today > MEAL_MAX_OUT_S:
            return _EMPTY
        usual = float(routine["kitchen_first_p95"])
        text = (
            f"the kitchen has not been used today (it is {self._clock_str(now)}); on 19 days out of 20 the resident "
            f"has been in the kitchen by {clock_text(usual)} — a missed meal?"
        ) + self._model_note()
        return self._raise("routine_change", "caution", "kitchen", text, now, {"reason": "no_meal"})

    def _review_night(self, ts: float, day: int) -> list[AlertDecision]:
        """Once per morning: were there far more bathroom visits last night than usual?"""
        if self._night_reviewed == day:
            return _EMPTY
        self._night_reviewed = day
        routine = self._routine_model("night_bathroom_nights")
        visits = self._night_visits if self._night == day else 0
        if routine is None or routine.get("night_bathroom_p90") is None:
            return _EMPTY
        p90 = float(routine["night_bathroom_p90"])
        limit = max(3.0, math.ceil(p90) + self.thresholds.night_bathroom_extra)
        limit += int(routine.get("night_feedback_visits", 0))  # staff marked such nights as false alarms
        if visits < limit:
            return self._close_routine_change("night_bathroom", ts, f"{visits} bathroom visit(s) last night: as usual")
        usual = routine.get("night_bathroom_median") or 0
        text = (
            f"{visits} bathroom visits last night (23:30-05:00); usually {usual:.0f} "
            f"(at most {math.ceil(p90)} on 9 nights out of 10)"
        ) + self._model_note()
        details = {"reason": "night_bathroom", "visits": visits}
        return self._raise("routine_change", "caution", "bathroom", text, ts, details)

    def _close_routine_change(self, reason: str, at: float, evidence: str) -> list[AlertDecision]:
        current = self.open.get("routine_change")
        if current is None or current.details.get("reason") != reason:
            return _EMPTY
        return self._close("routine_change", at, evidence)

    def _arm_out_deadlines(self) -> None:
        """While out since ``_out_since``: when to ask whether the resident is back (their longest usual outing,
        the 95th percentile, plus ``away_margin_min``; none until enough outings are known). After a door that
        looks like coming back in, the outing is over: if nothing at all follows, the no-activity rule runs."""
        since = self._out_since
        assert since is not None
        if self._back_in:
            self._away_at = INF
            self._noact_at = since + self.thresholds.no_activity_hours * 3600.0
            return
        routine = self._routine_model("out_trips")
        usual = routine.get("out_trip_p95_h") if routine else None
        if usual is None or "not_back" in self.open:
            self._away_at = INF
            return
        self._away_at = since + float(usual) * 3600.0 + self.thresholds.away_margin_min * 60.0

    def _not_back(self, now: float) -> list[AlertDecision]:
        self._away_at = INF
        since = self._out_since
        routine = self._routine_model("out_trips")
        if since is None or routine is None:
            return _EMPTY
        usual = float(routine["out_trip_p95_h"]) * 3600.0
        text = (
            f"not back home: out since {self._day_clock_str(since, now)} ({format_duration(now - since)}, "
            f"front door); on 19 outings out of 20 the resident is back within {format_duration(usual)}"
        ) + self._model_note()
        return self._raise("not_back", "caution", "entrance", text, now, {"out_since": since, "usual_max_s": usual})

    def _update_next(self) -> None:
        self._next = min(
            self._meal_at,
            self._away_at,
            self._caution_at,
            self._danger_at,
            self._bath_at,
            self._noact_at,
            self._night_at,
            self._routine_at,
            self._wake_at,
        )

    # ------------------------------------------------------------------ deadlines
    def _fire(self, now: float) -> list[AlertDecision]:
        out: list[AlertDecision] = []
        last = self.last
        if last is not None:
            still = now - last.ts
            where = ROOM_PHRASES.get(last.room, last.room)
            if now >= self._danger_at:
                out.extend(self._inactivity(now, still, "danger"))
                self._danger_at = self._caution_at = INF
            elif now >= self._caution_at:
                out.extend(self._inactivity(now, still, "caution"))
                self._caution_at = INF
            if now >= self._bath_at:
                out.extend(
                    self._raise(
                        "bathroom_stay",
                        "danger",
                        last.room,
                        f"no movement for {format_duration(still)} in {where} "
                        f"(fixed limit {format_duration(self.thresholds.bathroom_stay_min * 60)})",
                        now,
                        {"still_for_s": still},
                    )
                )
                self._bath_at = INF
            if now >= self._noact_at:
                out.extend(
                    self._raise(
                        "no_activity",
                        "danger",
                        last.room,
                        f"nothing at all has happened at home for {format_duration(still)} "
                        f"(fixed limit {format_duration(self.thresholds.no_activity_hours * 3600)}); "
                        f"last seen in {where} at {self._clock_str(last.ts)}" + self._maybe_out_note(),
                        now,
                        {"still_for_s": still},
                    )
                )
                self._noact_at = INF
            if now >= self._night_at:
                out.extend(
                    self._raise(
                        "night_exit",
                        "danger",
                        "entrance",
                        f"the front door opened at night at {self._clock_str(last.ts)} and nobody has been "
                        f"sensed inside for {format_duration(still)}",
                        now,
                        {"door_at": last.ts},
                    )
                )
                self._night_at = INF
            if now >= self._routine_at:
                out.extend(self._routine_silence(now, last))
            if now >= self._wake_at:
                out.extend(self._late_wakeup(now, last))
                self._wake_at = INF
            if now >= self._meal_at:
                out.extend(self._meal_check(now))
            if now >= self._away_at:
                out.extend(self._not_back(now))
        else:
            self._night_at = INF
        self._update_next()
        return out

    def _inactivity(self, now: float, still: float, severity: Severity) -> list[AlertDecision]:
        last = self.last
        assert last is not None
        local = self.clock.local_seconds(last.ts)
        hour = int((local % 86400.0) // 3600.0)
        weekend = 1 if (int(local // 86400.0) + 3) % 7 >= 5 else 0
        row = self.tables.lookup(last.key, room_key(last.room, last.resting))
        usual = float(self.tables.usual[row, hour, weekend])
        limit = self._danger_at - last.ts if severity == "danger" else self._caution_at - last.ts
        where = ROOM_PHRASES.get(last.room, last.room)
        what = describe_context(last.key, self.sensors)
        since, at = format_duration(still), self._clock_str(last.ts)
        if last.found_fine:
            text = f"no movement for {since} since the resident was found fine at {at} ({where}, last sensor: {what}); "
        else:
            text = f"no movement for {since} since {where} (last: {what} at {at}); "
        if usual > 0:
            text += (
                f"{_day_part(hour, weekend)} the resident is normally never still there for more than "
                f"{format_duration(usual)}"
            )
        else:
            text += f"no personal data for this situation yet; typical limit {format_duration(limit)}"
        ceiling = self.thresholds.day_ceiling_s((local % 86400.0) / 3600.0)
        by_ceiling = severity == "danger" and ceiling is not None and abs(limit - ceiling) < 1.0
        if by_ceiling:
            day = f"{clock_text(self.thresholds.day_start_hour)}-{clock_text(self.thresholds.day_end_hour)}"
            text += f"; during the day ({day}) any stillness away from a bed or chair alerts after at most "
            text += format_duration(limit)
        text += self._model_note() + self._maybe_out_note()
        details: dict[str, Any] = {
            "still_for_s": still,
            "limit_s": limit,
            "usual_max_s": usual,
            "day_ceiling": by_ceiling,
            "context": last.key,
            "last_sensor": last.sensor,
            "model_days": self.model.days if self.model else 0,
            "model_young": self.model is None or self.model.days < self.thresholds.young_model_days,
        }
        return self._raise("inactivity", severity, last.room, text, now, details)

    def _routine_silence(self, now: float, last: Activity) -> list[AlertDecision]:
        model = self.model
        thr = self.thresholds
        if model is None:
            self._routine_at = INF
            return _EMPTY
        start = self.clock.local_seconds(last.ts)
        end = self.clock.local_seconds(now)
        first = int(start // 3600.0) + 1
        slots = [(h % 24, 1 if ((h // 24) + 3) % 7 >= 5 else 0) for h in range(first, int(end // 3600.0))]
        p = model.silence_p(slots)
        if p >= thr.routine_silence_p:
            self._routine_at = now + 3600.0 - (end % 3600.0)  # re-check at the next full hour
            return _EMPTY
        self._routine_at = INF
        usual = [round(100 * float(model.p_active[h, wk])) for h, wk in slots]
        where = ROOM_PHRASES.get(last.room, last.room)
        text = (
            f"a silent stretch: nothing since {self._clock_str(last.ts)} ({where}), although at these hours "
            f"the resident is usually active (on {min(usual)}-{max(usual)} % of days per hour)"
        ) + self._model_note()
        return self._raise(
            "routine_deviation",
            "caution",
            last.room,
            text,
            now,
            {"reason": "silence", "silence_p": p, "since": last.ts},
        )

    def _late_wakeup(self, now: float, last: Activity) -> list[AlertDecision]:
        model = self.model
        if model is None:
            return _EMPTY
        wake = float(model.routine["wake_p90"])
        text = (
            f"not up yet at {self._clock_str(now)}: last sign of life {self._clock_str(last.ts)} in "
            f"{ROOM_PHRASES.get(last.room, last.room)}; usually up by {clock_text(wake)} at the latest"
        ) + self._model_note()
        return self._raise("routine_deviation", "caution", last.room, text, now, {"reason": "late_wakeup"})

    # ------------------------------------------------------------------ latch
    def _raise(
        self,
        kind: str,
        severity: Severity,
        room: str | None,
        evidence: str,
        at: float,
        details: dict[str, Any],
    ) -> list[AlertDecision]:
        current = self.open.get(kind)
        if current is None and kind in STILLNESS_KINDS:
            kind, current = self._open_stillness(kind, details)
        if current is None:
            decision = AlertDecision("open", kind, severity, room, evidence, at, details)
            self.open[kind] = decision
            return [decision]
        if _RANK[severity] < _RANK[current.severity]:
            severity = current.severity
        decision = AlertDecision("update", kind, severity, room, evidence, at, details)
        self.open[kind] = decision
        return [decision]

    def _open_stillness(self, kind: str, details: dict[str, Any]) -> tuple[str, AlertDecision | None]:
        """The open alert about the current stillness, if any (it takes the new condition as an update)."""
        for other in STILLNESS_KINDS:
            current = self.open.get(other)
            if current is not None:
                details["rule"] = kind
                return other, current
        return kind, None

    def _close(self, kind: str, at: float, evidence: str) -> list[AlertDecision]:
        current = self.open.pop(kind, None)
        if current is None:
            return _EMPTY
        return [AlertDecision("close", kind, current.severity, current.room, evidence, at, {})]

    # ------------------------------------------------------------------ words
    def _model_note(self) -> str:
        model = self.model
        if model is None:
            return " (no personal model yet: using typical values)"
        if model.days < self.thresholds.young_model_days:
            return f" (model still learning: {model.days} days of data, using typical values)"
        return ""

    def _maybe_out_note(self) -> str:
        """For a resident who often goes out unseen: a stillness may be an absence (staff phone before they go)."""
        note = self.model.unseen_exits_note() if self.model is not None else None
        return f"; the resident may be out: {note}" if note else ""

    def _clock_str(self, ts: float) -> str:
        return datetime.fromtimestamp(ts, UTC).astimezone(self.clock.tz).strftime("%H:%M")

    def _day_clock_str(self, ts: float, now: float) -> str:
        """``14:05``, or ``Sat 14:05`` when ``ts`` is on another local day than ``now``."""
        local = datetime.fromtimestamp(ts, UTC).astimezone(self.clock.tz)
        same_day = local.date() == datetime.fromtimestamp(now, UTC).astimezone(self.clock.tz).date()
        return local.strftime("%H:%M" if same_day else "%a %H:%M")


def _backed_off(caution: float, danger: float, still_for: float) -> tuple[float, float]:
    """The limits after the resident was found fine ``still_for`` seconds into a silence: the next check comes
    after at least as long again (checks at L, 2L, 4L... of one long silence, not one every L: a resident in an
    unsensed room would otherwise get the robot every 20 minutes all afternoon), and danger comes after that
    check, by the usual margin or at least one more caution limit (where the model's two limits coincide, the
    silence of someone just found fine would otherwise page staff without a check)."""
    backed = max(caution, still_for)
    return backed, max(danger, backed + max(danger - caution, caution))
