"""Recording and reading the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.audit.models import AuditEntry


def record(
    session: AsyncSession, *, action: str, entity: str, entity_id: object | None = None,
    org_id: uuid.UUID | None = None, actor_id: uuid.UUID | None = None, ip: str | None = None,
    **details: Any,
) -> None:
    """Add an audit entry to the caller's transaction (it commits with the change it records)."""
    session.add(AuditEntry(
        org_id=org_id, actor_id=actor_id, action=action, entity=entity,
        entity_id=str(entity_id) if entity_id is not None else None,
        details={k: (str(v) if isinstance(v, uuid.UUID | datetime) else v) for k, v in details.items()},
        ip=ip,
    ))


async def list_entries(
    session: AsyncSession, org_id: uuid.UUID, *, before_id: int | None, limit: int,
    action: str | None = None, entity: str | None = None,
) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.org_id == org_id)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    result = await session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit))
    return list(result)
