"""Pydantic schemas of the detection API (model status for the dashboard, training requests)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


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


class TrainQueued(BaseModel):
    senior_id: uuid.UUID
    status: Literal["queued"] = "queued"
