"""Pydantic schemas of the detection-thresholds API (one field per `Thresholds` field, same names and units)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: what each threshold means and its unit (the dashboard shows the same labels)
DOCS: dict[str, str] = {
    "bathroom_stay_min": "bathroom stay rule: danger after this many minutes without movement in a bathroom/toilet "
                         "(minutes)",
    "night_start_hour": "night-exit rule: the night starts at this local hour (0-24)",
    "night_end_hour": "night-exit rule: the night ends at this local hour (0-24)",
    "night_exit_return_min": "night-exit rule: danger when nobody is sensed inside this many minutes after the "
                             "front door opened at night (minutes)",
    "no_activity_hours": "no-activity rule: danger after this many hours with no activity at all at home (hours)",
    "day_stillness_limit_min": "day ceiling: during the day a stillness at home away from a bed/chair becomes danger "
                               "after at most this long, whatever the personal model learned (minutes; 0 = off)",
    "day_start_hour": "day ceiling: the day starts at this local hour (0-24)",
    "day_end_hour": "day ceiling: the day ends at this local hour (0-24)",
    "low_battery_pct": "device rule: caution for a sensor battery below this level (%)",
    "inactivity_caution_per_day": "inactivity sensitivity (caution): how many false alarms a day the personal model "
                                  "may raise for one resident, expected at their own pace of life; smaller = fewer, "
                                  "later alerts; with the robot's early check on, about the robot's visits a day, "
                                  "and 2 a day finds a fall sooner (docs/detection.md) (more than 0, at most 3)",
    "inactivity_danger_per_day": "inactivity sensitivity (danger): as inactivity_caution_per_day for the danger level "
                                 "(more than 0, at most 1)",
    "inactivity_caution_floor_min": "never an inactivity caution before this much stillness (minutes)",
    "inactivity_danger_floor_min": "never an inactivity danger before this much stillness (minutes)",
    "routine_silence_p": "routine deviation: caution when a silence at home had less than this chance under the "
                         "resident's hourly pattern (0-1, exclusive)",
    "routine_min_silence_hours": "routine deviation: only silences at least this long are checked (hours)",
    "late_wakeup_margin_min": "routine deviation: caution when still in the bedroom this long after the usual "
                              "latest wake-up (minutes)",
    "meal_margin_min": "routine change: caution when the kitchen has not been used today this long after the hour "
                       "by which the resident uses it on 19 days out of 20 (minutes)",
    "night_bathroom_extra": "routine change: caution when one night has at least this many more bathroom visits "
                            "than the resident's usual (their 90th percentile of nights), and at least 3 (visits)",
    "away_margin_min": "not back home: caution when the resident has been out (through the front door) this long "
                       "beyond their longest usual outing, the 95th percentile of their outings (minutes)",
    "young_model_days": "a personal model with fewer days of data is reported as still learning (days)",
    "use_personal_model": "use the resident's personal model (false: fixed rules and population priors only)",
}


def _doc(name: str) -> Any:
    return Field(description=DOCS[name])


def _opt(name: str) -> Any:
    return Field(None, description=DOCS[name] + "; null or omitted: no override")


class ThresholdValues(BaseModel):
    """Every threshold with its value (defaults, or the effective values after the overrides)."""

    bathroom_stay_min: float = _doc("bathroom_stay_min")
    night_start_hour: float = _doc("night_start_hour")
    night_end_hour: float = _doc("night_end_hour")
    night_exit_return_min: float = _doc("night_exit_return_min")
    no_activity_hours: float = _doc("no_activity_hours")
    day_stillness_limit_min: float = _doc("day_stillness_limit_min")
    day_start_hour: float = _doc("day_start_hour")
    day_end_hour: float = _doc("day_end_hour")
    low_battery_pct: float = _doc("low_battery_pct")
    inactivity_caution_per_day: float = _doc("inactivity_caution_per_day")
    inactivity_danger_per_day: float = _doc("inactivity_danger_per_day")
    inactivity_caution_floor_min: float = _doc("inactivity_caution_floor_min")
    inactivity_danger_floor_min: float = _doc("inactivity_danger_floor_min")
    routine_silence_p: float = _doc("routine_silence_p")
    routine_min_silence_hours: float = _doc("routine_min_silence_hours")
    late_wakeup_margin_min: float = _doc("late_wakeup_margin_min")
    meal_margin_min: float = _doc("meal_margin_min")
    night_bathroom_extra: float = _doc("night_bathroom_extra")
    away_margin_min: float = _doc("away_margin_min")
    young_model_days: int = _doc("young_model_days")
    use_personal_model: bool = _doc("use_personal_model")


class ThresholdOverrides(BaseModel):
    """Overrides of one layer (organisation or senior). A PUT replaces the layer: a field that is null or
    omitted has no override (the layer below applies). Numbers must be finite and >= 0; probabilities strictly
    between 0 and 1; false alarms per day more than 0 and at most 1 (cautions: at most 3); hours of the night and
    of the day between 0 and 24."""

    model_config = ConfigDict(strict=True, extra="forbid")

    bathroom_stay_min: float | None = _opt("bathroom_stay_min")
    night_start_hour: float | None = _opt("night_start_hour")
    night_end_hour: float | None = _opt("night_end_hour")
    night_exit_return_min: float | None = _opt("night_exit_return_min")
    no_activity_hours: float | None = _opt("no_activity_hours")
    day_stillness_limit_min: float | None = _opt("day_stillness_limit_min")
    day_start_hour: float | None = _opt("day_start_hour")
    day_end_hour: float | None = _opt("day_end_hour")
    low_battery_pct: float | None = _opt("low_battery_pct")
    inactivity_caution_per_day: float | None = _opt("inactivity_caution_per_day")
    inactivity_danger_per_day: float | None = _opt("inactivity_danger_per_day")
    inactivity_caution_floor_min: float | None = _opt("inactivity_caution_floor_min")
    inactivity_danger_floor_min: float | None = _opt("inactivity_danger_floor_min")
    routine_silence_p: float | None = _opt("routine_silence_p")
    routine_min_silence_hours: float | None = _opt("routine_min_silence_hours")
    late_wakeup_margin_min: float | None = _opt("late_wakeup_margin_min")
    meal_margin_min: float | None = _opt("meal_margin_min")
    night_bathroom_extra: float | None = _opt("night_bathroom_extra")
    away_margin_min: float | None = _opt("away_margin_min")
    young_model_days: int | None = _opt("young_model_days")
    use_personal_model: bool | None = _opt("use_personal_model")


#: an override layer as stored and returned: only the fields that are overridden
OverrideLayer = dict[str, float | int | bool]


class OrganisationThresholds(BaseModel):
    defaults: ThresholdValues = Field(description="the built-in values")
    organisation: OverrideLayer = Field(description="the organisation's overrides (only the overridden fields)")
    effective: ThresholdValues = Field(description="what the detector uses for a senior without own overrides")


class SeniorThresholds(BaseModel):
    senior_id: uuid.UUID
    defaults: ThresholdValues = Field(description="the built-in values")
    organisation: OverrideLayer = Field(description="the organisation's overrides")
    senior: OverrideLayer = Field(description="this senior's own overrides (they win over the organisation's)")
    effective: ThresholdValues = Field(description="what the detector uses for this senior")
