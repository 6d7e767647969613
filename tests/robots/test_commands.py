"""Robot commands over real Mosquitto: ids, acknowledgement, retries, timeouts, permissions, status health."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from seniorsafe.alerts.models import Alert
from seniorsafe.audit.models import AuditEntry
from seniorsafe.deps import AppState
from seniorsafe.robots.models import RobotCommand
from tests.robots.helpers import RobotHome, wait_for


async def _command(state: AppState, command_id: str, *states: str) -> RobotCommand | None:
    async with state.db.sessions() as session:
        command = await session.get(RobotCommand, uuid.UUID(command_id))
    return command if command is not None and command.state in states else None


async def test_lost_delivery_is_retried_then_acknowledged(client: httpx.AsyncClient, home: RobotHome,
                                                          dispatcher: Any, start_sim: Any, state: AppState) -> None:
    sim = await start_sim("fine", ignore_deliveries=1)  # the first delivery is lost
    r = await client.post(f"/api/v1/robots/{home.robot_id}/commands", headers=home.org.h(home.org.staff1),
                          json={"type": "go_to", "args": {"room": "kitchen"}})
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "pending"
    command = await wait_for(lambda: _command(state, r.json()["id"], "succeeded"), 15)
    assert command.attempts == 2 and command.acked_at is not None
    assert command.result == {"room": "kitchen"} and sim.world.room == "kitchen"
    assert sim.handled == ["go_to"]  # executed once
    async with state.db.sessions() as session:
        audited = await session.scalar(select(AuditEntry).where(AuditEntry.action == "robot.command",
                                                                AuditEntry.entity_id == home.robot_id))
    assert audited is not None and audited.actor_id == uuid.UUID(home.org.staff1["id"])
    listed = await client.get(f"/api/v1/robots/{home.robot_id}/commands", headers=home.org.h(home.org.staff1))
    assert listed.json()[0]["id"] == r.json()["id"]


async def test_unacknowledged_command_times_out_after_retries(client: httpx.AsyncClient, home: RobotHome,
                                                              dispatcher: Any, state: AppState) -> None:
    r = await client.post(f"/api/v1/robots/{home.robot_id}/commands", headers=home.org.h(home.org.admin),
                          json={"type": "return_to_dock"})
    assert r.status_code == 202, r.text
    command = await wait_for(lambda: _command(state, r.json()["id"], "timed_out"), 15)
    assert command.attempts == 3 and command.error == "no acknowledgement"


async def test_permissions(client: httpx.AsyncClient, home: RobotHome) -> None:
    org = home.org
    body = {"type": "stop"}
    assert (await client.post(f"/api/v1/robots/{home.robot_id}/commands", headers=org.h(org.guardian),
                              json=body)).status_code == 403
    assert (await client.post(f"/api/v1/robots/{home.robot_id}/commands", headers=org.h(org.staff2),
                              json=body)).status_code == 404
    bad = await client.post(f"/api/v1/robots/{home.robot_id}/commands", headers=org.h(org.staff1),
                            json={"type": "go_to", "args": {}})
    assert bad.status_code == 422


async def test_status_and_low_battery(client: httpx.AsyncClient, home: RobotHome, dispatcher: Any,
                                      start_sim: Any, state: AppState) -> None:
    sim = await start_sim("fine")
    sim.world.battery = 12
    await sim.report()

    async def low_alert() -> Alert | None:
        async with state.db.sessions() as session:
            return await session.scalar(select(Alert).where(Alert.senior_id == uuid.UUID(home.senior_id),
                                                            Alert.kind == "robot_low_battery",
                                                            Alert.closed_at.is_(None)))

    alert = await wait_for(low_alert, 10)
    assert alert.category == "device"
    r = await client.get(f"/api/v1/robots/{home.robot_id}/status", headers=home.org.h(home.org.staff1))
    assert r.status_code == 200 and r.json()["battery"] <= 20 and r.json()["state"] == "docked"
    sim.world.battery = 80
    await sim.report()
    await wait_for(lambda: _none(low_alert), 10)


async def _none(fn: Any) -> bool:
    return await fn() is None
