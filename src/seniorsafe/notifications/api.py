"""Routes: a user's Web Push subscriptions and notification preferences; the VAPID public key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from seniorsafe.deps import CurrentUser, Session, State
from seniorsafe.errors import NotFound
from seniorsafe.notifications.models import PushSubscription, UserNotificationPrefs
from seniorsafe.notifications.service import STAFF_DEFAULT
from seniorsafe.seniors.schemas import Channel, Severity

router = APIRouter(prefix="/api/v1", tags=["notifications"])


class PushKeys(BaseModel):
    p256dh: str = Field(min_length=10, max_length=200)
    auth: str = Field(min_length=4, max_length=100)


class PushSubscriptionIn(BaseModel):
    """The browser's PushSubscription.toJSON()."""

    endpoint: str = Field(min_length=10, max_length=2000, pattern=r"^https?://")
    keys: PushKeys


class PushSubscriptionOut(BaseModel):
    id: uuid.UUID
    endpoint: str
    created_at: datetime


class UserNotificationPreferences(BaseModel):
    """A user's own preferences (guardian contacts keep theirs in guardians.notification_preferences)."""

    channels: list[Channel] = Field(default_factory=lambda: list[Channel](["email", "push", "sms"]), max_length=4)
    severities: list[Severity] = Field(default_factory=lambda: list[Severity](["caution", "danger"]),
                                       max_length=2)
    quiet_hours: list[Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]] | None = Field(
        None, min_length=2, max_length=2,
        description="[start, end] as HH:MM in the home's time zone; cautions wait, danger never does")


class VapidKey(BaseModel):
    public_key: str | None = Field(description="applicationServerKey for PushManager.subscribe (None = push off)")


@router.get("/notifications/vapid-public-key", response_model=VapidKey, summary="Web Push server key")
async def vapid_public_key(state: State) -> VapidKey:
    return VapidKey(public_key=state.settings.vapid_public_key)


@router.post("/me/push-subscriptions", response_model=PushSubscriptionOut, status_code=201,
             summary="Register this browser/device for Web Push notifications")
async def add_push_subscription(body: PushSubscriptionIn, principal: CurrentUser, request: Request,
                                session: Session) -> PushSubscriptionOut:
    stmt = insert(PushSubscription).values(
        id=uuid.uuid4(), user_id=principal.user_id, endpoint=body.endpoint, p256dh=body.keys.p256dh,
        auth=body.keys.auth, user_agent=(request.headers.get("user-agent") or "")[:300] or None,
        created_at=datetime.now(UTC))
    upsert = stmt.on_conflict_do_update(index_elements=["endpoint"], set_={
        "user_id": stmt.excluded.user_id, "p256dh": stmt.excluded.p256dh, "auth": stmt.excluded.auth,
        "user_agent": stmt.excluded.user_agent}).returning(PushSubscription.id, PushSubscription.created_at)
    row = (await session.execute(upsert)).one()
    await session.commit()
    return PushSubscriptionOut(id=row.id, endpoint=body.endpoint, created_at=row.created_at)


@router.get("/me/push-subscriptions", response_model=list[PushSubscriptionOut], summary="My push subscriptions")
async def list_push_subscriptions(principal: CurrentUser, session: Session) -> list[PushSubscriptionOut]:
    subs = await session.scalars(select(PushSubscription).where(PushSubscription.user_id == principal.user_id)
                                 .order_by(PushSubscription.created_at))
    return [PushSubscriptionOut(id=s.id, endpoint=s.endpoint, created_at=s.created_at) for s in subs]


@router.delete("/me/push-subscriptions/{subscription_id}", status_code=204, summary="Stop push to a device")
async def delete_push_subscription(subscription_id: uuid.UUID, principal: CurrentUser, session: Session) -> Response:
    result = await session.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id,
                                                                  PushSubscription.user_id == principal.user_id))
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound("push subscription not found")
    await session.commit()
    return Response(status_code=204)


@router.get("/me/notification-preferences", response_model=UserNotificationPreferences,
            summary="My notification channels, severities and quiet hours")
async def get_preferences(principal: CurrentUser, session: Session) -> UserNotificationPreferences:
    prefs = await session.scalar(select(UserNotificationPrefs.prefs)
                                 .where(UserNotificationPrefs.user_id == principal.user_id))
    return UserNotificationPreferences.model_validate({**STAFF_DEFAULT, **(prefs or {})})


@router.put("/me/notification-preferences", response_model=UserNotificationPreferences,
            summary="Change my notification preferences (danger ignores quiet hours)")
async def put_preferences(body: UserNotificationPreferences, principal: CurrentUser,
                          session: Session) -> UserNotificationPreferences:
    data = body.model_dump(mode="json")
    stmt = insert(UserNotificationPrefs).values(user_id=principal.user_id, prefs=data, updated_at=datetime.now(UTC))
    await session.execute(stmt.on_conflict_do_update(index_elements=["user_id"],
                                                     set_={"prefs": data, "updated_at": datetime.now(UTC)}))
    await session.commit()
    return body
