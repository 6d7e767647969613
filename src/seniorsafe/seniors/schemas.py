from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from seniorsafe.schemas_common import reject_null
from seniorsafe.seniors.models import Mobility, RiskLevel, Sex

Channel = Literal["email", "sms", "voice", "push"]
Severity = Literal["caution", "danger"]


class Medication(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    dose: str | None = Field(None, max_length=100)
    schedule: str | None = Field(None, max_length=200)


class SeniorBase(BaseModel):
    birth_date: date | None = None
    sex: Sex | None = None
    address: str | None = Field(None, max_length=500)
    phone: str | None = Field(None, max_length=40)
    health_conditions: list[str] = Field(default_factory=list, max_length=50)
    medications: list[Medication] = Field(default_factory=list, max_length=50)
    mobility: Mobility | None = None
    notes: str | None = Field(None, max_length=10_000)
    video_consent: bool = False


class SeniorCreate(SeniorBase):
    name: str = Field(min_length=1, max_length=200)
    staff_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20,
                                       description="staff responsible for this senior")


class SeniorUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    birth_date: date | None = None
    sex: Sex | None = None
    address: str | None = Field(None, max_length=500)
    phone: str | None = Field(None, max_length=40)
    health_conditions: list[str] | None = Field(None, max_length=50)
    medications: list[Medication] | None = Field(None, max_length=50)
    mobility: Mobility | None = None
    notes: str | None = Field(None, max_length=10_000)
    video_consent: bool | None = None

    _not_null = field_validator("name", "health_conditions", "medications", "video_consent",
                                mode="before")(reject_null)


class SeniorSummary(BaseModel):
    id: uuid.UUID
    name: str
    birth_date: date | None
    sex: Sex | None
    address: str | None
    risk_level: RiskLevel
    risk_changed_at: datetime | None
    has_photo: bool


class SeniorPage(BaseModel):
    items: list[SeniorSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class NotificationPreferences(BaseModel):
    channels: list[Channel] = Field(default_factory=lambda: list[Channel](["sms"]), max_length=4)
    severities: list[Severity] = Field(default_factory=lambda: list[Severity](["danger"]), max_length=2)
    quiet_hours: tuple[str, str] | None = Field(
        None, description="HH:MM-HH:MM local time during which cautions wait; danger is never held back")


class GuardianIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    relation: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=40)
    email: EmailStr | None = None
    notification_preferences: NotificationPreferences = Field(default_factory=NotificationPreferences)
    user_id: uuid.UUID | None = Field(None, description="a guardian user account of the same organisation")
    priority: int = Field(1, ge=1, le=10)


class GuardianUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    relation: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=40)
    email: EmailStr | None = None
    notification_preferences: NotificationPreferences | None = None
    user_id: uuid.UUID | None = None
    priority: int | None = Field(None, ge=1, le=10)

    _not_null = field_validator("name", "notification_preferences", "priority", mode="before")(reject_null)


class GuardianOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    senior_id: uuid.UUID
    name: str
    relation: str | None
    phone: str | None
    email: str | None
    notification_preferences: NotificationPreferences
    user_id: uuid.UUID | None
    priority: int


class StaffOut(BaseModel):
    user_id: uuid.UUID
    name: str
    phone: str | None
    email: str
    is_primary: bool


class AssignmentIn(BaseModel):
    is_primary: bool = False


class SeniorDetail(SeniorSummary):
    phone: str | None
    health_conditions: list[str]
    medications: list[Medication]
    mobility: Mobility | None
    notes: str | None
    video_consent: bool
    created_at: datetime
    updated_at: datetime
    guardians: list[GuardianOut]
    staff: list[StaffOut]
    home_id: uuid.UUID | None
