"""Evaluation protocol details: recording gaps (hub outages) are reported apart, never hidden."""

from __future__ import annotations

from seniorsafe.detection import Event
from seniorsafe.detection.datasets import Dataset
from seniorsafe.detection.evaluate import false_alarms, recording_gaps
from seniorsafe.detection.replay import AlertRecord, ReplayResult

from .conftest import TZ, at, sensors


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
