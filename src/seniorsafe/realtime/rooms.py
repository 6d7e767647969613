"""Room names, the rooms a principal may join, and who receives which version of an event.

Rooms (all computed from the database with `seniors.service.visible_to` and `alerts.access`):

- `user:{user_id}`: every tab and device of one user;
- `org:{org_id}:admins`: the organisation's admins (every senior, including ones created later);
- `senior:{senior_id}`: the staff assigned to the senior;
- `family:{senior_id}`: the senior's guardians (events without the staff's internal notes);
- `incident:{alert_id}`: staff paged about an open alert of a senior not assigned to them (responder grant);
  only that alert's `alert.*` events reach it;
- `watch:{senior_id}`: clients watching the senior's live sensor activity (`senior.watch`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.security import Principal
from seniorsafe.alerts.access import open_incidents_of
from seniorsafe.seniors.models import Senior
from seniorsafe.seniors.service import visible_to

# Rooms the gateway manages from the database (re-computed when access changes); others (e.g. watch rooms,
# other namespaces' rooms) are left alone.
MANAGED_PREFIXES = ("user:", "org:", "senior:", "family:", "incident:")

# Events guardians never receive (internal staff notes), and fields removed from what they do receive.
STAFF_ONLY_EVENTS = frozenset({"alert.noted", "detection.thresholds_changed", "robot.settings_changed", "home.changed"})
STAFF_ONLY_FIELDS = ("note", "resolution_note")


def org_admins_room(org_id: object) -> str:
    return f"org:{org_id}:admins"


def senior_room(senior_id: object) -> str:
    return f"senior:{senior_id}"


def family_room(senior_id: object) -> str:
    return f"family:{senior_id}"


def incident_room(alert_id: object) -> str:
    return f"incident:{alert_id}"


def watch_room(senior_id: object) -> str:
    return f"watch:{senior_id}"


def user_room(user_id: object) -> str:
    return f"user:{user_id}"


def staff_rooms(org_id: object, senior_id: object | None, alert_id: object | None = None) -> list[str]:
    """Where the staff's version of an organisation/senior event goes (a socket in several gets it once)."""
    rooms = [org_admins_room(org_id)]
    if senior_id:
        rooms.append(senior_room(senior_id))
    if alert_id:
        rooms.append(incident_room(alert_id))
    return rooms


def alert_id_of(message: dict[str, Any]) -> str | None:
    """The alert an `alert.*` bus message is about (its responders' incident room), else None."""
    event, data = message.get("event"), message.get("data")
    if isinstance(event, str) and event.startswith("alert.") and isinstance(data, dict):
        ident = data.get("id")
        return str(ident) if ident else None
    return None


def for_family(message: dict[str, Any]) -> dict[str, Any] | None:
    """The guardians' version of a bus message: None for staff-only events, internal notes removed."""
    if message.get("event") in STAFF_ONLY_EVENTS:
        return None
    data = message.get("data")
    if not isinstance(data, dict):
        return message
    escalation = data.get("escalation")
    if any(f in data for f in STAFF_ONLY_FIELDS) or (isinstance(escalation, dict) and "notified" in escalation):
        data = {k: v for k, v in data.items() if k not in STAFF_ONLY_FIELDS}
        if isinstance(escalation, dict):  # which staff were paged, and how, is the agency's business
            data["escalation"] = {k: v for k, v in escalation.items() if k != "notified"}
        return {**message, "data": data}
    return message


def access_change(before: set[str], after: set[str]) -> dict[str, dict[str, list[str]]]:
    """The `access.changed` payload: seniors and incidents that became visible / stopped being visible."""
    def ids(names: set[str], prefixes: tuple[str, ...]) -> list[str]:
        return sorted(n.split(":", 1)[1] for n in names if n.startswith(prefixes))

    gained, lost = after - before, before - after
    return {"seniors": {"added": ids(gained, ("senior:", "family:")), "removed": ids(lost, ("senior:", "family:"))},
            "incidents": {"added": ids(gained, ("incident:",)), "removed": ids(lost, ("incident:",))}}


async def rooms_for(session: AsyncSession, principal: Principal) -> list[str]:
    rooms = [user_room(principal.user_id)]
    if principal.is_admin:
        return [*rooms, org_admins_room(principal.org_id)]
    ids = await session.scalars(select(Senior.id).where(visible_to(principal)))
    per_senior = family_room if principal.is_guardian else senior_room
    rooms += [per_senior(i) for i in ids]
    return rooms + [incident_room(a) for a in await open_incidents_of(session, principal)]



async def may_view(session: AsyncSession, principal: Principal, senior_id: uuid.UUID) -> bool:
    found = await session.scalar(select(Senior.id).where(Senior.id == senior_id, visible_to(principal)))
    return found is not None
