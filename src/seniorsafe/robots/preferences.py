"""The organisation's safety-check preferences: `organisations.settings["robot"]` (read, change; no HTTP).

- auto_dispatch (default true): a danger alert about a resident sends the home's robot to check at once;
- early_check (default false): a caution already does.
The safety flow (robots/safety.py) reads them through `prefs_of` on every alert, so a change applies to the next
alert without restarting anything.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.security import Principal
from seniorsafe.accounts.service import get_organisation
from seniorsafe.audit.service import record
from seniorsafe.bus import Bus

ROBOT_KEY = "robot"
DEFAULTS: dict[str, bool] = {"auto_dispatch": True, "early_check": False}


class RobotSettings(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    auto_dispatch: bool = Field(description="a danger alert about a resident sends the robot to check at once")
    early_check: bool = Field(description="a caution alert already sends the robot (an early check)")


def prefs_of(settings: dict[str, Any] | None) -> dict[str, bool]:
    """The preferences in an organisation's settings JSON, defaults for what is missing."""
    stored = (settings or {}).get(ROBOT_KEY)
    stored = stored if isinstance(stored, dict) else {}
    return {name: bool(stored.get(name, default)) for name, default in DEFAULTS.items()}


async def get_robot_settings(session: AsyncSession, principal: Principal) -> dict[str, bool]:
    return prefs_of((await get_organisation(session, principal)).settings)


async def set_robot_settings(session: AsyncSession, bus: Bus, principal: Principal, body: RobotSettings,
                             ip: str | None) -> dict[str, bool]:
    """Replace the preferences (admins; the route checks the role), audited, then announced on the bus."""
    org = await get_organisation(session, principal, for_update=True)
    before, after = prefs_of(org.settings), body.model_dump()
    org.settings = {**(org.settings or {}), ROBOT_KEY: after}
    record(session, action="robot.settings_changed", entity="organisation", entity_id=org.id, org_id=org.id,
           actor_id=principal.user_id, ip=ip, before=before, after=after)
    org_id = org.id
    await session.commit()
    await bus.publish_event("robot.settings_changed", org_id, None, after)
    return after
