"""The robot protocol, version 1 (documented in docs/protocols.md, "Robot protocol").

Topics (QoS 1), relayed unchanged by the hub agent between the backend broker and the robot:
- `{root}/hubs/{hub_id}/robot/commands`  backend → robot: Command
- `{root}/hubs/{hub_id}/robot/acks`      robot → backend: Ack (accepted / rejected / progress / succeeded / failed)
- `{root}/hubs/{hub_id}/robot/status`    robot → backend: Status (periodic, and on every state change)
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

VERSION = 1


class CommandType(enum.StrEnum):
    go_to = "go_to"  # args: {room}
    safety_check = "safety_check"  # args: {room, message?, wait_seconds?, discreet?}
    speak = "speak"  # args: {text}
    return_to_dock = "return_to_dock"
    start_video = "start_video"
    stop_video = "stop_video"
    stop = "stop"  # emergency stop: abandon whatever is running


class RobotState(enum.StrEnum):
    docked = "docked"
    charging = "charging"
    moving = "moving"
    checking = "checking"
    streaming = "streaming"
    error = "error"


class CheckOutcome(enum.StrEnum):
    responded = "responded"  # the resident answered (voice or touchscreen): safe
    no_response = "no_response"  # found, did not answer: emergency
    not_found = "not_found"  # could not reach or find the person: check failed


# How long the robot may take once it accepted (seconds), per command type.
RUN_TIMEOUTS: dict[str, float] = {"go_to": 90, "safety_check": 180, "speak": 30, "return_to_dock": 120,
                                  "start_video": 15, "stop_video": 15, "stop": 10}


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def topic(root: str, hub_id: str, channel: str) -> str:
    return f"{root}/hubs/{hub_id}/robot/{channel}"


class Command(BaseModel):
    v: int = VERSION
    id: str
    robot_id: str
    type: CommandType
    args: dict[str, Any] = Field(default_factory=dict)
    attempt: int = 1
    issued_at: str = Field(default_factory=now_rfc3339)
    expires_at: str | None = None


class Ack(BaseModel):
    v: int = VERSION
    id: str
    robot_id: str
    state: Literal["accepted", "rejected", "progress", "succeeded", "failed"]
    ts: str = Field(default_factory=now_rfc3339)
    progress: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


class Status(BaseModel):
    v: int = VERSION
    robot_id: str
    state: RobotState
    battery: int = Field(ge=0, le=100)
    room: str | None = None
    command_id: str | None = None
    ts: str = Field(default_factory=now_rfc3339)
