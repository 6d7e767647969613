from __future__ import annotations

import math

import numpy as np
import pytest

from seniorsafe.detection import AlertDecision, Event, HomeDetector, PersonalModel, SensorInfo, Thresholds
from seniorsafe.detection.activity import ActivityTracker
from seniorsafe.detection.detector import CAUTION_LEAD_S, STILLNESS_KINDS
from seniorsafe.detection.personal import feedback_kind

from .conftest import TZ, at, sensors, synthetic_days


@pytest.fixture(scope="module")
def model() -> PersonalModel:
    return PersonalModel.fit(synthetic_days(21), sensors(), TZ)


def det(model: PersonalModel | None = None, **thr: float) -> HomeDetector:
    return HomeDetector(sensors(), TZ, model, Thresholds.from_dict(thr), missing_model_is_fault=False)


def run_until(d: HomeDetector, end: float) -> list[AlertDecision]:
    """Tick exactly at each deadline up to ``end`` (what the service's periodic tick approximates)."""
    out: list[AlertDecision] = []
    while d.next_deadline <= end:
        out.extend(d.on_tick(d.next_deadline))
    out.extend(d.on_tick(end))
    return out


def kinds(decisions: list[AlertDecision], action: str = "open") -> list[tuple[str, str]]:
    return [(x.kind, x.severity) for x in decisions if x.action == action]


# ---------------------------------------------------------------- hard rules
def test_emergency_button_opens_danger_updates_and_does_not_auto_close() -> None:
    d = det()
    t = at(0, 10)
    assert kinds(d.on_event(Event(t, "button", 1))) == [("emergency_button", "danger")]
    again = d.on_event(Event(t + 60, "button", 1))
    assert [(x.action, x.kind) for x in again] == [("update", "emergency_button")]
    assert d.on_event(Event(t + 120, "m_kitchen", 1)) == []  # moving does not close it
    assert "emergency_button" in d.open
    closed = d.clear("emergency_button", t + 300)
    assert [(x.action, x.kind) for x in closed] == [("close", "emergency_button")]


@pytest.mark.parametrize(
    ("sensor", "kind", "severity"),
    [("smoke", "smoke", "danger"), ("gas", "gas", "danger"), ("leak", "water_leak", "caution")],
)
def test_hazards(sensor: str, kind: str, severity: str) -> None:
    d = det()
    t = at(0, 12)
    assert kinds(d.on_event(Event(t, sensor, 1))) == [(kind, severity)]
    off = d.on_event(Event(t + 600, sensor, 0))
    if kind == "water_leak":
        assert [(x.action, x.kind) for x in off] == [("close", "water_leak")]
    else:
        assert off == [] and kind in d.open  # smoke/gas stay open until staff resolve them


def test_bathroom_stay_fires_at_the_fixed_limit_and_closes_on_movement() -> None:
    d = det(bathroom_stay_min=40)
    t = at(0, 9)
    d.on_event(Event(t, "m_bath", 1))
    assert "bathroom_stay" not in [k for k, _ in kinds(run_until(d, t + 39 * 60))]
    fired = run_until(d, t + 41 * 60)
    assert ("bathroom_stay", "danger") in kinds(fired)
    bath = next(x for x in fired if x.kind == "bathroom_stay")
    assert "40 min" in bath.evidence and bath.room == "bathroom"
    assert math.isclose(bath.at, t + 40 * 60)
    closed = d.on_event(Event(t + 50 * 60, "m_bath", 1))
    assert ("bathroom_stay", "danger") in kinds(closed, "close")


def test_lowered_limit_applies_to_the_stillness_under_way_without_repeating_alerts() -> None:
    d = det(bathroom_stay_min=40, no_activity_hours=12)
    t = at(0, 9)
    d.on_event(Event(t, "m_bath", 1))
    assert not kinds(run_until(d, t + 10 * 60))
    d.thresholds = Thresholds.from_dict({"bathroom_stay_min": 5, "no_activity_hours": 12})
    d.rearm()  # what the detector service does when an admin lowers the limit
    fired = d.on_tick(t + 10 * 60 + 1)
    assert ("bathroom_stay", "danger") in kinds(fired)  # 10 min already > 5 min: at the next tick, not in 40 min
    d.rearm()  # a second change must not raise the open alert again
    assert "bathroom_stay" not in [k for k, _ in kinds(run_until(d, t + 30 * 60), "open")]
    assert not [x for x in run_until(d, t + 30 * 60) if x.kind == "bathroom_stay"]


def test_night_exit_without_return_and_its_close() -> None:
    d = det(night_exit_return_min=30)
    t = at(0, 23.5)
    d.on_event(Event(t - 60, "m_living", 1))
    d.on_event(Event(t, "front", 1))
    d.on_event(Event(t + 5, "front", 0))
    fired = run_until(d, t + 31 * 60)
    assert ("night_exit", "danger") in kinds(fired)
    assert ("inactivity", "danger") not in kinds(fired)  # out of home is not stillness
    back = d.on_event(Event(t + 45 * 60, "m_living", 1))
    assert ("night_exit", "danger") in kinds(back, "close")


def test_door_by_day_is_being_away_not_an_alarm(model: PersonalModel) -> None:
    d = det(model)
    t = at(30, 10)
    d.on_event(Event(t - 120, "m_kitchen", 1))
    d.on_event(Event(t, "front", 1))
    d.on_event(Event(t + 5, "front", 0))
    assert run_until(d, t + 3 * 3600) == []
    # no stillness alarm however long; far longer than the resident's usual outings is its own caution
    assert kinds(run_until(d, t + 8 * 3600)) == [("not_back", "caution")]


def test_coming_home_and_then_nothing_is_still_watched(model: PersonalModel) -> None:
    """The front door again after an outing: probably back. If nothing at all follows inside (a fall in the hall
    right after coming home), the no-activity rule still runs from the return; no "not back home" then."""
    d = det(model)
    t = at(30, 10)
    d.on_event(Event(t - 120, "m_kitchen", 1))
    for ev in (Event(t, "front", 1), Event(t + 5, "front", 0), Event(t + 3600, "front", 1),
               Event(t + 3605, "front", 0)):
        d.on_event(ev)
    fired = run_until(d, t + 3600 + 12 * 3600 + 1)
    assert kinds(fired) == [("no_activity", "danger")]
    assert fired[0].at == pytest.approx(t + 3600 + 12 * 3600)


def test_no_activity_absolute_limit_even_without_model() -> None:
    d = det(no_activity_hours=12, inactivity_danger_per_day=1e-9, inactivity_caution_per_day=1e-9,
            day_stillness_limit_min=0)
    t = at(0, 8)
    d.on_event(Event(t, "m_living", 1))
    fired = run_until(d, t + 12 * 3600 + 1)
    assert ("no_activity", "danger") in kinds(fired)


# the model at its least sensitive: its own limits lie far beyond 2 h everywhere
QUIET = {"inactivity_danger_per_day": 1e-9, "inactivity_caution_per_day": 1e-9}


def still_from(hour: float, sensor: str = "m_kitchen", **thr: float) -> tuple[HomeDetector, float]:
    """A detector with the quiet model (and ``thr``) whose stillness begins with ``sensor`` at ``hour`` on day 0."""
    d = det(**{**QUIET, **thr})
    t = at(0, hour)
    d.on_event(Event(t, sensor, 1))
    return d, t


def dangers(d: HomeDetector, end: float) -> list[AlertDecision]:
    return [x for x in run_until(d, end) if x.severity == "danger"]


def test_day_ceiling_pages_a_daytime_stillness_within_two_hours_whatever_the_model_allows() -> None:
    d, t = still_from(14)
    fired = run_until(d, t + 3 * 3600)
    assert kinds(fired) == [("inactivity", "caution")]
    assert fired[0].at == pytest.approx(t + 110 * 60 - CAUTION_LEAD_S)  # the caution (robot check) comes first
    danger = [x for x in fired if x.severity == "danger"]
    assert [x.at for x in danger] == [pytest.approx(t + 110 * 60)]
    assert danger[0].details["day_ceiling"] is True
    assert "during the day (08:00-21:00) any stillness away from a bed or chair alerts after at most 1 h 50" in (
        danger[0].evidence
    )


def test_day_ceiling_leaves_the_night_a_bed_and_a_senior_without_it_to_the_model() -> None:
    evening, t = still_from(21.5)
    assert not dangers(evening, t + 4 * 3600)
    in_bed, t = still_from(14, "bed")
    assert not dangers(in_bed, t + 4 * 3600)
    switched_off, t = still_from(14, day_stillness_limit_min=0)
    assert not dangers(switched_off, t + 4 * 3600)
    # an organisation's own day (06:00-23:00) and limit (1 h)
    own, t = still_from(21.5, day_stillness_limit_min=60, day_start_hour=6, day_end_hour=23)
    danger = dangers(own, t + 4 * 3600)
    assert [x.at for x in danger] == [pytest.approx(t + 3600)]
    assert "(06:00-23:00)" in danger[0].evidence


def test_day_ceiling_does_not_undo_the_back_off_after_the_resident_was_found_fine() -> None:
    d, t = still_from(14)
    caution = run_until(d, t + 100 * 60)
    assert kinds(caution) == [("inactivity", "caution")]
    d.confirm_fine(t + 104 * 60)  # the robot found her well, sitting in the unsensed living room
    later = run_until(d, t + 400 * 60)
    # the next check after as long again (104 min), danger by the usual back-off: not 6 minutes after the check
    assert [(x.severity, round((x.at - t) / 60)) for x in later] == [("caution", 208), ("danger", 308)]


# ---------------------------------------------------------------- personal model, latch
def test_fall_by_day_is_detected_with_evidence_and_latched(model: PersonalModel) -> None:
    d = det(model)
    t = at(30, 14)
    for ev in synthetic_days(1, seed=5, start_day=30):
        if ev.ts < t:
            d.on_event(ev)
    last = max(ev.ts for ev in synthetic_days(1, seed=5, start_day=30) if ev.ts < t)
    fired = run_until(d, t + 6 * 3600)
    opens = [x for x in fired if x.action == "open" and x.kind == "inactivity"]
    assert len(opens) == 1  # latch: one open per kind
    danger = [x for x in fired if x.kind == "inactivity" and x.severity == "danger"]
    assert danger, fired
    assert danger[0].at - last < 2 * 3600
    assert "no movement for" in danger[0].evidence and "normally never still" in danger[0].evidence
    if opens[0].severity == "caution":
        assert danger[0].action == "update"
    assert len([x for x in fired if x.kind == "inactivity" and x.action == "open"]) == 1
    resumed = d.on_event(Event(t + 7 * 3600, "m_living", 1))
    assert ("inactivity", "danger") in kinds(resumed, "close")
    assert "inactivity" not in d.open


def test_devices_repeating_their_state_do_not_hide_a_fall(model: PersonalModel) -> None:
    """Zigbee contact and motion sensors re-send their whole state with every check-in or battery report
    (every ~50 min): "fridge closed", "no motion", "bed free" again are not someone moving."""
    t = at(30, 14)
    day = [ev for ev in synthetic_days(1, seed=5, start_day=30) if ev.ts < t]
    last = max(ev.ts for ev in day)
    quiet = det(model)
    chatty = det(model)
    for ev in day:
        quiet.on_event(ev)
        chatty.on_event(ev)
    chatty.on_event(Event(last + 1, "fridge", 0))  # the fridge's current state is "closed"
    chatty.on_event(Event(last + 2, "bed", 0))
    fired_quiet = run_until(quiet, t + 6 * 3600)
    fired_chatty: list[AlertDecision] = []
    for k in range(1, 8):
        check_in = last + k * 50 * 60
        fired_chatty += run_until(chatty, check_in)
        for sensor in ("fridge", "m_living", "bed"):
            fired_chatty += chatty.on_event(Event(check_in, sensor, 0))
    fired_chatty += run_until(chatty, t + 6 * 3600)

    def first_danger(fired: list[AlertDecision]) -> float:
        return min(x.at for x in fired if x.kind == "inactivity" and x.severity == "danger")

    assert first_danger(fired_chatty) == pytest.approx(first_danger(fired_quiet))
    assert not [x for x in fired_chatty if x.action == "close"]


def test_a_repeated_motion_trigger_is_activity_a_repeated_state_is_not() -> None:
    tracker = ActivityTracker(sensors())
    t = at(0, 10)
    seen = [
        tracker.classify(Event(t + i, sid, v)) is not None
        for i, (sid, v) in enumerate(
            [("m_kitchen", 1), ("m_kitchen", 1), ("m_kitchen", 0), ("m_kitchen", 0),
             ("fridge", 1), ("fridge", 1), ("fridge", 0), ("fridge", 0),
             ("bed", 1), ("bed", 1), ("bed", 0), ("bed", 0)]
        )
    ]
    assert seen == [True, True, True, False, True, False, True, False, True, False, True, False]


def test_an_appliance_idling_near_the_threshold_does_not_flap() -> None:
    """On above 15 W, off again only below 5 W: a box idling at 14-16 W is not someone switching it on and off."""
    tracker = ActivityTracker({"tv": SensorInfo("tv", "power", "living")})
    watts = [0, 16, 14, 16, 12, 15.5, 3, 4, 14, 20, 120, 0.5]
    acted = [tracker.classify(Event(at(0, 10) + 60 * i, "tv", w)) is not None for i, w in enumerate(watts)]
    assert acted == [True, True, False, False, False, False, True, False, False, True, False, True]


def test_sleep_in_bed_does_not_alarm(model: PersonalModel) -> None:
    d = det(model)
    night = [e for e in synthetic_days(2, seed=9, start_day=30) if e.ts < at(31, 6.5)]
    out: list[AlertDecision] = []
    for ev in night:
        out.extend(run_until(d, ev.ts))
        out.extend(d.on_event(ev))
    out.extend(run_until(d, at(31, 6.9)))
    assert [x for x in out if x.severity == "danger"] == []


def test_young_model_says_so_in_evidence() -> None:
    young = PersonalModel.fit(synthetic_days(4), sensors(), TZ)
    d = det(young)
    t = at(10, 14)
    d.on_event(Event(t, "m_kitchen", 1))
    fired = run_until(d, t + 12 * 3600)
    texts = [x.evidence for x in fired if x.kind == "inactivity" and "rule" not in x.details]
    assert texts and all("model still learning: 4 days of data" in s for s in texts)


def test_one_stillness_pages_staff_once(model: PersonalModel) -> None:
    """The model's inactivity alert and the fixed no-activity rule are about the same stillness: the rule
    updates the open alert (danger, with its own words) instead of opening a second one."""
    d = det(model)
    t = at(40, 10)
    d.on_event(Event(t, "m_kitchen", 1))
    fired = run_until(d, t + 13 * 3600)
    assert [x.kind for x in fired if x.action == "open" and x.kind in STILLNESS_KINDS] == ["inactivity"]
    by_rule = [x for x in fired if x.details.get("rule") == "no_activity"]
    assert len(by_rule) == 1 and by_rule[0].action == "update" and by_rule[0].severity == "danger"
    assert "nothing at all has happened at home" in by_rule[0].evidence
    assert set(d.open) & set(STILLNESS_KINDS) == {"inactivity"}
    closed = d.on_event(Event(t + 13 * 3600 + 5, "m_kitchen", 1))
    assert ("close", "inactivity") in [(x.action, x.kind) for x in closed]


def test_without_an_open_stillness_alert_the_rule_opens_its_own(model: PersonalModel) -> None:
    d = det(model)
    t = at(40, 10)
    d.on_event(Event(t, "m_kitchen", 1))
    run_until(d, t + 5 * 3600)
    d.clear("inactivity", t + 5 * 3600)  # staff closed the model's alert; the person is still not moving
    fired = run_until(d, t + 13 * 3600)
    assert [(x.kind, x.severity) for x in fired if x.action == "open" and x.kind in STILLNESS_KINDS] == [
        ("no_activity", "danger")]


# ---------------------------------------------------------------- late events
def test_a_stillness_found_fine_restarts_the_clock(model: PersonalModel) -> None:
    """The robot's check (or a call) found the resident fine: a sign of life no sensor saw. Without it the
    silence that was just checked would page danger minutes later (the latch was cleared by the resolution)."""
    d = det(model)
    t = at(30, 14)
    d.on_event(Event(t, "m_living", 1))
    fired = run_until(d, t + 6 * 3600)
    first = next(x for x in fired if x.kind == "inactivity")
    danger_at = next(x.at for x in fired if x.kind == "inactivity" and x.severity == "danger")
    limit = danger_at - t
    d2 = det(model)
    d2.on_event(Event(t, "m_living", 1))
    run_until(d2, first.at)
    d2.clear("inactivity", at=first.at + 60)  # resolved: resident fine
    d2.confirm_fine(first.at + 60)
    again = run_until(d2, first.at + 60 + limit - 120)
    assert not [x for x in again if x.kind == "inactivity" and x.severity == "danger"]
    again += run_until(d2, first.at + 60 + 2 * limit + 120)  # at most twice the limit (back-off, see below)
    assert [x.severity for x in again if x.kind == "inactivity"][-1] == "danger"  # the clock restarted
    opened = [x for x in again if x.kind == "inactivity" and x.action == "open"]
    assert len(opened) == 1 and opened[0].at > first.at + 60
    assert "since the resident was found fine at" in opened[0].evidence
    assert "motion sensor m_living" in opened[0].evidence
    # a real event closes it, and the context is the sensor's again
    closed = d2.on_event(Event(first.at + limit + 3 * 3600, "m_kitchen", 1))
    assert "inactivity" in [x.kind for x in closed if x.action == "close"]
    assert d2.last is not None and not d2.last.found_fine


def test_a_caution_always_comes_before_danger(model: PersonalModel) -> None:
    """Where the learned caution and danger limits coincide (here: the same budget for both), the caution still
    comes CAUTION_LEAD_S first, so that the robot's early check (or a care worker glancing at the board) can act
    before anyone is paged."""
    d = det(model, inactivity_caution_per_day=0.2, inactivity_danger_per_day=0.2, inactivity_caution_floor_min=1,
            inactivity_danger_floor_min=1)
    t = at(30, 14)
    d.on_event(Event(t, "m_living", 1))
    fired: list[AlertDecision] = []
    while not any(x.severity == "danger" for x in fired):
        fired += [x for x in d.on_tick(d.next_deadline) if x.kind == "inactivity"]
    assert [x.severity for x in fired] == ["caution", "danger"]
    assert fired[1].at - fired[0].at == pytest.approx(CAUTION_LEAD_S)


def test_checks_of_one_long_silence_back_off(model: PersonalModel) -> None:
    """Each time the resident is found fine during one silence (an unsensed room), the next caution waits at
    least as long again as the silence had lasted: checks at L, 2L, 4L..., not one every L."""
    d = det(model)
    t = at(30, 9)
    d.on_event(Event(t, "m_living", 1))
    first = next(x for x in run_until(d, t + 6 * 3600) if x.kind == "inactivity")
    caution = first.at - t
    d = det(model)
    d.on_event(Event(t, "m_living", 1))
    checks: list[float] = []
    now = t
    while d.next_deadline < t + 11 * 3600:  # before the 12 h no-activity rule
        fired = [x for x in d.on_tick(d.next_deadline) if x.kind == "inactivity" and x.action == "open"]
        if not fired:
            continue
        checks.append(fired[0].at)
        now = fired[0].at + 210  # the robot's answer
        d.clear("inactivity", at=now)
        d.confirm_fine(now)
    assert len(checks) >= 3 and abs(checks[0] - t - caution) < 1
    for i in range(1, len(checks)):
        assert checks[i] - checks[i - 1] >= checks[i - 1] - t  # at least as long again as the silence so far
    assert len(checks) <= 2 + math.ceil(math.log2(12 * 3600 / caution))


def test_late_events_do_not_alert_or_roll_back(model: PersonalModel) -> None:
    d = det(model)
    t = at(30, 15)
    d.on_event(Event(t, "m_kitchen", 1))
    deadline = d.next_deadline
    assert d.on_event(Event(t - 3600, "button", 1, late=True)) == []
    assert d.on_event(Event(t - 1800, "m_bath", 1, late=True)) == []
    assert d.next_deadline == deadline and d.last is not None and d.last.sensor == "m_kitchen"
    assert d.late_events == 2
    # a late backlog newer than the live state may move it forward but may not open alerts
    fired = run_until(d, t + 10 * 3600)
    assert fired  # the stillness alerts exist ...
    d2 = det(model)
    d2.on_event(Event(t, "m_kitchen", 1))
    late_smoke = d2.on_event(Event(t + 60, "smoke", 1, late=True))
    assert late_smoke == []


# ---------------------------------------------------------------- faults (FR-12)
def test_corrupted_model_falls_back_and_reports_fault() -> None:
    d = HomeDetector(sensors(), TZ, b"\x00garbage", Thresholds())
    t = at(0, 9)
    out = d.on_event(Event(t, "m_bath", 1))
    assert ("model_fault", "caution") in kinds(out)
    assert d.model is None
    fired = run_until(d, t + 41 * 60)
    assert ("bathroom_stay", "danger") in kinds(fired)  # rules still work


def test_nonsense_model_reports_fault_and_good_model_closes_it(model: PersonalModel) -> None:
    broken = PersonalModel.from_bytes(model.to_bytes())
    broken.counts[0, 0, 0, 0] = np.nan
    d = HomeDetector(sensors(), TZ, broken, Thresholds())
    out = d.on_event(Event(at(0, 9), "m_kitchen", 1))
    assert ("model_fault", "caution") in kinds(out)
    assert [(x.action, x.kind) for x in d.set_model(model, at=at(0, 10))] == [("close", "model_fault")]


def test_missing_model_is_a_fault_by_default() -> None:
    d = HomeDetector(sensors(), TZ, None, Thresholds())
    assert ("model_fault", "caution") in kinds(d.on_tick(at(0, 1)))


def test_battery_low_is_a_device_fault() -> None:
    d = det()
    out = d.on_event(Event(at(0, 9), "bat_kitchen", 9))
    assert ("device_fault", "caution") in kinds(out)
    assert ("device_fault", "caution") in kinds(d.on_event(Event(at(0, 10), "bat_kitchen", 95)), "close")


def test_tick_is_cheap_when_nothing_is_due(model: PersonalModel) -> None:
    d = det(model)
    d.on_event(Event(at(30, 9), "m_kitchen", 1))
    assert d.on_tick(at(30, 9) + 60) == []
    assert d.next_deadline > at(30, 9) + 60


# ---------------------------------------------------------------- on a bed/chair sensor
def test_stillness_on_an_occupied_mat_is_a_caution_not_danger() -> None:
    """A bed/chair sensor that reports "occupied" locates the person on it, not on the floor."""
    eager = {"inactivity_danger_per_day": 1.0, "inactivity_caution_per_day": 1.0, "no_activity_hours": 12}
    d = det(**eager)
    t = at(0, 14)
    d.on_event(Event(t, "m_bedroom", 1))
    d.on_event(Event(t + 60, "bed", 1))  # lies down on the bed in the afternoon
    fired = run_until(d, t + 11 * 3600)
    assert ("inactivity", "caution") in kinds(fired)
    assert [x for x in fired if x.severity == "danger"] == []
    # the hard no-activity rule still applies: it raises the open caution to danger, with its own words
    raised = run_until(d, t + 12 * 3600 + 120)
    assert [(x.action, x.kind, x.severity, x.details.get("rule")) for x in raised] == [
        ("update", "inactivity", "danger", "no_activity")]
    assert "nothing at all has happened at home" in raised[0].evidence
    # the same stillness after motion (not on the mat) is danger
    d2 = det(**eager)
    d2.on_event(Event(t, "m_bedroom", 1))
    assert ("inactivity", "danger") in [(x.kind, x.severity) for x in run_until(d2, t + 4 * 3600)]


def test_motion_while_the_mat_is_occupied_is_a_resting_context() -> None:
    """Motion seen while the bed is occupied (turning over, a sensor seeing the bed) keeps the person on the
    bed: its own context (+rest), caution only; once the bed reports "left", motion is danger again."""
    eager = {"inactivity_danger_per_day": 1.0, "inactivity_caution_per_day": 1.0, "no_activity_hours": 12}
    d = det(**eager)
    t = at(0, 14)
    d.on_event(Event(t, "bed", 1))
    d.on_event(Event(t + 600, "m_bedroom", 1))
    assert d.last is not None and d.last.key == "m_bedroom+rest" and d.last.resting
    fired = run_until(d, t + 6 * 3600)
    assert ("inactivity", "caution") in kinds(fired)
    assert [x for x in fired if x.severity == "danger"] == []
    assert "motion sensor m_bedroom" in fired[0].evidence  # the key's suffix is not shown to people
    d.on_event(Event(t + 7 * 3600, "bed", 0))
    d.on_event(Event(t + 7 * 3600 + 60, "m_bedroom", 1))
    assert d.last.key == "m_bedroom" and not d.last.resting
    assert ("inactivity", "danger") in [(x.kind, x.severity) for x in run_until(d, t + 11.5 * 3600)]


# ---------------------------------------------------------------- routine changes (missed meals, night bathroom)
def _day_without_kitchen(day: int) -> list[Event]:
    """A normal day of the synthetic resident, except that the kitchen is never used."""
    return [
        Event(e.ts, "m_living" if e.sensor in ("m_kitchen", "fridge") else e.sensor, e.value)
        for e in synthetic_days(1, seed=11, start_day=day)
    ]


def _feed(d: HomeDetector, events: list[Event]) -> list[AlertDecision]:
    out: list[AlertDecision] = []
    for ev in sorted(events, key=lambda e: e.ts):
        out.extend(run_until(d, ev.ts))
        out.extend(d.on_event(ev))
    return out


def test_a_day_without_the_kitchen_raises_a_missed_meal_caution_that_closes_when_it_is_used(
    model: PersonalModel,
) -> None:
    usual = model.routine["kitchen_first_p95"]
    assert 7.0 <= usual < 8.0 and model.routine["kitchen_days"] >= 10
    d = det(model)
    fired = _feed(d, [e for e in _day_without_kitchen(30) if e.ts < at(30, 12)])
    changes = [x for x in fired if x.kind == "routine_change"]
    assert [(x.action, x.severity, x.details["reason"]) for x in changes] == [("open", "caution", "no_meal")]
    expected = at(30, usual + Thresholds().meal_margin_min / 60.0)
    assert abs(changes[0].at - expected) < 12 * 60  # at the first event after the check time
    assert "kitchen has not been used today" in changes[0].evidence
    assert f"by {int(usual):02d}:" in changes[0].evidence
    closed = d.on_event(Event(at(30, 12.05), "fridge", 1))
    assert ("routine_change", "caution") in kinds(closed, "close")
    assert "routine_change" not in d.open


def test_a_normal_day_or_a_day_out_raises_no_missed_meal(model: PersonalModel) -> None:
    d = det(model)
    normal = _feed(d, synthetic_days(1, seed=12, start_day=30))
    assert not [x for x in normal if x.kind == "routine_change"]
    out_all_morning = [e for e in _day_without_kitchen(32) if not at(32, 7.6) <= e.ts < at(32, 12)]
    out_all_morning += [Event(at(32, 7.6), "front", 1), Event(at(32, 12), "front", 1)]
    out_all_morning += [Event(at(32, 12.01), "m_living", 1)]
    fired = _feed(d, out_all_morning)
    assert not [x for x in fired if x.kind == "routine_change"], "meals out of home are not missed meals"


def _night_with_bathroom_visits(day: int, visits: int) -> list[Event]:
    """The night before ``day`` (23:00 -> 07:00) with ``visits`` bathroom visits 40 min apart from 00:30."""
    out = [Event(at(day - 1, 23.0), "m_bedroom", 1), Event(at(day - 1, 23.02), "bed", 1)]
    for i in range(visits):
        t = at(day, 0.5 + i * 40 / 60)
        out += [Event(t, "bed", 0), Event(t + 30, "m_bath", 1)]
        out += [Event(t + 300, "m_bedroom", 1), Event(t + 330, "bed", 1)]
    out += [Event(at(day, 7.0), "bed", 0), Event(at(day, 7.01), "m_bedroom", 1), Event(at(day, 7.1), "m_kitchen", 1)]
    return out


def test_many_more_night_bathroom_visits_than_usual_raise_a_caution_in_the_morning(model: PersonalModel) -> None:
    assert model.routine["night_bathroom_nights"] >= 10 and model.routine["night_bathroom_p90"] == 0
    d = det(model)
    quiet = _feed(d, _night_with_bathroom_visits(30, 2))
    assert not [x for x in quiet if x.kind == "routine_change"], "2 visits: within max(3, p90 + 2)"
    busy = _feed(d, _night_with_bathroom_visits(31, 4))
    changes = [x for x in busy if x.kind == "routine_change"]
    assert [(x.action, x.details["reason"]) for x in changes] == [("open", "night_bathroom")]
    assert changes[0].at == pytest.approx(at(31, 7.1)) and changes[0].details["visits"] == 4
    assert "4 bathroom visits last night" in changes[0].evidence
    back_to_normal = _feed(d, _night_with_bathroom_visits(32, 1))
    assert [x.evidence for x in back_to_normal if x.kind == "routine_change"] == [
        "1 bathroom visit(s) last night: as usual"
    ]
    assert "routine_change" not in d.open


def _outing(day: int, leave: float, back: float) -> list[Event]:
    """A morning at home, out through the front door at ``leave``, back (door, then the kitchen) at ``back``."""
    out = [Event(at(day, 7.0), "bed", 0), Event(at(day, 7.01), "m_bedroom", 1), Event(at(day, 7.5), "m_kitchen", 1)]
    out += [Event(at(day, h / 6), "m_living", 1) for h in range(46, int(leave * 6))]
    out += [Event(at(day, leave), "front", 1), Event(at(day, leave) + 5, "front", 0)]
    out += [Event(at(day, back), "front", 1), Event(at(day, back) + 5, "front", 0), Event(at(day, back) + 60,
                                                                                           "m_kitchen", 1)]
    return out


def test_out_far_longer_than_usual_raises_not_back_which_closes_on_return(model: PersonalModel) -> None:
    assert model.routine["out_trips"] >= 10 and 1.2 <= model.routine["out_trip_p95_h"] <= 1.6
    d = det(model)
    usual = _feed(d, _outing(30, 10.0, 11.5))
    assert not [x for x in usual if x.kind == "not_back"], "a usual outing"
    fired = _feed(d, _outing(31, 10.0, 16.0))
    alerts = [x for x in fired if x.kind == "not_back"]
    assert [(x.action, x.severity) for x in alerts] == [("open", "caution"), ("close", "caution")]
    expected = at(31, 10.0) + model.routine["out_trip_p95_h"] * 3600 + Thresholds().away_margin_min * 60
    assert alerts[0].at == pytest.approx(expected, abs=1)
    assert "not back home: out since 10:00" in alerts[0].evidence and "back within 1 h" in alerts[0].evidence
    assert "back home" in alerts[1].evidence and alerts[1].at == pytest.approx(at(31, 16.0) + 60)
    # no inactivity/no-activity alarm while out: being away is recognised
    assert not [x for x in fired if x.kind in STILLNESS_KINDS and at(31, 10.0) < x.at < at(31, 16.0)]


def test_not_back_needs_enough_outings_and_follows_the_margin(model: PersonalModel) -> None:
    young = PersonalModel.fit(synthetic_days(9), sensors(), TZ)  # 4 outings
    assert not [x for x in _feed(det(young), _outing(30, 10.0, 20.0)) if x.kind == "not_back"]
    wide = det(model, away_margin_min=600)
    assert not [x for x in _feed(wide, _outing(31, 10.0, 16.0)) if x.kind == "not_back"]


def test_routine_changes_marked_false_alarms_widen_that_check_only() -> None:
    """FR-13 for routine changes: a missed meal staff marked as a false alarm gives the kitchen one more hour;
    a night-bathroom false alarm allows one more visit; neither touches the other check or the stillness limits."""
    events = synthetic_days(21)
    plain = PersonalModel.fit(events, sensors(), TZ)
    marked = PersonalModel.fit(events, sensors(), TZ, feedback=[
        (at(20, 9), feedback_kind("routine_change", "no_meal")),
        (at(19, 7), feedback_kind("routine_change", "night_bathroom")),
    ])
    assert marked.metrics["feedback_used"] == 2
    assert marked.routine["meal_feedback_h"] == 1.0 and marked.routine["night_feedback_visits"] == 1
    assert np.array_equal(marked.feedback_factor, plain.feedback_factor)  # stillness limits unchanged
    back = PersonalModel.from_bytes(marked.to_bytes())
    assert back.routine["meal_feedback_h"] == 1.0
    meal_times = []
    for m in (plain, back):
        fired = _feed(det(m), [e for e in _day_without_kitchen(30) if e.ts < at(30, 12)])
        meal_times += [x.at for x in fired if x.kind == "routine_change" and x.action == "open"]
    assert len(meal_times) == 2 and 50 * 60 <= meal_times[1] - meal_times[0] <= 70 * 60  # one hour later
    d_plain, d_marked = det(plain), det(back)
    assert [x for x in _feed(d_plain, _night_with_bathroom_visits(31, 3)) if x.kind == "routine_change"]
    assert not [x for x in _feed(d_marked, _night_with_bathroom_visits(31, 3)) if x.kind == "routine_change"]
    assert [x for x in _feed(d_marked, _night_with_bathroom_visits(32, 4)) if x.kind == "routine_change"]
    many = [(at(20, 9) + i, "routine_change:no_meal") for i in range(10)]
    assert PersonalModel.fit(events, sensors(), TZ, feedback=many).routine["meal_feedback_h"] == 4.0  # capped


def test_routine_changes_need_enough_history() -> None:
    young = PersonalModel.fit(synthetic_days(6), sensors(), TZ)
    d = det(young)
    fired = _feed(d, _night_with_bathroom_visits(10, 5) + [e for e in _day_without_kitchen(10) if e.ts > at(10, 7.2)])
    assert not [x for x in fired if x.kind == "routine_change"]


def test_a_mat_that_only_pulses_is_one_context_not_left_the_bed() -> None:
    """Some mats report pressure changes (occupied for a second) rather than a state: their "left" says
    nothing about leaving, so a pulse is one context, like a motion sensor; a real stay keeps on/off."""
    d = det()
    t = at(0, 14)
    d.on_event(Event(t, "bed", 1))
    d.on_event(Event(t + 1, "bed", 0))
    assert d.last is not None and d.last.key == "bed" and not d.last.resting
    d.on_event(Event(t + 600, "bed", 1))
    d.on_event(Event(t + 600 + 2 * 3600, "bed", 0))
    assert d.last.key == "bed=0" and not d.last.resting


def test_a_resident_who_often_goes_out_unseen_is_said_to_be_maybe_out(model: PersonalModel) -> None:
    """The stillness alert still comes (it may be a fall), but tells staff the resident may be out: phone first."""
    events = [e for e in synthetic_days(21) if not any(at(d, 9.4) <= e.ts < at(d, 11.5) for d in (13, 15, 17))]
    unseen = PersonalModel.fit(events, sensors(), TZ)
    day = [e for e in synthetic_days(1, seed=5, start_day=30) if e.ts < at(30, 14)]
    for m, maybe_out in ((unseen, True), (model, False)):
        d = det(m)
        for ev in day:
            d.on_event(ev)
        fired = run_until(d, at(30, 14) + 13 * 3600)
        for kind in ("inactivity", "no_activity"):
            texts = [x.evidence for x in fired
                     if x.action in ("open", "update") and x.details.get("rule", x.kind) == kind]
            assert texts and all(("the resident may be out: came in through the front door 3 times" in t) == maybe_out
                                 for t in texts), (kind, texts)
