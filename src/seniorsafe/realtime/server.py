"""The Socket.IO gateway: authentication on connect, rooms, snapshot, watching, session re-checks, hooks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import socketio
from engineio import packet as eio_packet

from seniorsafe.accounts.security import InvalidToken, Principal, decode_access_token
from seniorsafe.config import Settings
from seniorsafe.deps import AppState, authenticate
from seniorsafe.errors import Unauthorized
from seniorsafe.realtime import rooms
from seniorsafe.realtime.access import AccessListener
from seniorsafe.realtime.snapshot import build_snapshot, open_alerts

log = logging.getLogger(__name__)

MAX_WATCHED = 50

# A connect handler for non-user clients (robots): return True if it authenticated the client, None/False if
# the auth payload is not its kind. Raise socketio.exceptions.ConnectionRefusedError to refuse.
ConnectHandler = Callable[["Gateway", str, dict[str, Any], dict[str, Any]], Awaitable[bool | None]]
DisconnectHandler = Callable[["Gateway", str], Awaitable[None]]
Registrar = Callable[["Gateway"], None]

_registrars: list[Registrar] = []
_gateways: list[Gateway] = []


def register_handlers(fn: Registrar) -> Registrar:
    """Add Socket.IO handlers to every gateway (now and later). Usable as a decorator; see realtime/__init__."""
    _registrars.append(fn)
    for gateway in _gateways:
        fn(gateway)
    return fn


@dataclass
class UserSession:
    principal: Principal
    expires_at: int
    watched: set[str] = field(default_factory=set)


class OrjsonCodec:
    """The `json` module python-socketio uses for packets, backed by orjson (several times faster)."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj, default=str).decode()

    @staticmethod
    def loads(raw: str | bytes, **_: Any) -> Any:
        return orjson.loads(raw)


class Gateway:
    """One per api process. `sio` fans out across processes through Redis (AsyncRedisManager)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        manager = socketio.AsyncRedisManager(settings.redis_url,
                                             channel=settings.redis_prefix + settings.realtime_redis_channel)
        origins = [settings.public_url.rstrip("/"), *settings.cors_origins]
        self.sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager, cors_allowed_origins=origins,
                                        json=OrjsonCodec)
        self.asgi = socketio.ASGIApp(self.sio, socketio_path="socket.io")
        self.users: dict[str, UserSession] = {}
        self.connect_handlers: list[ConnectHandler] = []
        self.disconnect_handlers: list[DisconnectHandler] = []
        self._state: AppState | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.access: AccessListener | None = None
        self._register_core()
        _gateways.append(self)
        for fn in list(_registrars):
            fn(self)

    # ------------------------------------------------------------ lifecycle

    @property
    def state(self) -> AppState:
        if self._state is None:
            raise RuntimeError("the gateway is not started")
        return self._state

    async def start(self, state: AppState) -> None:
        from seniorsafe.realtime.bridge import Bridge

        self._state = state
        self.bridge = Bridge(self, state)
        self.access = AccessListener(self.settings.database_url, self.refresh_user, self.refresh_all)
        self._tasks = [asyncio.create_task(self.bridge.run(), name="realtime-bridge"),
                       asyncio.create_task(self._check_sessions_forever(), name="realtime-sessions")]
        await self.access.start()
        await self.bridge.ready.wait()
        await self.access.ready.wait()

    async def stop(self) -> None:
        if self.access is not None:
            await self.access.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self in _gateways:
            _gateways.remove(self)

    # ------------------------------------------------------------ emitting

    async def emit_local(self, event: str, data: Any, room: str | list[str]) -> int:
        """Emit only to the sockets of this process (the bridge runs in every process: no double delivery)."""
        return self.emit_local_nowait(event, data, room)

    def emit_local_nowait(self, event: str, data: Any, room: str | list[str]) -> int:
        """`emit_local` without awaiting: the packet is encoded once and queued to each local recipient."""
        return self.send_packet(encode_event(event, data), room)

    def send_packet(self, text: str, room: str | list[str]) -> int:
        """Queue an encoded Socket.IO packet (`encode_event`) to this process's sockets in `room` (a socket in
        several of the rooms gets it once). Straight onto each engine.io socket's send queue, which its writer
        task drains (no coroutine per recipient); the library's own coroutine where that is not available."""
        message = eio_packet.Packet(eio_packet.MESSAGE, text)
        sockets: dict[str, Any] = getattr(self.sio.eio, "sockets", {})
        count = 0
        for _, eio_sid in self.sio.manager.get_participants("/", room):
            sock = sockets.get(eio_sid)
            queue = getattr(sock, "queue", None)
            if queue is not None and not getattr(sock, "closed", True):
                queue.put_nowait(message)
            else:
                self.sio.start_background_task(self.sio.eio.send_packet, eio_sid, message)
            count += 1
        return count

    def has_local_members(self, room: str) -> bool:
        return bool(self.sio.manager.rooms.get("/", {}).get(room))

    # ------------------------------------------------------------ handlers

    def _register_core(self) -> None:
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("auth.refresh", self._on_refresh)
        self.sio.on("senior.watch", self._on_watch)
        self.sio.on("senior.unwatch", self._on_unwatch)
        self.sio.on("snapshot.get", self._on_snapshot_get)
        self.sio.on("rooms.refresh", self._on_rooms_refresh)

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        auth = auth if isinstance(auth, dict) else {}
        if "token" in auth:
            await self._connect_user(sid, auth.get("token"))
            return True
        for handler in self.connect_handlers:
            if await handler(self, sid, environ, auth):
                return True
        raise socketio.exceptions.ConnectionRefusedError("authentication required: auth={'token': <access token>}")

    async def _verify(self, token: Any) -> tuple[Principal, int]:
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError("an access token is required")
        try:
            principal = await authenticate(self.state, token)
            _, exp = decode_access_token(self.settings, token)
        except (Unauthorized, InvalidToken) as exc:
            raise socketio.exceptions.ConnectionRefusedError(str(exc)) from exc
        return principal, exp

    async def _connect_user(self, sid: str, token: Any) -> None:
        principal, exp = await self._verify(token)
        # Into the user's room first: an access change committed from now on finds this socket and refreshes
        # it, and anything committed before is already in what rooms_for reads.
        self.users[sid] = UserSession(principal, exp)
        await self.sio.enter_room(sid, rooms.user_room(principal.user_id))
        async with self.state.db.sessions() as session:
            joined = await rooms.rooms_for(session, principal)
        for room in joined:
            await self.sio.enter_room(sid, room)
        self.sio.start_background_task(self._send_snapshot, sid)

    async def _snapshot(self, principal: Principal) -> dict[str, Any]:
        async with self.state.db.sessions() as session:
            return await build_snapshot(session, principal)

    async def _send_snapshot(self, sid: str) -> None:
        user = self.users.get(sid)
        if user is None:
            return
        try:
            await self.sio.emit("snapshot", await self._snapshot(user.principal), to=sid)
        except Exception:  # the client still gets live events; it can ask again with snapshot.get
            log.exception("snapshot for %s failed", sid)

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.users.pop(sid, None)
        for handler in self.disconnect_handlers:
            await handler(self, sid)

    async def _on_refresh(self, sid: str, data: Any) -> dict[str, Any]:
        user = self.users.get(sid)
        token = data.get("token") if isinstance(data, dict) else None
        if user is None:
            return {"ok": False, "error": "not a user session"}
        try:
            principal, exp = await self._verify(token)
        except socketio.exceptions.ConnectionRefusedError as exc:
            return {"ok": False, "error": str(exc.error_args.get("message") if exc.error_args else exc)}
        if principal.user_id != user.principal.user_id:
            return {"ok": False, "error": "the token belongs to another user"}
        user.principal, user.expires_at = principal, exp
        return {"ok": True, "expires_at": exp}

    async def _on_watch(self, sid: str, data: Any) -> dict[str, Any]:
        user = self.users.get(sid)
        senior_id = _uuid((data or {}).get("senior_id") if isinstance(data, dict) else None)
        if user is None or senior_id is None:
            return {"ok": False, "error": "senior_id is required"}
        if len(user.watched) >= MAX_WATCHED:
            return {"ok": False, "error": f"at most {MAX_WATCHED} seniors can be watched at once"}
        async with self.state.db.sessions() as session:
            allowed = await rooms.may_view(session, user.principal, senior_id)
        if not allowed:
            return {"ok": False, "error": "senior not found"}
        user.watched.add(str(senior_id))
        await self.sio.enter_room(sid, rooms.watch_room(senior_id))
        return {"ok": True}

    async def _on_unwatch(self, sid: str, data: Any) -> dict[str, Any]:
        user = self.users.get(sid)
        senior_id = _uuid((data or {}).get("senior_id") if isinstance(data, dict) else None)
        if user is None or senior_id is None:
            return {"ok": False, "error": "senior_id is required"}
        user.watched.discard(str(senior_id))
        await self.sio.leave_room(sid, rooms.watch_room(senior_id))
        return {"ok": True}

    async def _on_snapshot_get(self, sid: str, data: Any = None) -> dict[str, Any]:
        user = self.users.get(sid)
        if user is None:
            return {"ok": False, "error": "not a user session"}
        return {"ok": True, "snapshot": await self._snapshot(user.principal)}

    async def _on_rooms_refresh(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Re-compute the rooms on request (access changes are also applied live: realtime/access.py)."""
        user = self.users.get(sid)
        if user is None:
            return {"ok": False, "error": "not a user session"}
        await self._refresh_rooms(sid, user)
        return {"ok": True}

    async def refresh_user(self, user_id: uuid.UUID) -> None:
        """Re-compute the rooms of every local socket of this user (their access changed)."""
        sids = [sid for sid, _ in self.sio.manager.get_participants("/", rooms.user_room(user_id))]
        for sid in sids:
            user = self.users.get(sid)
            if user is not None:
                await self._refresh_rooms(sid, user)

    async def refresh_all(self) -> None:
        for sid, user in list(self.users.items()):
            await self._refresh_rooms(sid, user)

    async def _refresh_rooms(self, sid: str, user: UserSession) -> None:
        async with self.state.db.sessions() as session:
            wanted = set(await rooms.rooms_for(session, user.principal))
            lost_watch = [s for s in user.watched if not await rooms.may_view(session, user.principal,
                                                                               uuid.UUID(s))]
        if sid not in self.users:  # disconnected meanwhile
            return
        current = {r for r in self.sio.rooms(sid) if r.startswith(rooms.MANAGED_PREFIXES)}
        for room in current - wanted:
            await self.sio.leave_room(sid, room)
        for room in wanted - current:
            await self.sio.enter_room(sid, room)
        for senior in lost_watch:
            user.watched.discard(senior)
            await self.sio.leave_room(sid, rooms.watch_room(senior))
        if current == wanted:
            return
        change: dict[str, Any] = {**rooms.access_change(current, wanted), "alerts": []}
        if change["incidents"]["added"]:
            # The escalation that paged this user published its `alert.escalated` when it committed, maybe
            # before this socket joined the incident room: the alert itself comes with the change.
            async with self.state.db.sessions() as session:
                change["alerts"] = await open_alerts(session, user.principal, change["incidents"]["added"])
        await self.emit_local("access.changed", change, sid)

    # ------------------------------------------------------------ session checks

    async def _check_sessions_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.realtime_session_check_seconds)
            try:
                await self.check_sessions()
            except Exception:
                log.exception("live session check failed")

    async def check_sessions(self) -> int:
        """Disconnect sessions that were signed out or whose token expired without `auth.refresh`."""
        now = time.time()
        items = list(self.users.items())
        if not items:
            return 0
        pipe = self.state.bus.redis.pipeline(transaction=False)
        for _, user in items:
            pipe.exists(self.state.bus.key("revoked", "session", str(user.principal.session_id)))
        revoked = await pipe.execute()
        dropped = 0
        for (sid, user), gone in zip(items, revoked, strict=True):
            if gone or user.expires_at <= now:
                reason = "signed out" if gone else "token expired"
                await self.sio.emit("session.ended", {"reason": reason}, to=sid)
                await self.sio.disconnect(sid)
                self.users.pop(sid, None)
                dropped += 1
        return dropped


def encode_event(event: str, data: Any) -> str:
    """The Socket.IO EVENT packet for the default namespace: `2["<event>",<data>]` (what `sio.emit` sends)."""
    return "2" + orjson.dumps([event, data], default=str).decode()


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        return None
