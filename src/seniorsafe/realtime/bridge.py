"""Bus → Socket.IO: every api process subscribes to the bus and emits to its own local sockets only.

Each socket lives in exactly one process, so N processes deliver every message exactly once, with no
leader election and no extra Redis hop (the Socket.IO Redis manager is used for emits that target a socket
of another process, e.g. signaling). Channels (all under `{prefix}pub:`):

- `org:{org_id}`: {"event", "org_id", "senior_id", "data"} from alerts.lifecycle, the workflow, robots;
- `org:{org_id}:device_health`: telemetry's device-health items → `device.health` (and device alerts);
- `senior:{senior_id}:activity`: telemetry's live sensor events → `sensor.activity` to watchers.

The hot path never waits for the database: messages are read in batches (`subscriber.PatternSubscriber`),
each is encoded once per audience (staff / guardians) and queued to the recipients' sockets; sensor activity
is spliced into the packet without being parsed. Device-health items need a database look-up (the home's
senior) and may open device alerts, so they go to a queue of their own, served by a separate task.
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
from seniorsafe.realtime.subscriber import PatternSubscriber

if TYPE_CHECKING:
    from seniorsafe.realtime.server import Gateway

log = logging.getLogger(__name__)

HOME_CACHE_SECONDS = 300.0
HEALTH_QUEUE_MAX = 10_000


class Bridge:
    def __init__(self, gateway: Gateway, state: AppState) -> None:
        self.gateway = gateway
        self.state = state
        self.base = state.bus.key("pub", "")
        self.ready = asyncio.Event()
        self._homes: dict[str, tuple[str | None, float]] = {}
        self._health: asyncio.Queue[dict[str, Any]] = asyncio.Queue(HEALTH_QUEUE_MAX)
        self.delivered = 0

    async def run(self) -> None:
        health = asyncio.create_task(self._serve_health(), name="realtime-device-health")
        try:
            while True:
                try:
                    await self._listen()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("bus bridge lost its subscription; reconnecting")
                    await asyncio.sleep(1.0)
        finally:
            health.cancel()

    async def _listen(self) -> None:
        subscriber = PatternSubscriber(self.state.settings.redis_url, [self.base + "org:*", self.base + "senior:*"])
        waiter = asyncio.create_task(self._mark_ready(subscriber))
        skip = len(self.base)
        try:
            async for batch in subscriber.batches():
                for channel, raw in batch:
                    self._dispatch(channel[skip:].decode(), raw)
                await asyncio.sleep(0)  # let the sockets' writers run between batches
        finally:
            waiter.cancel()

    async def _mark_ready(self, subscriber: PatternSubscriber) -> None:
        await subscriber.subscribed.wait()
        self.ready.set()

    def _dispatch(self, channel: str, raw: bytes) -> None:
        try:
            parts = channel.split(":")
            if parts[0] == "senior" and len(parts) == 3 and parts[2] == "activity":
                self._activity(parts[1], raw)
            elif parts[0] == "org" and len(parts) == 2:
                self._org_event(orjson.loads(raw))
            elif parts[0] == "org" and len(parts) == 3 and parts[2] == "device_health":
                self._health.put_nowait(orjson.loads(raw))
        except asyncio.QueueFull:
            log.error("device-health queue full; item on %s dropped (the reconciler catches up)", channel)
        except Exception:
            log.exception("bus message on %s could not be routed", channel)

    def _activity(self, senior_id: str, raw: bytes) -> None:
        room = rooms.watch_room(senior_id)
        if not self.gateway.has_local_members(room) or not (raw.startswith(b"{") and raw.endswith(b"}")):
            return
        # {"event": "sensor.activity", "senior_id", "data": <the bus message as published>}, never re-encoded.
        packet = (b'2["sensor.activity",{"event":"sensor.activity","senior_id":' + orjson.dumps(senior_id)
                  + b',"data":' + raw + b"}]").decode()
        self.gateway.send_packet(packet, room)
        self.delivered += 1

    def _org_event(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if not isinstance(event, str) or "org_id" not in message:
            return
        self._to_audiences(event, message, message["org_id"], message.get("senior_id"),
                           rooms.alert_id_of(message))
        self.delivered += 1

    def _to_audiences(self, event: str, message: dict[str, Any], org_id: Any, senior_id: Any,
                      alert_id: str | None = None) -> None:
        """Staff (admins, assigned staff, paged responders) get the message; guardians their version of it."""
        self.gateway.emit_local_nowait(event, message, rooms.staff_rooms(org_id, senior_id, alert_id))
        if not senior_id:
            return
        family = rooms.family_room(senior_id)
        if self.gateway.has_local_members(family):
            redacted = rooms.for_family(message)
            if redacted is not None:
                self.gateway.emit_local_nowait(event, redacted, family)

    # ------------------------------------------------------------ device health (off the hot path)

    async def _serve_health(self) -> None:
        while True:
            item = await self._health.get()
            try:
                await self._device_health(item)
            except Exception:
                log.exception("device-health item %s could not be handled", item.get("id"))

    async def _device_health(self, item: dict[str, Any]) -> None:
        senior_id = await self._senior_of_home(item.get("home_id"))
        message = {"event": "device.health", "org_id": item.get("org_id"), "senior_id": senior_id, "data": item}
        self._to_audiences("device.health", message, item.get("org_id"), senior_id)
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
