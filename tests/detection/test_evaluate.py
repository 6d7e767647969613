"""Evaluation protocol details: recording gaps (hub outages) are reported apart, never hidden."""

from __future__ import annotations

import itertools
from pathlib import Path

from seniorsafe.detection import Event, Thresholds
from seniorsafe.detection.datasets import Dataset
from seniorsafe.detection.evaluate import (
    EvalConfig,
    early_check_table,
    evaluate_home,
    false_alarms,
    markdown_table,
    recording_gaps,
)
from seniorsafe.detection.replay import AlertRecord, EarlyCheck, ReplayResult, run_detector

from .conftest import TZ, at, out_with_a_cat, sensors, synthetic_days


def _ds(events: list[Event]) -> Dataset:
    return Dataset("t", TZ, sensors(), events, rows=len(events))


def test_a_silence_spanning_a_full_day_is_a_recording_gap_unless_the_resident_left() -> None:
    events = [
        Event(at(0, 20), "m_kitchen", 1),
        Event(at(2, 9), "m_kitchen", 1),  # nothing on day 1: a gap
        Event(at(2, 23), "m_living", 1),
        Event(at(3, 20), "m_living", 1),  # 21 h, but no full empty day: not a gap
        Event(at(3, 21), "front", 1),
        Event(at(6, 10), "front", 1),  # away for days through the front door: not a gap
    ]
    assert recording_gaps(_ds(events)) == [(at(0, 20), at(2, 9))]


def test_alerts_inside_a_gap_are_reported_apart_and_others_still_count() -> None:
    gaps = [(at(0, 20), at(2, 9))]
    inside = AlertRecord(at(1, 8), "no_activity", "danger", "kitchen", "x", danger_at=at(1, 8))
    outside = AlertRecord(at(3, 8), "inactivity", "danger", "kitchen", "x", danger_at=at(3, 9))
    caution = AlertRecord(at(3, 12), "inactivity", "caution", "kitchen", "x")
    result = ReplayResult(0, 0.0, 0, 0.0, [inside, outside, caution])
    fa = false_alarms(result, at(0, 0), gaps)
    assert fa["danger"] == {"inactivity": 1}
    assert fa["caution"] == {"inactivity": 1}
    assert fa["in_recording_gaps"] == {"no_activity/danger": 1}
    assert false_alarms(result, at(0, 0))["danger"] == {"inactivity": 1, "no_activity": 1}


def test_a_whole_evaluation_of_a_synthetic_home() -> None:
    """Replay, false alarms, injected falls, baselines and the hindsight bound on one synthetic home that
    is active every 1-12 minutes all day: falls are found quickly, and the hindsight detector (which knows
    when each real silence ended) is never slower than 12 minutes there."""
    ds = Dataset("synthetic", TZ, sensors(), synthetic_days(21), rows=0)
    cfg = EvalConfig(injections=12, warmup_days=7)
    report = evaluate_home(ds, cfg, Thresholds(), sweep=False)
    det = report["detector"]
    assert report["injections"] == 12 and det["n"] == 12
    assert det["detected_2h"] == 1.0 and det["median_min"] < 60
    assert report["hindsight"]["detected_2h"] == 1.0 and report["hindsight"]["median_min"] <= 12
    assert report["long_waking_silences"] == {"45min": 0, "120min": 0}  # out 10:00-11:30 is through the door
    fixed_3h = report["baselines"][0]
    assert fixed_3h["hours"] == 3 and fixed_3h["detected_2h"] == 0.0  # a 3 h limit never pages within 2 h
    assert det["danger_false_alarms"] == sum(det["false_alarms_by_kind"]["danger"].values())
    table = markdown_table({"homes": [report]})
    assert "| synthetic | 14.0 | yes | 12 | 100 % |" in table and "hindsight" in table.splitlines()[0]


def test_the_robots_early_check_answers_cautions_and_finds_falls_sooner() -> None:
    """A resident who is fine spends an afternoon where no sensor sees them: without the robot the model pages
    danger; with the early check every caution sends the robot, the resident answers, the stillness clock
    restarts (with back-off) and no danger page is left. An injected fall is found no later than without it."""
    events = [e for e in synthetic_days(21) if not at(15, 13) <= e.ts < at(15, 19)]
    base = run_detector(events, sensors(), TZ, Thresholds(), keep_models=True)
    in_silence = [a for a in base.alerts if at(15, 13) <= (a.danger_at or 0.0) < at(15, 19)]
    assert in_silence, "the afternoon silence pages danger without the robot"
    robot = EarlyCheck(lambda room: 210.0)
    checked = run_detector(events, sensors(), TZ, Thresholds(), models=base.models_by_day, early_check=robot)
    assert not [a for a in checked.alerts if at(15, 13) <= (a.danger_at or 0.0) < at(15, 19)]
    sent = [t for t in robot.sent if at(15, 13) <= t < at(15, 19)]
    answered = [t for t in robot.answered if at(15, 13) <= t < at(15, 19)]
    assert 2 <= len(sent) <= 5 and answered == [t + 210.0 for t in sent]  # the resident answered every check
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert gaps == sorted(gaps)  # each check waits longer than the one before

    ds = Dataset("synthetic", TZ, sensors(), synthetic_days(21), rows=0)
    report = evaluate_home(ds, EvalConfig(injections=12, warmup_days=7), Thresholds(), sweep=False)
    for scenario in report["early_check"]:
        assert scenario["n"] == 12 and scenario["median_min"] <= report["detector"]["median_min"]
        assert scenario["checks"] >= scenario["answered"] >= 0
    assert "robot" in early_check_table({"homes": [report]})


def test_a_check_while_the_resident_is_out_unseen_is_counted_as_a_page() -> None:
    """The resident left without the door sensor seeing it and came back through the front door at 16:00: the
    robot's checks of that afternoon found nobody (``not_found`` pages danger) — one page for that silence, not
    an answered check."""
    events = [e for e in synthetic_days(21) if not at(15, 9.5) <= e.ts < at(15, 16)]
    events = sorted([*events, Event(at(15, 16), "front", 1), Event(at(15, 16) + 5, "front", 0)], key=lambda e: e.ts)
    cfg = EvalConfig(injections=4, warmup_days=7, early_check_budgets=((0.4, 0.2),))
    e = evaluate_home(_ds(events), cfg, Thresholds(), sweep=False)["early_check"][0]
    assert e["checks_while_out"] >= 1 and e["out_silences"] == 1
    assert e["pages"] == e["danger_false_alarms"] + 1 and e["answered"] + e["checks_while_out"] <= e["checks"]
    at_home = evaluate_home(_ds(synthetic_days(21)), cfg, Thresholds(), sweep=False)["early_check"][0]
    assert at_home["checks_while_out"] == at_home["out_silences"] == 0
    # out unseen for 14 h: the robot is sent again and again (back-off) into the same silence; one page
    events = [e for e in synthetic_days(21) if not at(15, 9.4) <= e.ts < at(15, 23.5)]
    back = [Event(at(15, 23.5) + s, sensor, v) for s, sensor, v in
            ((0, "front", 1), (5, "front", 0), (60, "m_bedroom", 1), (120, "bed", 1))]  # in, and to bed
    events = sorted([*events, *back], key=lambda e: e.ts)
    long = evaluate_home(_ds(events), cfg, Thresholds(), sweep=False)["early_check"][0]
    assert long["checks_while_out"] >= 3 and long["out_silences"] == 1, long


def test_a_check_in_a_silence_that_ends_with_the_resident_going_out_was_answered_at_home() -> None:
    """Still where no sensor sees her from 09:30, she goes out through the front door at 16:00 and is back at 21:00:
    the checks of that afternoon found her at home (she answered) — not a page. Coming *in* at 16:00 (the test
    above) is."""
    events = [e for e in synthetic_days(21) if not at(15, 9.5) <= e.ts < at(15, 21)]
    door = [Event(at(15, h) + s, "front", v) for h in (16, 21) for s, v in ((0, 1), (5, 0))]
    cfg = EvalConfig(injections=4, warmup_days=7, early_check_budgets=((0.4, 0.2),))
    e = evaluate_home(_ds(sorted([*events, *door], key=lambda e: e.ts)), cfg, Thresholds(), sweep=False)
    e = e["early_check"][0]
    assert e["checks"] >= 1 and e["checks_while_out"] == e["out_silences"] == 0, e


def test_a_check_while_only_a_sensor_that_fires_on_its_own_is_active_is_counted_as_a_page() -> None:
    """Out 12:00-18:00 through the front door while the cat sets off the kitchen motion sensor now and then (last
    at 17:55, so no silence of the afternoon ends at the door): the robot's checks of that afternoon found
    nobody — one page for that absence, not answered checks."""
    cfg = EvalConfig(injections=4, warmup_days=7, early_check_budgets=((1.0, 0.2),))
    events = [*out_with_a_cat((15,), every_min=100), Event(at(15, 17.92), "m_kitchen", 1)]
    events = sorted([*events, Event(at(15, 17.92) + 30, "m_kitchen", 0)], key=lambda e: e.ts)
    e = evaluate_home(_ds(events), cfg, Thresholds(), sweep=False)["early_check"][0]
    assert e["checks_while_out"] >= 1 and e["out_silences"] == 1, e
    assert e["pages"] == e["danger_false_alarms"] + 1


def test_a_home_given_as_a_folder_is_evaluated_like_the_dataset_it_came_from(tmp_path: Path) -> None:
    """Any recorded home in the replay format (EVENTS.csv + SENSORS.json) can be measured with the protocol."""
    from seniorsafe.detection.datasets import load_dataset
    from seniorsafe.detection.formats import write_events_csv, write_sensors_json

    ds = load_dataset("ordonez_a")
    folder = tmp_path / "ordonez_a"  # same name, same seed: the same falls
    folder.mkdir()
    write_events_csv(folder / "EVENTS.csv", ds.events, ds.tz)
    write_sensors_json(folder / "SENSORS.json", ds.tz, ds.sensors)
    cfg = EvalConfig(injections=6, early_check_budgets=())
    from_folder = evaluate_home(load_dataset(str(folder)), cfg, Thresholds(), sweep=False)
    by_name = evaluate_home(ds, cfg, Thresholds(), sweep=False)
    assert from_folder["detector"] == by_name["detector"] and from_folder["enough_data"]
    assert from_folder["eval_days"] == by_name["eval_days"] > 7
