"""Who may see and handle an alert, and what guardians may read of it.

- `alert_visible_to(principal)`: the WHERE clause for `Alert` rows. An alert is visible when its senior is
  (`seniors.service.visible_to`), or — for staff — when the caller holds an incident-responder grant on that
  alert (`alert_responders`), recorded when an escalation to all staff on duty paged them. A grant opens that
  one incident (read, acknowledge, note, assign, resolve, its live events); the senior's profile, history,
  sensors and other alerts stay hidden. Grants never cross organisations (checked in the same clause).
- Guardians read alerts without the staff's internal notes: `note` timeline entries are left out, the
  resolution note is removed (`guardian_timeline`, `guardian_alert`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, literal, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.models import Role, User
from seniorsafe.accounts.security import Principal
from seniorsafe.alerts.models import Alert, AlertResponder
from seniorsafe.seniors.models import StaffAssignment
from seniorsafe.seniors.service import visible_senior_ids

GRANTING_LEVELS = frozenset({"all_staff"})
STAFF_ONLY_ENTRIES = frozenset({"note"})


def responder_grant(principal: Principal) -> ColumnElement[bool]:
    """The caller holds a responder grant on the `Alert` row (same organisation)."""
    held = exists().where(AlertResponder.alert_id == Alert.id, AlertResponder.user_id == principal.user_id)
    return and_(Alert.org_id == principal.org_id, held)


def alert_visible_to(principal: Principal) -> ColumnElement[bool]:
    """The WHERE clause that limits `Alert` rows to what this caller may see and handle."""
    via_senior = Alert.senior_id.in_(visible_senior_ids(principal))
    if principal.role is not Role.staff:
        return via_senior
    return or_(via_senior, responder_grant(principal))


async def grant_on_duty_staff(session: AsyncSession, alert: Alert, level: str, now: datetime) -> None:
    """Record a responder grant for every active staff member of the alert's organisation who is not
    assigned to its senior (those who are already see it). Idempotent (reminders re-run it)."""
    assigned = exists().where(StaffAssignment.senior_id == alert.senior_id, StaffAssignment.user_id == User.id)
    staff = select(literal(alert.id), User.id, literal(alert.org_id), literal(level), literal(now)).where(
        User.org_id == alert.org_id, User.role == Role.staff, User.is_active.is_(True), ~assigned)
    await session.execute(pg_insert(AlertResponder).from_select(
        ["alert_id", "user_id", "org_id", "level", "granted_at"], staff).on_conflict_do_nothing())


async def is_responder(session: AsyncSession, alert_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    found = await session.scalar(select(AlertResponder.user_id).where(AlertResponder.alert_id == alert_id,
                                                                      AlertResponder.user_id == user_id))
    return found is not None


async def open_incidents_of(session: AsyncSession, principal: Principal) -> list[uuid.UUID]:
    """Open alerts the caller holds a responder grant on (their Socket.IO incident rooms)."""
    if principal.role is not Role.staff:
        return []
    rows = await session.scalars(select(Alert.id).where(responder_grant(principal), Alert.closed_at.is_(None)))
    return list(rows)


# ---------------------------------------------------------------- what guardians read


def guardian_timeline(entries: list[dict[str, Any]], outcome_words: dict[str, str]) -> list[dict[str, Any]]:
    """The timeline without staff notes; a resolution is told without its internal note."""
    out = []
    for entry in entries:
        if entry["type"] in STAFF_ONLY_ENTRIES:
            continue
        if entry["type"] == "resolved":
            outcome = str(entry["details"].get("outcome", "other"))
            who = f" by {entry['actor_name']}" if entry.get("actor_name") else ""
            entry = {**entry, "text": f"resolved{who}: {outcome_words.get(outcome, outcome.replace('_', ' '))}",
                     "details": {k: v for k, v in entry["details"].items() if k != "note"}}
        out.append(entry)
    return out


def guardian_alert(fields: dict[str, Any]) -> dict[str, Any]:
    return {**fields, "resolution_note": None} if "resolution_note" in fields else fields
