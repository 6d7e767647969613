"""Pydantic schemas of the detection API (model status for the dashboard, training requests)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class DailyRoutine(BaseModel):
    """One whole day of the resident's routine as the last training saw it (local day of the home)."""

    day: date
    night_rest_h: float | None = Field(None, description="the longest quiet stretch of the night that ended "
                                       "this day (bedroom, bathroom and hall activity do not break it), hours")
    up_at: float | None = Field(None, description="local hour (decimal) that stretch ended: up and about")
    out_h: float = Field(0, description="hours out of home (after the front door) that day")
    kitchen_first: float | None = Field(None, description="local hour of the first kitchen activity")
    bathroom_visits: int = Field(0, description="bathroom/toilet visits (clusters of activity 10 min apart)")
    night_bathroom_visits: int = Field(0, description="visits starting 23:30-05:00 in the night that ended this day")


class ModelStatus(BaseModel):
    senior_id: uuid.UUID
    status: Literal["learning", "ready"] = Field(
        description="learning: no personal model yet, or fewer days of data than the young-model limit "
                    "(typical values fill the gaps); ready: the resident's own normal is in use")
    since: datetime | None = Field(None, description="when the current status began")
    version: int | None = Field(None, description="active model version (None before the first training)")
    trained_at: datetime | None = None
    days: float = Field(0, description="days of sensor data behind the model")
    events: int = Field(0, description="events the model was trained on")
    data_from: datetime | None = None
    data_to: datetime | None = None
    feedback_used: int = Field(0, description="false alarms marked by staff that the model learned from")
    summary: str = Field(description="the model in plain words")
    fault: str | None = Field(None, description="the model fault the detector reported (rules + priors in use)")
    metrics: dict[str, Any] = Field(default_factory=dict)
    daily: list[DailyRoutine] = Field(default_factory=list, description="the last weeks day by day (at most 28)")
    blind_spots: list[str] = Field(
        default_factory=list, description="what the home's sensors cannot see and what the detector then cannot do, "
                                          "most consequential first (detection/coverage.py)")


class TrainQueued(BaseModel):
    senior_id: uuid.UUID
    status: Literal["queued"] = "queued"
