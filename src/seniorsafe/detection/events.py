"""Basic value types of the detection core: sensors, events, alert decisions.

Everything here is plain Python (no database, no Redis) so that the same code runs in the
live detector service, in the trainer, in dataset replay and in the evaluation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

SENSOR_KINDS: frozenset[str] = frozenset(
    {
        "motion",
        "door",
        "contact",
        "presence",
        "power",
        "light",
        "flush",
        "button",
        "smoke",
        "gas",
        "water_leak",
        "temperature",
        "battery",
        "fault",
    }
)
ROOMS: frozenset[str] = frozenset({"bedroom", "living", "kitchen", "bathroom", "toilet", "entrance", "hall", "other"})
#: how evidence texts name each room
ROOM_PHRASES: dict[str, str] = {
    "bedroom": "the bedroom",
    "living": "the living room",
    "kitchen": "the kitchen",
    "bathroom": "the bathroom",
    "toilet": "the toilet",
    "entrance": "the entrance",
    "hall": "the hall",
    "other": "the home",
}

#: Sensor kinds whose events show that a person did something in the home.
ACTIVITY_KINDS: frozenset[str] = frozenset({"motion", "door", "contact", "presence", "power", "light", "flush"})
#: Sensor kinds that are hard safety rules (no model may silence them).
HAZARD_KINDS: frozenset[str] = frozenset({"smoke", "gas", "water_leak"})
#: Rooms where the bathroom-stay rule applies.
WET_ROOMS: frozenset[str] = frozenset({"bathroom", "toilet"})

#: A power reading above this many watts counts as "appliance in use".
POWER_ON_WATTS = 15.0
#: ... and below this many watts it is off again; readings in between keep the last state (a box idling at 14-16 W
#: must not switch on and off with every reading)
POWER_OFF_WATTS = 5.0

Action = Literal["open", "update", "close"]
Severity = Literal["caution", "danger"]

ALERT_KINDS: tuple[str, ...] = (
    "inactivity",
    "routine_deviation",
    "routine_change",
    "not_back",
    "emergency_button",
    "smoke",
    "gas",
    "water_leak",
    "night_exit",
    "bathroom_stay",
    "no_activity",
    "model_fault",
    "device_fault",
)
#: alerts about the system, not the resident (category "device"): they neither raise the resident's risk level
#: nor send the robot to check on them, and the evaluation does not count them as false alarms
HEALTH_KINDS = frozenset({"model_fault", "device_fault"})
#: alerts about a resident who is out of the home: the robot's check would only find an empty home (and a
#: "not found" would page danger), so no check is sent for them
AWAY_KINDS = frozenset({"not_back"})


#: words that name a room, in the order they are tried (shared by the dataset loaders and SENSORS.json)
_ROOM_WORDS = [
    ("bathroom", ("bathroom", "bath", "badkamer", "shower", "basin", "sink upstairs", "medicine", "hamper")),
    ("toilet", ("toilet", "wc", "lavatory", "restroom")),
    ("bedroom", ("bedroom", "bed ", "bed,", "dresser", "jewelry")),
    ("entrance", ("front", "main", "foyer", "porch", "entrance")),
    (
        "kitchen",
        (
            "kitchen",
            "fridge",
            "refrigerator",
            "freezer",
            "cupboard",
            "cutlary",
            "cutlery",
            "microwave",
            "toaster",
            "cooktop",
            "stove",
            "plates",
            "cups",
            "pans",
            "groceries",
            "dishwasher",
            "pantry",
            "gootsteen",
            "burner",
            "oven",
            "coffee",
            "cereal",
            "containers",
            "garbage",
        ),
    ),
    ("living", ("living", "lounge", "couch", "seat", "piano", "sofa", "den", "dinning", "dining", "tv")),
    ("hall", ("hall", "hallway", "keys", "corridor", "landing", "stairs")),
]


def guess_room(*labels: str) -> str:
    """The room a dataset's sensor label most likely names (by substring: "kitchen cupboard" -> kitchen), else other."""
    text = " ".join(labels).lower() + " "
    for room, words in _ROOM_WORDS:
        if any(w in text for w in words):
            return room
    return "other"


def room_named(name: str) -> str:
    """The room a room name that is not one of ROOMS means, by whole words ("Living_Room", "dining room" -> living;
    "garden" is not the "den"), else other."""
    text = " ".join(re.findall(r"[a-z]+", name.lower()))
    for room, words in _ROOM_WORDS:
        if any(re.search(rf"\b{re.escape(w.strip(' ,'))}\b", text) for w in words):
            return room
    return "other"


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """One sensor of a home. ``of`` names the sensor a battery/fault sensor reports on."""

    id: str
    kind: str
    room: str
    of: str | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("sensor id must not be empty")
        if self.kind not in SENSOR_KINDS:
            raise ValueError(f"sensor {self.id!r}: unknown kind {self.kind!r} (known: {sorted(SENSOR_KINDS)})")
        if self.room not in ROOMS:
            raise ValueError(f"sensor {self.id!r}: unknown room {self.room!r} (known: {sorted(ROOMS)})")

    @property
    def is_exterior_door(self) -> bool:
        return self.kind == "door" and self.room == "entrance"


@dataclass(frozen=True, slots=True)
class Event:
    """One sensor reading. ``ts`` is epoch seconds (UTC); ``late`` marks backlog delivered after the fact."""

    ts: float
    sensor: str
    value: float
    late: bool = False


@dataclass(slots=True)
class AlertDecision:
    """What the detector wants the alert lifecycle to do for one alert kind of one home."""

    action: Action
    kind: str
    severity: Severity
    room: str | None
    evidence: str
    at: float
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "kind": self.kind,
            "severity": self.severity,
            "room": self.room,
            "evidence": self.evidence,
            "at": self.at,
            "details": self.details,
        }


def sensors_from_mapping(raw: dict[str, Any], notes: list[str] | None = None) -> dict[str, SensorInfo]:
    """Build sensors from the ``"sensors"`` object of SENSORS.json (``{id: {kind, room, of?}}``).

    With ``notes``, a room name not in ROOMS ("dining", "wc", "garage") is read as the room it most likely means
    (:func:`room_named`, else "other") and a note says so; without, it is an error."""
    out: dict[str, SensorInfo] = {}
    read_as: dict[str, list[str]] = {}
    for sid, spec in raw.items():
        if not isinstance(spec, dict):
            raise ValueError(f"sensor {sid!r}: expected an object with 'kind' and 'room'")
        missing = [k for k in ("kind", "room") if k not in spec]
        if missing:
            raise ValueError(f"sensor {sid!r}: missing {', '.join(missing)}")
        of, room = spec.get("of"), str(spec["room"])
        if room not in ROOMS and notes is not None:
            read_as.setdefault(room, []).append(str(sid))
            room = room_named(room)
        out[str(sid)] = SensorInfo(str(sid), str(spec["kind"]), room, None if of is None else str(of))
    if notes is not None:
        notes.extend(_room_read_as(name, ids) for name, ids in read_as.items())
    for s in out.values():
        if s.of is not None and s.of not in out:
            raise ValueError(f"sensor {s.id!r}: 'of' refers to unknown sensor {s.of!r}")
    return out


def _room_read_as(name: str, ids: list[str]) -> str:
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return f"room {name!r} (sensor {shown}) is not one of {sorted(ROOMS)}: read as {room_named(name)!r}"


def format_duration(seconds: float) -> str:
    """Human duration: '2 h 10 min', '25 min', '40 s'."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60.0)
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    if hours >= 48 and mins == 0:
        return f"{hours} h"
    return f"{hours} h {mins} min" if mins else f"{hours} h"
