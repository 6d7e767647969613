"""Bus → Socket.IO: every api process subscribes to the bus and emits to its own local sockets only.

Each socket lives in exactly one process, so N processes deliver every message exactly once, with no
leader election and no extra Redis hop (the Socket.IO Redis manager is used for emits that target a socket
of another process, e.g. signaling). Channels (all under `{prefix}pub:`):

- `org:{org_id}`: {"event", "org_id", "senior_id", "data"} from alerts.lifecycle, the workflow, robots;
- `org:{org_id}:device_health`: telemetry's device-health items → `device.health` (and device alerts);
- `senior:{senior_id}:activity`: telemetry's live sensor events → `sensor.activity` to watchers.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select

from seniorsafe.deps import AppState
from seniorsafe.homes.models import Home
from seniorsafe.realtime import rooms

if TYPE_CHECKING:
    from seniorsafe.realtime.server import Gateway

log = logging.getLogger(__name__)

HOME_CACHE_SECONDS = 300.0


class Bridge:
    def __init__(self, gateway: Gateway, state: AppState) -> None:
        self.gateway = gateway
        self.state = state
        self.base = state.bus.key("pub", "")
        self.ready = asyncio.Event()
        self._homes: dict[str, tuple[str | None, float]] = {}
        self.delivered = 0

    async def run(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bus bridge lost its subscription; reconnecting")
                await asyncio.sleep(1.0)

    async def _listen(self) -> None:
        pubsub = self.state.bus.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.psubscribe(self.base + "org:*", self.base + "senior:*")
            self.ready.set()
            async for message in pubsub.listen():
                if message.get("type") == "pmessage":
                    await self._dispatch(message["channel"].decode()[len(self.base):], message["data"])
        finally:
            await pubsub.aclose()

    async def _dispatch(self, channel: str, raw: bytes) -> None:
        try:
            parts = channel.split(":")
            if parts[0] == "senior" and len(parts) == 3 and parts[2] == "activity":
                await self._activity(parts[1], raw)
            elif parts[0] == "org" and len(parts) == 2:
                await self._org_event(orjson.loads(raw))
            elif parts[0] == "org" and len(parts) == 3 and parts[2] == "device_health":
                await self._device_health(orjson.loads(raw))
        except Exception:
            log.exception("bus message on %s could not be routed", channel)

    async def _activity(self, senior_id: str, raw: bytes) -> None:
        room = rooms.watch_room(senior_id)
        if not self.gateway.has_local_members(room):
            return
        data = orjson.loads(raw)
        await self.gateway.emit_local("sensor.activity", {"event": "sensor.activity", "senior_id": senior_id,
                                                          "data": data}, room)
        self.delivered += 1

    async def _org_event(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if not isinstance(event, str) or "org_id" not in message:
            return
        await self.gateway.emit_local(event, message, rooms.event_rooms(message["org_id"], message.get("senior_id")))
        self.delivered += 1

    async def _device_health(self, item: dict[str, Any]) -> None:
        senior_id = await self._senior_of_home(item.get("home_id"))
        message = {"event": "device.health", "org_id": item.get("org_id"), "senior_id": senior_id, "data": item}
        await self.gateway.emit_local("device.health", message, rooms.event_rooms(item.get("org_id"), senior_id))
        from seniorsafe.alerts.device_health import handle_health_item

        await handle_health_item(self.state, item, senior_id)

    async def _senior_of_home(self, home_id: Any) -> str | None:
        if not home_id:
            return None
        key = str(home_id)
        hit = self._homes.get(key)
        if hit and hit[1] > time.monotonic():
            return hit[0]
        async with self.state.db.sessions() as session:
            senior = await session.scalar(select(Home.senior_id).where(Home.id == uuid.UUID(key)))
        value = str(senior) if senior else None
        self._homes[key] = (value, time.monotonic() + HOME_CACHE_SECONDS)
        return value
