"""Request and response bodies of the alert workflow."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ResolveOutcome = Literal["resident_fine", "false_alarm", "help_sent", "hospital", "other"]
EscalationLevel = Literal["assigned_staff", "all_staff", "admins", "guardians"]


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    org_id: uuid.UUID
    senior_id: uuid.UUID
    home_id: uuid.UUID | None
    kind: str
    category: str = Field(description="resident | device | system")
    severity: str = Field(description="caution | danger")
    status: str = Field(description="open | acknowledged | closed")
    room: str | None
    evidence: str
    details: dict[str, Any]
    model_version: str | None
    source: str
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: uuid.UUID | None
    assigned_to: uuid.UUID | None
    resolved_by: uuid.UUID | None
    outcome: str | None
    resolution_note: str | None = Field(description="internal: null for guardians")
    escalation_level: int
    next_escalation_at: datetime | None


class TimelineEntry(BaseModel):
    id: int
    at: datetime
    type: str = Field(description="detected, updated, escalated, notified, acknowledged, assigned, note, "
                                  "robot_dispatched, robot_result, video_viewed, resolved, ...")
    actor_id: uuid.UUID | None
    actor_name: str | None
    text: str
    details: dict[str, Any]


class SeniorBrief(BaseModel):
    """What handling the incident needs to know of the person (responders paged about an unassigned senior
    see this, not the senior's profile)."""

    id: uuid.UUID
    name: str
    address: str | None
    profile_visible: bool = Field(description="the caller may open the senior's profile (false for a responder "
                                              "paged about a resident not assigned to them)")


class AlertDetail(AlertOut):
    senior: SeniorBrief
    timeline: list[TimelineEntry] = Field(description="guardians do not see the staff's internal notes")


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page")


class IncidentPage(BaseModel):
    items: list[AlertDetail]
    next_cursor: str | None = None


class AssignIn(BaseModel):
    user_id: uuid.UUID = Field(description="a staff member or admin who can see the senior")


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the note is empty")
        return value.strip()


class ResolveIn(BaseModel):
    outcome: ResolveOutcome = Field(description="false_alarm feeds the detection feedback (FR-13)")
    note: str | None = Field(None, max_length=2000)


class EscalationPolicy(BaseModel):
    """When nobody acknowledges an alert, notify the next level; after the last, remind everyone."""

    enabled: bool = True
    danger_minutes: float = Field(2.0, gt=0, le=240, description="minutes before a danger alert escalates")
    caution_minutes: float = Field(15.0, gt=0, le=1440, description="minutes before a caution alert escalates")
    repeat_minutes: float = Field(5.0, gt=0, le=1440, description="minutes between reminders after the last level")
    levels: list[EscalationLevel] = Field(
        default_factory=lambda: list[EscalationLevel](["assigned_staff", "all_staff", "admins", "guardians"]),
        min_length=1, max_length=4, description="notified in this order; level 1 is notified when the alert opens")

    @field_validator("levels")
    @classmethod
    def _unique(cls, value: list[EscalationLevel]) -> list[EscalationLevel]:
        if len(set(value)) != len(value):
            raise ValueError("each level may appear once")
        return value
