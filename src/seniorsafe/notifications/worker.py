"""Send due deliveries; a failure is retried after retry_seconds·2^(attempt-1) until max attempts."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.alerts.models import Alert
from seniorsafe.deps import AppState
from seniorsafe.notifications.channels import Channel, DeliveryError, Message, PermanentFailure, make_channels
from seniorsafe.notifications.models import Delivery, PushSubscription

log = logging.getLogger(__name__)

BATCH = 200
PARALLEL = 20


async def _push_info(session: AsyncSession, deliveries: list[Delivery]) -> dict[str, dict[str, object]]:
    ids = []
    for d in deliveries:
        if d.channel == "push":
            try:
                ids.append(uuid.UUID(d.address))
            except ValueError:
                continue
    if not ids:
        return {}
    subs = await session.scalars(select(PushSubscription).where(PushSubscription.id.in_(ids)))
    return {str(s.id): {"endpoint": s.endpoint, "keys": {"p256dh": s.p256dh, "auth": s.auth}} for s in subs}


async def _closed_alerts(session: AsyncSession, deliveries: list[Delivery]) -> set[uuid.UUID]:
    ids = {d.alert_id for d in deliveries if d.alert_id and d.purpose != "closing"}
    if not ids:
        return set()
    return set(await session.scalars(select(Alert.id).where(Alert.id.in_(ids), Alert.closed_at.is_not(None))))


def _message(d: Delivery, push: dict[str, dict[str, object]]) -> Message:
    return Message(d.id, d.channel, d.address, d.subject, d.body, d.link, d.purpose,
                   str(d.alert_id) if d.alert_id else None, push.get(d.address) if d.channel == "push" else None)


async def _attempt(channel: Channel | None, message: Message) -> str | None:
    """None when sent, else the error text (prefixed 'permanent:' when it must not be retried)."""
    if channel is None:
        return f"permanent: no channel {message.channel}"
    try:
        await channel.send(message)
    except PermanentFailure as exc:
        return f"permanent: {exc}"
    except DeliveryError as exc:
        return str(exc)
    except Exception as exc:  # a bug in a channel must not stop the other deliveries
        log.exception("delivery %s crashed", message.id)
        return f"{type(exc).__name__}: {exc}"
    return None


def _record(d: Delivery, error: str | None, now: datetime, max_attempts: int, base: float) -> None:
    d.attempts += 1
    if error is None:
        d.status, d.sent_at, d.last_error = "sent", now, None
        return
    d.last_error = error[:1000]
    if error.startswith("permanent:") or d.attempts >= max_attempts:
        d.status = "failed"
        return
    d.next_attempt_at = now + timedelta(seconds=base * 2 ** (d.attempts - 1))


async def dispatch_due(state: AppState, now: datetime | None = None,
                       channels: dict[str, Channel] | None = None) -> int:
    """Send every pending delivery that is due; returns how many were attempted."""
    now = now or datetime.now(UTC)
    channels = channels or make_channels(state.settings)
    settings = state.settings
    async with state.db.sessions() as session:
        due = list(await session.scalars(
            select(Delivery).where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at, Delivery.id).limit(BATCH).with_for_update(skip_locked=True)))
        if not due:
            return 0
        closed = await _closed_alerts(session, due)
        push = await _push_info(session, due)
        sendable = []
        for d in due:
            if d.alert_id in closed and d.purpose != "closing":
                d.status, d.last_error = "cancelled", "the alert was resolved before this was sent"
            else:
                sendable.append(d)
        limit = asyncio.Semaphore(PARALLEL)

        async def one(d: Delivery) -> str | None:
            async with limit:
                return await _attempt(channels.get(d.channel), _message(d, push))

        errors = await asyncio.gather(*(one(d) for d in sendable))
        for d, error in zip(sendable, errors, strict=True):
            _record(d, error, now, settings.notification_max_attempts, settings.notification_retry_seconds)
        await session.commit()
    return len(sendable)
