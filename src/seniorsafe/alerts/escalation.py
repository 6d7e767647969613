"""Escalation: an alert nobody acknowledges notifies the next level, then reminds everyone, until acknowledged.

Policy per organisation in organisations.settings["escalation"] (schemas.EscalationPolicy; defaults when
absent). Level 1 (the senior's assigned staff by default) is notified as soon as the worker sees the alert;
after `danger_minutes`/`caution_minutes` without acknowledgement the next level is notified, and so on;
after the last level, every level is reminded each `repeat_minutes`. `alert.escalation_level` is the last
level notified; each round is a timeline entry "notified ..." and a bus event. Staff paged at the
"all_staff" level receive an incident-responder grant on the alert (alerts/access.py): they may open and
handle it although the senior is not assigned to them.

`tick(state, now)` takes the clock as an argument (tests drive it). `WorkflowWorker` runs the ticks (with
device-health reconciliation and notification delivery) in one api replica at a time (a Redis lock), or in
its own process: `seniorsafe workflow`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.models import Organisation
from seniorsafe.alerts.access import GRANTING_LEVELS, grant_on_duty_staff
from seniorsafe.alerts.lifecycle import add_timeline
from seniorsafe.alerts.models import Alert, Severity
from seniorsafe.alerts.schemas import EscalationLevel, EscalationPolicy
from seniorsafe.alerts.workflow import publish
from seniorsafe.config import Settings
from seniorsafe.deps import AppState

log = logging.getLogger(__name__)

BATCH = 100
DISABLED_RECHECK = timedelta(hours=24)


async def get_policy(session: AsyncSession, org_id: uuid.UUID) -> EscalationPolicy:
    settings = await session.scalar(select(Organisation.settings).where(Organisation.id == org_id))
    return EscalationPolicy.model_validate((settings or {}).get("escalation") or {})


async def set_policy(session: AsyncSession, org_id: uuid.UUID, policy: EscalationPolicy) -> EscalationPolicy:
    org = await session.get(Organisation, org_id, with_for_update=True)
    if org is None:
        raise LookupError(org_id)
    org.settings = {**(org.settings or {}), "escalation": policy.model_dump(mode="json")}
    await session.commit()
    return policy


def levels_for(alert: Alert, policy: EscalationPolicy) -> list[EscalationLevel]:
    """Device problems go to staff and admins, never to families."""
    if alert.category == "device":
        return [lv for lv in policy.levels if lv != "guardians"] or ["admins"]
    return list(policy.levels)


def timeout_for(alert: Alert, policy: EscalationPolicy) -> timedelta:
    minutes = policy.danger_minutes if alert.severity is Severity.danger else policy.caution_minutes
    return timedelta(minutes=minutes)


async def _escalate_one(state: AppState, session: AsyncSession, alert: Alert, policy: EscalationPolicy,
                        now: datetime) -> tuple[str, dict[str, Any]]:
    from seniorsafe.notifications.service import enqueue_alert

    levels = levels_for(alert, policy)
    level = alert.escalation_level
    notified: list[str] = []
    if level < len(levels):
        purpose = "alert" if level == 0 else "escalation"
        while level < len(levels) and not notified:  # an empty level (e.g. no guardians) passes to the next
            notified = await enqueue_alert(session, state.settings, alert, [str(levels[level])], purpose, now)
            level += 1
        names = [levels[i] for i in range(alert.escalation_level, level)]
    else:
        purpose, names = "reminder", levels
        notified = await enqueue_alert(session, state.settings, alert, [str(lv) for lv in levels], purpose, now)
    for granting in GRANTING_LEVELS.intersection(names):  # paged staff may open and handle this incident
        await grant_on_duty_staff(session, alert, granting, now)
    alert.escalation_level = level
    wait = timedelta(minutes=policy.repeat_minutes) if purpose == "reminder" else timeout_for(alert, policy)
    alert.next_escalation_at = now + (wait if policy.enabled else DISABLED_RECHECK)
    text = (f"notified {', '.join(notified)}" if notified else "nobody could be notified") + \
        f" (level {level}: {', '.join(names)}{'; reminder' if purpose == 'reminder' else ''})"
    add_timeline(session, alert, "notified", text, at=now, level=level, levels=list(names), purpose=purpose,
                 recipients=notified)
    event = "alert.updated" if purpose == "alert" else "alert.escalated"
    return event, {"escalation": {"level": level, "purpose": purpose, "levels": list(names), "notified": notified,
                                  "next_at": alert.next_escalation_at.isoformat()}}


async def tick(state: AppState, now: datetime | None = None) -> int:
    """Notify every unacknowledged open alert that is due; returns how many alerts were handled."""
    now = now or datetime.now(UTC)
    total = 0
    while True:
        handled, seen = await _tick_batch(state, now)
        total += handled
        if seen < BATCH:
            return total


async def _tick_batch(state: AppState, now: datetime) -> tuple[int, int]:
    published: list[tuple[Alert, str, dict[str, Any]]] = []
    async with state.db.sessions() as session:
        due = list(await session.scalars(
            select(Alert).where(Alert.closed_at.is_(None), Alert.acknowledged_at.is_(None),
                                or_(Alert.next_escalation_at.is_(None), Alert.next_escalation_at <= now))
            .order_by(Alert.opened_at).limit(BATCH).with_for_update(skip_locked=True)))
        policies: dict[uuid.UUID, EscalationPolicy] = {}
        for alert in due:
            if alert.org_id not in policies:
                policies[alert.org_id] = await get_policy(session, alert.org_id)
            if alert.escalation_level > 0 and not policies[alert.org_id].enabled:
                alert.next_escalation_at = now + DISABLED_RECHECK
                continue
            event, extra = await _escalate_one(state, session, alert, policies[alert.org_id], now)
            published.append((alert, event, extra))
        await session.commit()
    for alert, event, extra in published:
        await publish(state.bus, alert, event, **extra)
    return len(published), len(due)


# ---------------------------------------------------------------- the worker

RENEW_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""


class WorkflowWorker:
    """Escalation ticks, device-health reconciliation and notification delivery, in one replica at a time."""

    RECONCILE_EVERY = 30.0

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.token = uuid.uuid4().hex
        self.lock_key = state.bus.key("lock", "workflow")
        self._renew = state.bus.redis.register_script(RENEW_LOCK)
        self._task: asyncio.Task[None] | None = None
        self._last_reconcile = 0.0

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="workflow-worker")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            if await self.state.bus.redis.get(self.lock_key) == self.token.encode():
                await self.state.bus.redis.delete(self.lock_key)

    async def is_leader(self) -> bool:
        ttl_ms = int(max(self.state.settings.workflow_tick_seconds * 5, 10) * 1000)
        return bool(await self._renew(keys=[self.lock_key], args=[self.token, ttl_ms]))

    async def run(self) -> None:
        while True:
            try:
                if await self.is_leader():
                    await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("workflow tick failed")
            await asyncio.sleep(self.state.settings.workflow_tick_seconds)

    async def run_once(self, now: datetime | None = None) -> None:
        from seniorsafe.alerts.device_health import reconcile
        from seniorsafe.notifications.worker import dispatch_due

        loop_time = asyncio.get_running_loop().time()
        if loop_time - self._last_reconcile >= self.RECONCILE_EVERY:
            self._last_reconcile = loop_time
            await reconcile(self.state)
        await tick(self.state, now)
        await closing_sweep_once(self.state, now)
        await dispatch_due(self.state, now)


async def closing_sweep_once(state: AppState, now: datetime | None = None) -> int:
    from seniorsafe.notifications.service import closing_sweep

    async with state.db.sessions() as session:
        count = await closing_sweep(session, now or datetime.now(UTC))
        await session.commit()
    return count


async def run_worker_forever(settings: Settings) -> None:
    """`seniorsafe workflow`: the worker as its own process (it takes the same lock as api replicas)."""
    from seniorsafe.app import build_state

    state = build_state(settings)
    worker = WorkflowWorker(state)
    try:
        await worker.run()
    finally:
        await worker.stop()
        await state.bus.close()
        await state.db.dispose()
