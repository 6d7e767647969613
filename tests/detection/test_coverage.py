"""What a home's sensors cannot see (detection/coverage.py)."""

from __future__ import annotations

from seniorsafe.detection import SensorInfo
from seniorsafe.detection.coverage import blind_spots

from .conftest import sensors


def test_a_fully_equipped_home_has_no_blind_spot() -> None:
    assert blind_spots(sensors()) == []


def test_each_missing_sensor_says_what_the_detector_then_cannot_do() -> None:
    no_door = {k: s for k, s in sensors().items() if k != "front"}
    assert blind_spots(no_door) == [
        "no front-door sensor (a door in the entrance): time out of home cannot be told from stillness at home, so "
        "outings raise stillness alerts, and the night-exit and not-back-home checks cannot run"
    ]
    seat_only = {k: s for k, s in sensors().items() if k != "m_living"}
    seat_only["seat"] = SensorInfo("seat", "presence", "living")
    assert blind_spots(seat_only) == [
        "no motion sensor in the living room (only a bed or seat mat): time spent there without using them looks "
        "like stillness"
    ]
    contacts = {s.id: s for s in (SensorInfo("front", "door", "entrance"), SensorInfo("fridge", "contact", "kitchen"),
                                  SensorInfo("toilet", "flush", "toilet"))}  # as in van Kasteren A
    gaps = blind_spots(contacts)
    assert gaps[0].startswith("no motion sensor: the resident is seen only when")
    assert "no sensor in the living room: time spent there looks like stillness" in gaps
    assert "no sensor in the bedroom: time spent there looks like stillness" in gaps
    assert "no motion sensor in the bathroom or toilet: the bathroom-stay limit cannot run" in gaps
    assert gaps[-3:] == ["no bed or chair sensor: rest is recognised from the hour and the room only",
                         "no emergency button", "no smoke, gas or water sensor"]
