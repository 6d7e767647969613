"""REST for robots: remote control (commands with their delivery state) and status."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from seniorsafe.deps import AdminUser, CurrentUser, Session, StaffUser, State, client_ip
from seniorsafe.homes.api import DeviceId
from seniorsafe.robots import preferences, service
from seniorsafe.robots.preferences import RobotSettings
from seniorsafe.robots.protocol import CommandType

router = APIRouter(prefix="/api/v1", tags=["robots"])


class CommandIn(BaseModel):
    type: CommandType
    args: dict[str, Any] = Field(default_factory=dict, description="go_to: {room}; safety_check: {room?, "
                                 "wait_seconds?}; speak: {text}; others: {}")
    alert_id: uuid.UUID | None = Field(None, description="the incident this command belongs to (timeline)")


class CommandOut(BaseModel):
    id: uuid.UUID
    robot_id: str
    type: str
    args: dict[str, Any]
    state: str
    attempts: int
    source: str
    alert_id: uuid.UUID | None
    progress: dict[str, Any]
    result: dict[str, Any]
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    model_config = {"from_attributes": True}


class StatusOut(BaseModel):
    robot_id: str
    state: str
    battery: int | None
    room: str | None
    reported_at: datetime
    last_seen_at: datetime

    model_config = {"from_attributes": True}


@router.post("/robots/{robot_id}/commands", response_model=CommandOut, status_code=202,
             summary="Send a command to a robot (staff); delivered over MQTT with acknowledgement and retries")
async def send_command(robot_id: DeviceId, body: CommandIn, principal: StaffUser, request: Request,
                       session: Session, state: State) -> CommandOut:
    command = await service.request_command(session, state.bus, principal, robot_id, body.type.value, body.args,
                                            client_ip(request), state.settings, body.alert_id)
    return CommandOut.model_validate(command)


@router.get("/robots/{robot_id}/commands", response_model=list[CommandOut], summary="A robot's recent commands")
async def list_commands(robot_id: DeviceId, principal: CurrentUser, session: Session) -> list[CommandOut]:
    return [CommandOut.model_validate(c) for c in await service.list_commands(session, principal, robot_id)]


@router.get("/robots/{robot_id}/status", response_model=StatusOut | None,
            summary="The robot's last status report (state, battery, room); null before the first report")
async def get_status(robot_id: DeviceId, principal: CurrentUser, session: Session) -> StatusOut | None:
    status = await service.get_status(session, principal, robot_id)
    return StatusOut.model_validate(status) if status else None


class CheckCount(BaseModel):
    source: str = Field(description="auto (danger alert) | early_check (caution alert) | staff")
    outcome: str = Field(description="responded | no_response | not_found | failed | timed_out")
    count: int


class CheckStats(BaseModel):
    days: int
    checks: list[CheckCount]
    early_checks: int = Field(description="early checks that reported back")
    early_answered: int = Field(description="of those, how many the resident answered (each other one paged danger)")


@router.get("/organisation/robot-checks", response_model=CheckStats,
            summary="The organisation's robot safety checks of the last days by source and outcome (admins)")
async def get_check_stats(principal: AdminUser, session: Session,
                          days: int = Query(7, ge=1, le=90, description="how many days back")) -> dict[str, Any]:
    return await service.check_stats(session, principal, days)


@router.get("/organisation/robot-settings", response_model=RobotSettings,
            summary="The organisation's robot safety-check preferences (staff)")
async def get_robot_settings(principal: StaffUser, session: Session) -> dict[str, bool]:
    return await preferences.get_robot_settings(session, principal)


@router.put("/organisation/robot-settings", response_model=RobotSettings,
            summary="Change the robot safety-check preferences (admins); the next alert follows them")
async def put_robot_settings(body: RobotSettings, principal: AdminUser, request: Request, session: Session,
                             state: State) -> dict[str, bool]:
    return await preferences.set_robot_settings(session, state.bus, principal, body, client_ip(request))
