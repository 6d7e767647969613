"""Who gets told what, over which channel: recipients per escalation level, preferences, quiet hours.

Preferences (`seniors.schemas.NotificationPreferences`: channels, severities, quiet_hours) come from
guardians.notification_preferences for guardians and user_notification_prefs for users (staff default:
email + push for every severity, plus sms for danger). Cautions inside quiet hours wait until they end;
danger is never held back. Deliveries are rows in notification_deliveries (worker.py sends them).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.models import Role, User
from seniorsafe.alerts.models import Alert, Severity
from seniorsafe.config import Settings
from seniorsafe.homes.models import Home
from seniorsafe.notifications.models import Delivery, PushSubscription, UserNotificationPrefs
from seniorsafe.seniors.models import Guardian, Senior, StaffAssignment

STAFF_DEFAULT: dict[str, Any] = {"channels": ["email", "push", "sms"], "severities": ["caution", "danger"],
                                 "quiet_hours": None}
GUARDIAN_DEFAULT: dict[str, Any] = {"channels": ["sms"], "severities": ["danger"], "quiet_hours": None}


@dataclass
class Recipient:
    name: str
    user_id: uuid.UUID | None
    guardian_id: uuid.UUID | None
    email: str | None
    phone: str | None
    prefs: dict[str, Any]
    push: list[uuid.UUID] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"g:{self.guardian_id}" if self.guardian_id else f"u:{self.user_id}"


# ---------------------------------------------------------------- recipients


async def _users(session: AsyncSession, query: Any) -> list[Recipient]:
    rows = await session.execute(
        query.add_columns(UserNotificationPrefs.prefs)
        .outerjoin(UserNotificationPrefs, UserNotificationPrefs.user_id == User.id)
        .where(User.is_active.is_(True)).order_by(User.name, User.id))
    return [Recipient(u.name, u.id, None, u.email, u.phone, {**STAFF_DEFAULT, **(prefs or {})})
            for u, prefs in rows]


async def recipients_for(session: AsyncSession, alert: Alert, level: str) -> list[Recipient]:
    if level == "assigned_staff":
        return await _users(session, select(User).join(StaffAssignment, StaffAssignment.user_id == User.id)
                            .where(StaffAssignment.senior_id == alert.senior_id))
    if level == "all_staff":
        return await _users(session, select(User).where(User.org_id == alert.org_id, User.role == Role.staff))
    if level == "admins":
        return await _users(session, select(User).where(User.org_id == alert.org_id, User.role == Role.admin))
    if level == "guardians":
        guardians = await session.scalars(select(Guardian).where(Guardian.senior_id == alert.senior_id)
                                          .order_by(Guardian.priority, Guardian.name))
        return [Recipient(g.name, g.user_id, g.id, g.email, g.phone,
                          {**GUARDIAN_DEFAULT, **(g.notification_preferences or {})}) for g in guardians]
    raise ValueError(f"unknown escalation level {level}")


async def _attach_push(session: AsyncSession, recipients: list[Recipient]) -> None:
    users = [r.user_id for r in recipients if r.user_id]
    if not users:
        return
    rows = await session.execute(select(PushSubscription.user_id, PushSubscription.id)
                                 .where(PushSubscription.user_id.in_(users)))
    subs: dict[uuid.UUID, list[uuid.UUID]] = {}
    for user_id, sub_id in rows:
        subs.setdefault(user_id, []).append(sub_id)
    for r in recipients:
        r.push = subs.get(r.user_id, []) if r.user_id else []


# ---------------------------------------------------------------- preferences


def _parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def held_until(prefs: dict[str, Any], severity: Severity, now: datetime, tz: str) -> datetime | None:
    """End of the recipient's quiet hours if a caution arrives inside them; None = send now."""
    quiet = prefs.get("quiet_hours")
    if severity is Severity.danger or not quiet:
        return None
    try:
        start, end = _parse_hhmm(quiet[0]), _parse_hhmm(quiet[1])
        zone = ZoneInfo(tz)
    except (ValueError, IndexError, TypeError, KeyError):
        return None
    local = now.astimezone(zone)
    inside = (start <= local.time() < end) if start <= end else (local.time() >= start or local.time() < end)
    if not inside:
        return None
    ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends


def addresses(r: Recipient, settings: Settings, severity: Severity) -> list[tuple[str, str]]:
    """(channel, address) pairs this recipient wants for this severity, limited to configured channels."""
    if severity.value not in r.prefs.get("severities", []):
        return []
    wanted = set(r.prefs.get("channels", []))
    out: list[tuple[str, str]] = []
    if "email" in wanted and r.email and settings.smtp_host:
        out.append(("email", r.email))
    if "push" in wanted and settings.vapid_private_key:
        out += [("push", str(sub)) for sub in r.push]
    staff_sms_for_caution = r.guardian_id is None and severity is Severity.caution
    if "sms" in wanted and r.phone and settings.sms_provider_url and not staff_sms_for_caution:
        out.append(("sms", r.phone))
    if "voice" in wanted and r.phone and settings.sms_provider_url and severity is Severity.danger:
        out.append(("voice", r.phone))
    return out


# ---------------------------------------------------------------- messages


def link_for(settings: Settings, alert: Alert) -> str:
    return f"{settings.public_url.rstrip('/')}/alerts/{alert.id}"


def alert_message(alert: Alert, senior_name: str, purpose: str) -> tuple[str, str]:
    tag = "DANGER" if alert.severity is Severity.danger else "Caution"
    if alert.category == "device":
        tag = "Device"
    prefix = {"escalation": "Not yet acknowledged: ", "reminder": "Still not acknowledged: "}.get(purpose, "")
    subject = f"[{tag}] {prefix}{senior_name}: {alert.kind.replace('_', ' ')}"
    return subject, f"{senior_name}: {alert.evidence}"


async def _context(session: AsyncSession, alert: Alert) -> tuple[str, str]:
    row = (await session.execute(select(Senior.name, Home.timezone).outerjoin(Home, Home.senior_id == Senior.id)
                                 .where(Senior.id == alert.senior_id))).one()
    return row.name, row.timezone or "UTC"


def _dedupe(recipients: Iterable[Recipient]) -> list[Recipient]:
    seen: dict[str, Recipient] = {}
    for r in recipients:
        seen.setdefault(r.key, r)
    return list(seen.values())


async def enqueue_alert(session: AsyncSession, settings: Settings, alert: Alert, levels: list[str], purpose: str,
                        now: datetime) -> list[str]:
    """Queue the alert's notification for every recipient of these levels; returns "name (channels)" items.

    A recipient without a usable channel (none configured, no address, severity not wanted) is listed as
    "dashboard only": the level still counts as notified, the dashboard shows the alert to them."""
    everyone: list[Recipient] = []
    for level in levels:
        everyone += await recipients_for(session, alert, level)
    recipients = _dedupe(everyone)
    await _attach_push(session, recipients)
    senior_name, tz = await _context(session, alert)
    subject, body = alert_message(alert, senior_name, purpose)
    link = link_for(settings, alert)
    notified: list[str] = []
    for r in recipients:
        pairs = addresses(r, settings, alert.severity)
        if not pairs:
            notified.append(f"{r.name} (dashboard only)")
            continue
        due = held_until(r.prefs, alert.severity, now, tz) or now
        for channel, address in pairs:
            session.add(Delivery(org_id=alert.org_id, alert_id=alert.id, user_id=r.user_id, guardian_id=r.guardian_id,
                                 channel=channel, address=address, purpose=purpose, subject=subject, body=body,
                                 link=link, status="pending", attempts=0, next_attempt_at=due))
        held = " held for quiet hours" if due != now else ""
        notified.append(f"{r.name} ({', '.join(sorted({c for c, _ in pairs}))}{held})")
    return notified


CLOSING_WORDS = {"resident_fine": "status checked — all well", "false_alarm": "status checked — all well "
                 "(false alarm)", "help_sent": "help was sent", "hospital": "taken to hospital",
                 "auto_cleared": "the situation returned to normal", "other": "the incident is closed"}


async def enqueue_closing(session: AsyncSession, alert: Alert, now: datetime) -> int:
    """The closing message to every guardian who was told about this alert (same channels and addresses)."""
    rows = (await session.execute(
        select(Delivery.guardian_id, Delivery.user_id, Delivery.channel, Delivery.address, Delivery.link)
        .where(Delivery.alert_id == alert.id, Delivery.guardian_id.is_not(None), Delivery.purpose != "closing")
        .distinct())).all()
    if not rows:
        return 0
    senior_name, _ = await _context(session, alert)
    words = CLOSING_WORDS.get(alert.outcome.value if alert.outcome else "other", "the incident is closed")
    for r in rows:
        session.add(Delivery(org_id=alert.org_id, alert_id=alert.id, user_id=r.user_id, guardian_id=r.guardian_id,
                             channel=r.channel, address=r.address, purpose="closing",
                             subject=f"{senior_name}: {words}", body=f"{senior_name}: {words}.", link=r.link,
                             status="pending", attempts=0, next_attempt_at=now))
    return len(rows)


async def closing_sweep(session: AsyncSession, now: datetime, within: timedelta = timedelta(days=1)) -> int:
    """Closing messages for alerts that closed by themselves (auto_cleared) after guardians were told."""
    told = select(Delivery.alert_id).where(Delivery.guardian_id.is_not(None), Delivery.purpose != "closing")
    closed = select(Delivery.alert_id).where(Delivery.purpose == "closing")
    alerts = list(await session.scalars(select(Alert).where(
        Alert.closed_at.is_not(None), Alert.closed_at > now - within, Alert.id.in_(told), Alert.id.not_in(closed))))
    for alert in alerts:
        await enqueue_closing(session, alert, now)
    return len(alerts)
