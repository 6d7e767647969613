from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from seniorsafe.accounts.models import Role
from seniorsafe.schemas_common import reject_null

Password = Field(min_length=10, max_length=128, description="10 to 128 characters")


class LoginIn(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=128)


class RefreshIn(BaseModel):
    refresh_token: str | None = Field(None, min_length=20, max_length=200,
                                      description="omit to use the httpOnly cookie")


class TokenPair(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str
    refresh_expires_in: int


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Password


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    phone: str | None


class OrganisationUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    phone: str | None = Field(None, max_length=40)

    _not_null = field_validator("name", mode="before")(reject_null)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    org_id: uuid.UUID
    email: str
    name: str
    phone: str | None
    role: Role
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class UserCreate(BaseModel):
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(None, max_length=40)
    role: Role
    password: str | None = Field(None, min_length=10, max_length=128,
                                 description="omit to have a one-time initial password generated")


class UserCreated(UserOut):
    initial_password: str | None = Field(None, description="shown once when the server generated it")


class UserUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    phone: str | None = Field(None, max_length=40)
    role: Role | None = None
    is_active: bool | None = None

    _not_null = field_validator("name", "role", "is_active", mode="before")(reject_null)


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    actor_id: uuid.UUID | None
    action: str
    entity: str
    entity_id: str | None
    details: dict[str, object]
    ip: str | None
    at: datetime
