"""Configurable limits of the hard rules and sensitivity of the personal model.

Organisations and individual seniors may override any field; store the overrides as JSON
(``to_dict``/``from_dict``) and combine layers with :meth:`Thresholds.layered`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

#: the most inactivity cautions a day an organisation may ask for: with the robot's early check on, a caution is a
#: robot visit (docs/detection.md, "The robot's early check": 2 a day brings the median time to detect under
#: 45 min in the recorded homes, 3 in the slowest); more would be a robot that never leaves the resident alone
CAUTION_PER_DAY_MAX = 3.0


@dataclass(frozen=True, slots=True)
class Thresholds:
    # --- hard rules (no model may silence them) ---
    #: danger when there is no activity for this long while the last sensed place is the bathroom/toilet
    bathroom_stay_min: float = 40.0
    #: local hours of the night for the night-exit rule (start inclusive, end exclusive, may wrap midnight)
    night_start_hour: float = 22.0
    night_end_hour: float = 6.0
    #: danger when the exterior door opens at night and nobody is sensed inside within this time
    night_exit_return_min: float = 30.0
    #: danger when nothing at all happens for this long while the resident is at home
    no_activity_hours: float = 12.0
    #: day ceiling: during the day (local hours below, start inclusive, end exclusive) a stillness that begins
    #: away from a bed/chair at home becomes danger after at most this long, whatever the personal model has
    #: learned of the resident's habits (minutes; 0 = no ceiling). Just under 2 h: danger within 2 h of a fall
    day_stillness_limit_min: float = 110.0
    day_start_hour: float = 8.0
    day_end_hour: float = 21.0
    #: caution for a battery sensor below this percentage
    low_battery_pct: float = 15.0
    # --- personal model sensitivity ---
    #: how many false alarms a day the personal model may raise for one resident (expected, at their own pace
    #: of life): each stillness limit is where the chance that a stillness this long is harmless falls to this
    #: budget divided by the resident's learned pauses a day. Smaller = fewer, later alerts. caution / danger.
    #: With the robot's early check on, every caution sends the robot: the caution budget is then about its
    #: visits a day (an organisation with robots may set up to CAUTION_PER_DAY_MAX; 2 a day pages earlier).
    inactivity_caution_per_day: float = 0.4
    inactivity_danger_per_day: float = 0.1
    #: never raise the inactivity alert earlier than these floors (minutes of stillness)
    inactivity_caution_floor_min: float = 20.0
    inactivity_danger_floor_min: float = 30.0
    #: routine deviation: caution when a silence at home this long had less than this chance
    #: under the resident's hour-by-hour activity pattern (the "missing evening")
    routine_silence_p: float = 0.002
    routine_min_silence_hours: float = 3.0
    #: routine deviation: caution when still in bed/bedroom this long after the latest usual wake-up
    late_wakeup_margin_min: float = 90.0
    #: routine change: caution when the kitchen has not been used today this long after the hour by which the
    #: resident has used it on 19 days out of 20 (missed meals), while at home
    meal_margin_min: float = 60.0
    #: routine change: caution when the bathroom visits of one night (23:30-05:00) are at least this many above
    #: the resident's usual (their 90th percentile of nights), and at least 3
    night_bathroom_extra: float = 2.0
    #: not back home: caution when out through the front door this long beyond the resident's longest usual
    #: outing (the 95th percentile of their outings)
    away_margin_min: float = 120.0
    #: a model with fewer days of personal data than this is reported as "still learning"
    young_model_days: int = 14
    #: model enabled (False: rules + population priors only)
    use_personal_model: bool = True

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ValueError(f"threshold {f.name!r} must be a finite number >= 0, got {value!r}")
        if not 0.0 < self.routine_silence_p < 1.0:
            raise ValueError("threshold 'routine_silence_p' must be strictly between 0 and 1")
        for name, most in (("inactivity_caution_per_day", CAUTION_PER_DAY_MAX), ("inactivity_danger_per_day", 1.0)):
            if not 0.0 < getattr(self, name) <= most:
                raise ValueError(f"threshold {name!r} must be more than 0 and at most {most:g} (alerts per day)")
        for name in ("night_start_hour", "night_end_hour", "day_start_hour", "day_end_hour"):
            if not 0.0 <= getattr(self, name) <= 24.0:
                raise ValueError(f"threshold {name!r} must be an hour between 0 and 24")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Thresholds:
        """Build from a (partial) dict; unknown keys and wrong types are a ValueError."""
        if not raw:
            return cls()
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ValueError(f"unknown threshold(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in raw.items():
            default = getattr(cls(), name)
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"threshold {name!r} must be true or false")
                values[name] = value
            elif isinstance(default, int):
                if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
                    raise ValueError(f"threshold {name!r} must be an integer")
                values[name] = int(value)
            else:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"threshold {name!r} must be a number")
                values[name] = float(value)
        return cls(**values)

    @classmethod
    def layered(cls, *layers: dict[str, Any] | None) -> Thresholds:
        """Defaults, then each override layer in order (e.g. organisation, then senior)."""
        merged: dict[str, Any] = {}
        for layer in layers:
            if layer:
                merged.update(layer)
        return cls.from_dict(merged)

    def replace(self, **changes: Any) -> Thresholds:
        return dataclasses.replace(self, **changes)

    def is_night(self, local_hour: float) -> bool:
        return _within(local_hour, self.night_start_hour, self.night_end_hour)

    def day_ceiling_s(self, local_hour: float) -> float | None:
        """The day ceiling on a stillness that begins at this local hour (seconds), or None outside the day."""
        if self.day_stillness_limit_min <= 0 or not _within(local_hour, self.day_start_hour, self.day_end_hour):
            return None
        return self.day_stillness_limit_min * 60.0


def _within(local_hour: float, start: float, end: float) -> bool:
    """``local_hour`` lies in [start, end), a window of local hours that may wrap midnight."""
    if start <= end:
        return start <= local_hour < end
    return local_hour >= start or local_hour < end
