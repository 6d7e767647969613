"""WebRTC signaling over Socket.IO, namespace `/webrtc` (see docs/protocols.md, "WebRTC signaling").

Connect with `auth={"token": <access token>}` (staff, admins, guardians) or
`auth={"robot_id": ..., "secret": ...}` (a robot, with its own credential). Each viewer gets its own peer
(`peer_id`) and its own peer connection on the robot; the robot makes the offer. Nothing is stored for whoever
asks first: every signal names its peer and is forwarded only between that peer's viewer and its robot.
Peer routing lives in Redis so that any api replica (Socket.IO with a Redis manager) can forward it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import redis.exceptions
import socketio

from seniorsafe.accounts.security import Principal
from seniorsafe.alerts.lifecycle import publish_alert
from seniorsafe.bus import Bus
from seniorsafe.deps import AppState, authenticate
from seniorsafe.errors import Problem
from seniorsafe.homes.service import verify_robot_credential
from seniorsafe.webrtc import service
from seniorsafe.webrtc.turn import ice_servers

log = logging.getLogger(__name__)

NAMESPACE = "/webrtc"
PEER_TTL = 6 * 3600
FORWARDED = ("webrtc.offer", "webrtc.answer", "webrtc.candidate")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Signaling:
    def __init__(self, sio: socketio.AsyncServer, state: AppState | Callable[[], AppState]) -> None:
        self.sio = sio
        self._state = state
        self._listener: asyncio.Task[None] | None = None

    @property
    def state(self) -> AppState:
        return self._state() if callable(self._state) else self._state

    @property
    def bus(self) -> Bus:
        return self.state.bus

    # ------------------------------------------------------------ redis routing

    def _k(self, *parts: object) -> str:
        return self.bus.key("webrtc", *parts)

    async def _peer(self, peer_id: str) -> dict[str, str]:
        raw = await self.bus.redis.hgetall(self._k("peer", peer_id))
        return {_text(k): _text(v) for k, v in raw.items()}

    async def _add_peer(self, peer_id: str, viewer_sid: str, robot_id: str, senior_id: str) -> None:
        pipe = self.bus.redis.pipeline()
        pipe.hset(self._k("peer", peer_id), mapping={"viewer_sid": viewer_sid, "robot_id": robot_id,
                                                     "senior_id": senior_id})
        pipe.expire(self._k("peer", peer_id), PEER_TTL)
        for owner in (self._k("sid", viewer_sid), self._k("robotpeers", robot_id), self._k("senior", senior_id)):
            pipe.sadd(owner, peer_id)
            pipe.expire(owner, PEER_TTL)
        await pipe.execute()

    async def _drop_peer(self, peer_id: str, peer: dict[str, str]) -> None:
        pipe = self.bus.redis.pipeline()
        pipe.delete(self._k("peer", peer_id))
        pipe.srem(self._k("sid", peer.get("viewer_sid", "")), peer_id)
        pipe.srem(self._k("robotpeers", peer.get("robot_id", "")), peer_id)
        pipe.srem(self._k("senior", peer.get("senior_id", "")), peer_id)
        await pipe.execute()

    async def _members(self, *parts: object) -> list[str]:
        return [_text(m) for m in await self.bus.redis.smembers(self._k(*parts))]

    # ------------------------------------------------------------ connect / disconnect

    async def connect(self, sid: str, environ: dict[str, Any], auth: dict[str, Any] | None) -> bool:
        auth = auth or {}
        self._ensure_listener()
        if "robot_id" in auth:
            return await self._connect_robot(sid, str(auth["robot_id"]), str(auth.get("secret", "")))
        try:
            principal = await authenticate(self.state, auth.get("token"))
        except Problem:
            return False
        ip = environ.get("REMOTE_ADDR") or (environ.get("asgi.scope", {}).get("client") or [None])[0]
        await self.sio.save_session(sid, {"kind": "user", "principal": principal, "ip": ip}, namespace=NAMESPACE)
        return True

    async def _connect_robot(self, sid: str, robot_id: str, secret: str) -> bool:
        async with self.state.db.sessions() as session:
            robot = await verify_robot_credential(session, robot_id, secret)
        if robot is None:
            return False
        await self.sio.save_session(sid, {"kind": "robot", "robot_id": robot.id}, namespace=NAMESPACE)
        await self.sio.enter_room(sid, f"robot:{robot.id}", namespace=NAMESPACE)
        await self.bus.redis.set(self._k("robot", robot.id), sid, ex=PEER_TTL)
        return True

    async def disconnect(self, sid: str) -> None:
        sess = await self.sio.get_session(sid, namespace=NAMESPACE)
        if sess.get("kind") == "robot":
            await self.bus.redis.delete(self._k("robot", sess["robot_id"]))
            for peer_id in await self._members("robotpeers", sess["robot_id"]):
                await self.hang_up(peer_id, "robot_left")
        else:
            for peer_id in await self._members("sid", sid):
                await self.hang_up(peer_id, "viewer_left")

    # ------------------------------------------------------------ viewer requests

    async def ice(self, sid: str, data: Any = None) -> dict[str, Any]:
        sess = await self.sio.get_session(sid, namespace=NAMESPACE)
        ident = sess["robot_id"] if sess.get("kind") == "robot" else str(sess["principal"].user_id)
        return ice_servers(self.state.settings, ident)

    async def watch(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """A viewer asks for video: {senior_id, reason?, ice_transport_policy?} → {peer_id, iceServers}."""
        sess = await self.sio.get_session(sid, namespace=NAMESPACE)
        if sess.get("kind") != "user":
            return {"error": "forbidden", "detail": "only people watch video"}
        principal: Principal = sess["principal"]
        try:
            senior_id = uuid.UUID(str(data.get("senior_id")))
            async with self.state.db.sessions() as session:
                vs, robot = await service.authorise_viewer(session, principal, senior_id, data.get("reason"),
                                                           sess.get("ip"))
                if not await self.bus.redis.exists(self._k("robot", robot.id)):
                    await session.rollback()
                    return {"error": "unavailable", "detail": "the robot's camera is not connected"}
                peer_id = uuid.uuid4().hex
                _viewing, alert = await service.start_viewing(session, principal, vs, peer_id, sess.get("ip"))
        except (ValueError, Problem) as exc:
            return {"error": getattr(exc, "type_slug", "invalid"), "detail": str(exc)}
        if alert is not None:
            await publish_alert(self.bus, alert, "alert.updated")  # open incident pages show "video viewed"
        await self._add_peer(peer_id, sid, robot.id, str(senior_id))
        policy = data.get("ice_transport_policy", "all")
        await self.sio.emit("webrtc.viewer_joined", {
            "peer_id": peer_id, "session_id": str(vs.id), "ice_transport_policy": policy,
            **ice_servers(self.state.settings, robot.id)}, room=f"robot:{robot.id}", namespace=NAMESPACE)
        return {"peer_id": peer_id, "session_id": str(vs.id), "robot_id": robot.id,
                **ice_servers(self.state.settings, str(principal.user_id))}

    async def leave(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        peer_id = str(data.get("peer_id", ""))
        peer = await self._peer(peer_id)
        sess = await self.sio.get_session(sid, namespace=NAMESPACE)
        if not peer or not self._is_party(sid, sess, peer):
            return {"error": "not_found"}
        await self.hang_up(peer_id, "left")
        return {"ok": True}

    async def hang_up(self, peer_id: str, reason: str) -> None:
        peer = await self._peer(peer_id)
        async with self.state.db.sessions() as session:
            await service.end_viewing(session, peer_id, reason)
        if not peer:
            return
        await self._drop_peer(peer_id, peer)
        body = {"peer_id": peer_id, "reason": reason}
        await self.sio.emit("webrtc.ended", body, to=peer["viewer_sid"], namespace=NAMESPACE)
        await self.sio.emit("webrtc.peer_left", body, room=f"robot:{peer['robot_id']}", namespace=NAMESPACE)

    # ------------------------------------------------------------ relay offer / answer / candidates

    @staticmethod
    def _is_party(sid: str, sess: dict[str, Any], peer: dict[str, str]) -> bool:
        if sess.get("kind") == "robot":
            return bool(sess.get("robot_id") == peer.get("robot_id"))
        return peer.get("viewer_sid") == sid

    async def forward(self, event: str, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        peer_id = str((data or {}).get("peer_id", ""))
        peer = await self._peer(peer_id)
        sess = await self.sio.get_session(sid, namespace=NAMESPACE)
        if not peer or not self._is_party(sid, sess, peer):
            return {"error": "not_found", "detail": "no such peer for you"}
        body = {k: data[k] for k in ("peer_id", "sdp", "type", "candidate", "sdpMid", "sdpMLineIndex")
                if k in data}
        if sess.get("kind") == "robot":
            await self.sio.emit(event, body, to=peer["viewer_sid"], namespace=NAMESPACE)
        else:
            await self.sio.emit(event, body, room=f"robot:{peer['robot_id']}", namespace=NAMESPACE)
        return {"ok": True}

    # ------------------------------------------------------------ video ends with the incident

    async def stop_senior_video(self, senior_id: str, reason: str) -> None:
        async with self.state.db.sessions() as session:
            peers = await service.end_sessions(session, uuid.UUID(senior_id), reason)
        for peer_id in set(peers) | set(await self._members("senior", senior_id)):
            await self.hang_up(peer_id, reason)

    def _ensure_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        """Keep listening across Redis outages (a lost connection is retried, not fatal)."""
        while True:
            try:
                await self._listen_once()
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
                log.warning("signaling bus listener lost Redis (%s); retrying", exc)
                await asyncio.sleep(1.0)

    async def _listen_once(self) -> None:
        """alert.resolved (or video.stop) on the bus → end that senior's video sessions and hang up."""
        pubsub = self.bus.redis.pubsub()
        await pubsub.psubscribe(self.bus.key("pub", "org:*"))
        try:
            async for message in pubsub.listen():
                if message.get("type") != "pmessage":
                    continue
                try:
                    body = orjson.loads(message["data"])
                except orjson.JSONDecodeError:
                    continue
                if body.get("event") in ("alert.resolved", "video.stop") and body.get("senior_id"):
                    if body.get("event") == "alert.resolved" and body.get("data", {}).get("category") == "device":
                        continue
                    await self.stop_senior_video(body["senior_id"], "incident_resolved")
        finally:
            await pubsub.aclose()

    async def close(self) -> None:
        if self._listener:
            self._listener.cancel()


def register(sio: socketio.AsyncServer, state: AppState | Callable[[], AppState]) -> Signaling:
    """Attach the `/webrtc` namespace handlers to a Socket.IO server (state: an AppState or a provider)."""
    sig = Signaling(sio, state)
    sio.on("connect", sig.connect, namespace=NAMESPACE)
    sio.on("disconnect", sig.disconnect, namespace=NAMESPACE)
    sio.on("webrtc.ice_servers", sig.ice, namespace=NAMESPACE)
    sio.on("webrtc.watch", sig.watch, namespace=NAMESPACE)
    sio.on("webrtc.leave", sig.leave, namespace=NAMESPACE)
    for event in FORWARDED:
        sio.on(event, _forwarder(sig, event), namespace=NAMESPACE)
    _register_remote_control(sio, sig)
    return sig


def _forwarder(sig: Signaling, event: str) -> Any:
    async def handler(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await sig.forward(event, sid, data)
    return handler


def _register_remote_control(sio: socketio.AsyncServer, sig: Signaling) -> None:
    async def robot_command(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """Remote control: {robot_id, type, args} → the stored command (same checks as the REST route)."""
        from seniorsafe.robots.service import request_command

        sess = await sio.get_session(sid, namespace=NAMESPACE)
        if sess.get("kind") != "user":
            return {"error": "forbidden"}
        try:
            async with sig.state.db.sessions() as session:
                command = await request_command(session, sig.state.bus, sess["principal"], str(data.get("robot_id")),
                                                str(data.get("type")), dict(data.get("args") or {}), sess.get("ip"))
        except (Problem, ValueError) as exc:
            return {"error": getattr(exc, "type_slug", "invalid"), "detail": str(exc)}
        return {"id": str(command.id), "state": command.state}

    sio.on("robot.command", robot_command, namespace=NAMESPACE)


_installed = False


def install() -> None:
    """Register the `/webrtc` namespace on the api's live gateways (realtime.register_handlers hook), once."""
    global _installed
    from seniorsafe.realtime import Gateway, register_handlers

    if _installed:
        return
    _installed = True

    def setup(gateway: Gateway) -> None:
        register(gateway.sio, lambda: gateway.state)

    register_handlers(setup)
