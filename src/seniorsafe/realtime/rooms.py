"""Room names, and the rooms a principal may join (computed with seniors.service.visible_to)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.security import Principal
from seniorsafe.seniors.models import Senior
from seniorsafe.seniors.service import visible_to


def org_admins_room(org_id: object) -> str:
    """Admins of an organisation: they see every senior of it, including ones created after they connected."""
    return f"org:{org_id}:admins"


def senior_room(senior_id: object) -> str:
    """Staff assigned to the senior and the senior's guardians (admins get senior events via their org room)."""
    return f"senior:{senior_id}"


def watch_room(senior_id: object) -> str:
    """Clients currently watching the senior's live sensor activity (`senior.watch`)."""
    return f"watch:{senior_id}"


def user_room(user_id: object) -> str:
    """Every tab and device of one user."""
    return f"user:{user_id}"


def event_rooms(org_id: object, senior_id: object | None) -> list[str]:
    """Where an organisation/senior event goes: the senior's room and the org's admins."""
    rooms = [org_admins_room(org_id)]
    if senior_id:
        rooms.append(senior_room(senior_id))
    return rooms


async def rooms_for(session: AsyncSession, principal: Principal) -> list[str]:
    rooms = [user_room(principal.user_id)]
    if principal.is_admin:
        return [*rooms, org_admins_room(principal.org_id)]
    ids = await session.scalars(select(Senior.id).where(visible_to(principal)))
    return rooms + [senior_room(i) for i in ids]


async def may_view(session: AsyncSession, principal: Principal, senior_id: uuid.UUID) -> bool:
    found = await session.scalar(select(Senior.id).where(Senior.id == senior_id, visible_to(principal)))
    return found is not None
