"""The robot dispatcher: delivers commands over MQTT with ack/timeout/retry, takes acks and status reports,
watches robot health, and runs the safety-check flow on danger alerts from the bus.

One process (`seniorsafe robots`) or a task in the api; several may run: due commands are claimed with
`FOR UPDATE SKIP LOCKED`, and MQTT acks/status arrive through a shared subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select

from seniorsafe.alerts.lifecycle import Decision, apply_decision, open_alert_for
from seniorsafe.deps import AppState
from seniorsafe.homes.models import Robot
from seniorsafe.robots import safety, service
from seniorsafe.robots.models import CommandState, RobotCommand, RobotStatus
from seniorsafe.robots.protocol import Ack, Status, topic

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class RobotDispatcher:
    def __init__(self, state: AppState, *, group: str = "robots", tick: float = 0.25) -> None:
        self.state = state
        self.settings = state.settings
        self.group = group
        self.tick = tick
        self.wake = asyncio.Event()
        self.client: Any = None
        self.ready = asyncio.Event()

    # ------------------------------------------------------------ run

    async def run(self, stop: asyncio.Event) -> None:
        import aiomqtt

        s = self.settings
        async with aiomqtt.Client(s.mqtt_host, s.mqtt_port, username=s.mqtt_username, password=s.mqtt_password,
                                  identifier=f"robots-{uuid.uuid4().hex[:8]}", protocol=aiomqtt.ProtocolVersion.V5,
                                  logger=logging.getLogger("robots.mqtt")) as client:
            self.client = client
            root = s.mqtt_topic_root
            for channel in ("acks", "status"):
                await client.subscribe(f"$share/{self.group}/{root}/hubs/+/robot/{channel}", qos=1)
            tasks = [asyncio.create_task(self._receive(client)), asyncio.create_task(self._deliver_loop(stop)),
                     asyncio.create_task(self._bus_loop()), asyncio.create_task(self._health_loop(stop))]
            self.ready.set()
            try:
                await stop.wait()
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    async def _receive(self, client: Any) -> None:
        async for message in client.messages:
            try:
                await self.handle(str(message.topic), bytes(message.payload))
            except Exception:
                log.exception("robot message on %s could not be handled", message.topic)

    async def handle(self, topic_name: str, payload: bytes) -> None:
        parts = topic_name.split("/")
        hub_id, channel = parts[-3], parts[-1]
        if channel == "acks":
            await self.on_ack(hub_id, Ack.model_validate_json(payload))
        elif channel == "status":
            await self.on_status(hub_id, Status.model_validate_json(payload))

    # ------------------------------------------------------------ delivery with retries

    async def _deliver_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.deliver_due()
            except Exception:
                log.exception("delivering robot commands failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.tick)
            self.wake.clear()

    async def deliver_due(self) -> int:
        now = _now()
        finished: list[RobotCommand] = []
        sends: list[tuple[str, bytes]] = []
        async with self.state.db.sessions() as session:
            due = list(await session.scalars(
                select(RobotCommand).where(RobotCommand.finished_at.is_(None), RobotCommand.next_send_at <= now)
                .order_by(RobotCommand.created_at).limit(100).with_for_update(skip_locked=True)))
            for command in due:
                action = service.check_due(command, now)
                if action == "send":
                    service.mark_sent(command, now)
                    sends.append((topic(self.settings.mqtt_topic_root, command.hub_id, "commands"),
                                  service.wire_command(command)))
                elif action == "timeout":
                    service.finish(command, CommandState.timed_out, now,
                                   "no acknowledgement" if command.acked_at is None else "no result in time")
                    finished.append(command)
            await session.commit()
        for name, body in sends:
            await self.client.publish(name, body, qos=1)
        for command in finished:
            await self._finished(command)
        return len(sends)

    async def on_ack(self, hub_id: str, ack: Ack) -> None:
        try:
            command_id = uuid.UUID(ack.id)
        except ValueError:
            return
        async with self.state.db.sessions() as session:
            command = await session.get(RobotCommand, command_id, with_for_update=True)
            if command is None or command.hub_id != hub_id or command.robot_id != ack.robot_id:
                return  # not ours, or a hub answering for another hub's robot
            before = command.progress.get("stage")
            if ack.state in ("succeeded", "failed", "rejected"):
                ack.result = await service.store_snapshot(self.state.storage, command, dict(ack.result))
            done = service.apply_ack(command, ack, _now())
            await session.commit()
        await self._publish_command(command)
        if done:
            await self._finished(command)
        elif command.progress.get("stage") != before:
            await safety.record_progress(self.state, command)

    async def _finished(self, command: RobotCommand) -> None:
        await self._publish_command(command)
        await safety.on_command_finished(self.state, command)

    async def _publish_command(self, command: RobotCommand) -> None:
        await self.state.bus.publish_event("robot.command_updated", command.org_id, command.senior_id,
                                           command_payload(command))

    # ------------------------------------------------------------ status and health

    async def on_status(self, hub_id: str, status: Status) -> None:
        async with self.state.db.sessions() as session:
            robot = await session.get(Robot, status.robot_id)
            if robot is None or robot.hub_id != hub_id:
                return
            await service.save_status(session, status, _now())
            senior_id = await service.senior_of_robot(session, robot)
            await session.commit()
        payload = service.status_payload(status, robot)
        await self.state.bus.redis.hset(self.state.bus.key("robot", "status"), robot.id, orjson.dumps(payload))
        await self.state.bus.publish_event("robot.status", robot.org_id, senior_id, payload)
        await self._device_alert(robot, senior_id, "robot_offline", False, "the robot reports again")
        low = status.battery <= self.settings.robot_low_battery_percent
        if low or status.battery >= self.settings.robot_low_battery_percent + 10:
            await self._device_alert(robot, senior_id, "robot_low_battery", low,
                                     f"robot battery at {status.battery}%")

    async def _device_alert(self, robot: Robot, senior_id: uuid.UUID, kind: str, active: bool, text: str) -> None:
        async with self.state.db.sessions() as session:
            is_open = await open_alert_for(session, senior_id, kind) is not None
            if is_open == active:
                return
            decision = Decision(action="open" if active else "close", kind=kind, severity="caution", room=None,
                                evidence=text, at=time.time(), details={"robot_id": robot.id})
            await apply_decision(session, self.state.bus, org_id=robot.org_id, senior_id=senior_id,
                                 home_id=robot.home_id, decision=decision, source="device")

    async def _health_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.check_offline()
            except Exception:
                log.exception("robot health check failed")
            await asyncio.sleep(max(1.0, self.settings.robot_offline_seconds / 6))

    async def check_offline(self) -> None:
        limit = _now() - timedelta(seconds=self.settings.robot_offline_seconds)
        async with self.state.db.sessions() as session:
            rows = (await session.execute(select(Robot, RobotStatus.last_seen_at).join(
                RobotStatus, RobotStatus.robot_id == Robot.id).where(RobotStatus.last_seen_at < limit))).all()
            pairs = [(robot, await service.senior_of_robot(session, robot), seen) for robot, seen in rows]
        for robot, senior_id, seen in pairs:
            await self._device_alert(robot, senior_id, "robot_offline", True,
                                     f"no report from the robot since {seen:%H:%M}")

    # ------------------------------------------------------------ bus: wake-ups and danger alerts

    async def _bus_loop(self) -> None:
        bus = self.state.bus
        pubsub = bus.redis.pubsub()
        await pubsub.subscribe(bus.key("pub", service.COMMANDS_CHANNEL))
        await pubsub.psubscribe(bus.key("pub", "org:*"))
        try:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    self.wake.set()
                elif message.get("type") == "pmessage":
                    await self._on_org_event(message["data"])
        finally:
            await pubsub.aclose()

    async def _on_org_event(self, raw: bytes) -> None:
        try:
            body = orjson.loads(raw)
            if body.get("event") in ("alert.opened", "alert.escalated"):
                await safety.on_bus_event(self.state, body)
        except Exception:
            log.exception("safety-check dispatch failed")


def command_payload(command: RobotCommand) -> dict[str, Any]:
    return {"id": str(command.id), "robot_id": command.robot_id, "type": command.type, "args": command.args,
            "state": command.state, "attempts": command.attempts, "source": command.source,
            "alert_id": str(command.alert_id) if command.alert_id else None, "progress": command.progress,
            "result": command.result, "error": command.error,
            "created_at": command.created_at.isoformat() if command.created_at else None,
            "finished_at": command.finished_at.isoformat() if command.finished_at else None}


async def run_dispatcher(state: AppState, stop: asyncio.Event) -> None:
    await RobotDispatcher(state).run(stop)
