from __future__ import annotations

import pytest

from seniorsafe.detection import Thresholds


def test_round_trip_and_layers() -> None:
    t = Thresholds.layered({"bathroom_stay_min": 30}, {"no_activity_hours": 10, "use_personal_model": False})
    assert t.bathroom_stay_min == 30 and t.no_activity_hours == 10 and not t.use_personal_model
    assert Thresholds.from_dict(t.to_dict()) == t


@pytest.mark.parametrize(
    "raw",
    [
        {"nope": 1},
        {"bathroom_stay_min": "forty"},
        {"bathroom_stay_min": -1},
        {"inactivity_danger_per_day": 2.0},
        {"inactivity_caution_per_day": 3.5},
        {"young_model_days": 1.5},
        {"use_personal_model": 1},
        {"day_end_hour": 25},
    ],
)
def test_bad_overrides_are_rejected(raw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Thresholds.from_dict(raw)


def test_night_window_wraps_midnight() -> None:
    t = Thresholds(night_start_hour=22, night_end_hour=6)
    assert t.is_night(23) and t.is_night(3) and not t.is_night(12)


def test_day_ceiling_window_and_switch() -> None:
    t = Thresholds()
    assert t.day_ceiling_s(8) == 110 * 60 and t.day_ceiling_s(20.9) == 110 * 60
    assert t.day_ceiling_s(7.9) is None and t.day_ceiling_s(21) is None
    shifts = Thresholds(day_start_hour=20, day_end_hour=4, day_stillness_limit_min=90)  # a night-shift worker
    assert shifts.day_ceiling_s(2) == 90 * 60 and shifts.day_ceiling_s(12) is None
    assert Thresholds(day_stillness_limit_min=0).day_ceiling_s(12) is None


def test_a_caution_budget_up_to_three_a_day_is_allowed() -> None:
    # with the robot's early check a caution is a robot visit: an organisation may ask for 2 a day (not for danger)
    assert Thresholds.from_dict({"inactivity_caution_per_day": 2.0}).inactivity_caution_per_day == 2.0
    assert Thresholds.from_dict({"inactivity_caution_per_day": 3.0}).inactivity_caution_per_day == 3.0
    with pytest.raises(ValueError, match=r"inactivity_danger_per_day.*at most 1"):
        Thresholds.from_dict({"inactivity_danger_per_day": 2.0})
