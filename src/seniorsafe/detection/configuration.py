"""Detection thresholds per organisation and per senior: read, validate, change (no HTTP).

Stored as override layers in `organisations.settings["detection_thresholds"]` and
`seniors.settings["detection_thresholds"]`; `Thresholds.layered(org, senior)` gives what the detector uses.
Every change is audited in its own transaction and then announced on `org:{org_id}` as
`{"event": "detection.thresholds_changed", "org_id", "senior_id" (or null), "data": {"scope"}}`, which the
detector service applies to the live homes concerned (detector_service.DetectorService.reload_thresholds).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.security import Principal
from seniorsafe.accounts.service import get_organisation
from seniorsafe.audit.service import record
from seniorsafe.bus import Bus
from seniorsafe.errors import Invalid
from seniorsafe.seniors.models import Senior
from seniorsafe.seniors.service import get_visible_senior

from .service import THRESHOLDS_CHANGED, THRESHOLDS_KEY, thresholds_for
from .thresholds import Thresholds


def overrides_of(settings: dict[str, Any] | None) -> dict[str, Any]:
    """The override layer stored in a settings JSON (empty when absent or not an object)."""
    layer = (settings or {}).get(THRESHOLDS_KEY)
    return dict(layer) if isinstance(layer, dict) else {}


def validate_overrides(raw: dict[str, Any]) -> dict[str, Any]:
    """The overrides to store: null values dropped, every field checked by `Thresholds` (one error per field)."""
    kept = {name: value for name, value in raw.items() if value is not None}
    errors = []
    for name, value in kept.items():
        try:
            Thresholds.from_dict({name: value})
        except ValueError as exc:
            errors.append({"field": name, "message": str(exc)})
    if errors:
        raise Invalid("; ".join(f"{e['field']}: {e['message']}" for e in errors), extra={"errors": errors})
    checked = Thresholds.from_dict(kept)  # normalised types (an integer field stays an integer)
    return {name: getattr(checked, name) for name in kept}


def _settings_with(settings: dict[str, Any] | None, layer: dict[str, Any]) -> dict[str, Any]:
    """A new settings dict (assigned, so the JSON column is written) with the layer set or removed."""
    out = {k: v for k, v in (settings or {}).items() if k != THRESHOLDS_KEY}
    if layer:
        out[THRESHOLDS_KEY] = layer
    return out


def organisation_view(org_settings: dict[str, Any] | None) -> dict[str, Any]:
    return {"defaults": Thresholds().to_dict(), "organisation": overrides_of(org_settings),
            "effective": thresholds_for(org_settings, None, "the organisation").to_dict()}


def senior_view(senior: Senior, org_settings: dict[str, Any] | None) -> dict[str, Any]:
    return {"senior_id": senior.id, "defaults": Thresholds().to_dict(), "organisation": overrides_of(org_settings),
            "senior": overrides_of(senior.settings),
            "effective": thresholds_for(org_settings, senior.settings, f"senior {senior.id}").to_dict()}


async def get_organisation_thresholds(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    org = await get_organisation(session, principal)
    return organisation_view(org.settings)


async def set_organisation_thresholds(session: AsyncSession, bus: Bus, principal: Principal,
                                      overrides: dict[str, Any], ip: str | None) -> dict[str, Any]:
    """Replace the organisation's layer (admins; the route checks the role)."""
    layer = validate_overrides(overrides)
    org = await get_organisation(session, principal, for_update=True)
    before = overrides_of(org.settings)
    org.settings = _settings_with(org.settings, layer)
    record(session, action="detection.thresholds_changed", entity="organisation", entity_id=org.id, org_id=org.id,
           actor_id=principal.user_id, ip=ip, before=before, after=layer)
    view, org_id = organisation_view(org.settings), org.id
    await session.commit()
    await publish_change(bus, org_id, None)
    return view


async def get_senior_thresholds(session: AsyncSession, principal: Principal, senior_id: uuid.UUID) -> dict[str, Any]:
    senior = await get_visible_senior(session, principal, senior_id)  # only ever the caller's organisation
    org = await get_organisation(session, principal)
    return senior_view(senior, org.settings)


async def set_senior_thresholds(session: AsyncSession, bus: Bus, principal: Principal, senior_id: uuid.UUID,
                                overrides: dict[str, Any], ip: str | None) -> dict[str, Any]:
    """Replace one senior's layer (admins of the senior's organisation; another organisation's senior is 404)."""
    senior = await get_visible_senior(session, principal, senior_id, for_update=True)
    layer = validate_overrides(overrides)
    org = await get_organisation(session, principal)
    before = overrides_of(senior.settings)
    senior.settings = _settings_with(senior.settings, layer)
    record(session, action="detection.thresholds_changed", entity="senior", entity_id=senior.id,
           org_id=senior.org_id, actor_id=principal.user_id, ip=ip, before=before, after=layer)
    view, org_id = senior_view(senior, org.settings), senior.org_id
    await session.commit()
    await publish_change(bus, org_id, senior_id)
    return view


async def publish_change(bus: Bus, org_id: uuid.UUID, senior_id: uuid.UUID | None) -> None:
    """Tell the detectors (and open dashboards) after the commit; the shape of alerts.lifecycle's events."""
    await bus.publish_event(THRESHOLDS_CHANGED, org_id, senior_id,
                            {"scope": "senior" if senior_id else "organisation"})
