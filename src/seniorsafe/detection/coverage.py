"""What a home's sensors cannot see, in plain words — for the installer, the care worker and whoever reads an
evaluation of that home. Each gap says what the detector then cannot do, so that a late or false alarm in such a
home is understood (and the missing sensor added) rather than blamed on the resident's model."""

from __future__ import annotations

from .activity import LOCATING_KINDS
from .events import HAZARD_KINDS, WET_ROOMS, SensorInfo

#: what the sensors that locate a person without seeing movement are, in words
_KIND_WORDS = {"presence": "a bed or seat mat", "contact": "door and cupboard contacts", "power": "appliance plugs",
               "light": "light switches", "flush": "the toilet flush"}
#: rooms where a person spends time: a stillness in one without a sensor looks like a fall
_LIVED_IN = (("living", "the living room"), ("bedroom", "the bedroom"), ("kitchen", "the kitchen"))


def blind_spots(sensors: dict[str, SensorInfo]) -> list[str]:
    """The gaps of this sensor set, most consequential first (empty for a fully equipped home)."""
    kinds = {s.kind for s in sensors.values()}
    located = {s.room for s in sensors.values() if s.kind in LOCATING_KINDS}
    out: list[str] = []
    if not any(s.is_exterior_door for s in sensors.values()):
        out.append("no front-door sensor (a door in the entrance): time out of home cannot be told from stillness "
                   "at home, so outings raise stillness alerts, and the night-exit and not-back-home checks cannot run")
    if "motion" not in kinds:
        out.append("no motion sensor: the resident is seen only when a door, cupboard, appliance or mat is used, "
                   "so ordinary stillness anywhere looks like a fall (later detection, more false alarms)")
    moving = {s.room for s in sensors.values() if s.kind == "motion"}
    for room, words in _LIVED_IN:
        meal = " and the missed-meal check cannot run" if room == "kitchen" else ""
        if room not in located:
            out.append(f"no sensor in {words}: time spent there looks like stillness{meal}")
        elif moving and room not in moving:
            there = sorted({_KIND_WORDS.get(s.kind, s.kind) for s in sensors.values()
                            if s.room == room and s.kind in LOCATING_KINDS})
            out.append(f"no motion sensor in {words} (only {' and '.join(there)}): time spent there without using "
                       "them looks like stillness")
    if not {s.room for s in sensors.values() if s.kind in ("motion", "presence")} & WET_ROOMS:
        out.append("no motion sensor in the bathroom or toilet: the bathroom-stay limit cannot run")
    if "presence" not in kinds:
        out.append("no bed or chair sensor: rest is recognised from the hour and the room only")
    if "button" not in kinds:
        out.append("no emergency button")
    if not kinds & HAZARD_KINDS:
        out.append("no smoke, gas or water sensor")
    return out
