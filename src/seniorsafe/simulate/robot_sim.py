"""`seniorsafe robot-sim`: a simulated safety-check robot speaking the real robot protocol.

- MQTT: directly to the backend broker with the hub's credential (topics `{root}/hubs/{hub}/robot/...`), or to
  the hub agent's local broker (topics `{local_prefix}/commands|acks|status`) so the hub agent relays it.
- Moves between rooms with realistic timing (0.4 m/s on a small flat's floor plan) and battery drain, answers
  safety checks according to the home's scenario (`fine`: answers; `fall`: lies on the floor and never
  answers; `absent`: nobody is found), uploads a snapshot (JPEG) with the result.
- Streams a synthetic camera (a drawn room, the robot's position, a clock; the fallen person) with aiortc, one
  peer connection per viewer, through the `/webrtc` signaling namespace with the robot's own credential.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import orjson
from PIL import Image, ImageDraw

from seniorsafe.robots.protocol import Ack, CheckOutcome, Command, RobotState, Status

log = logging.getLogger(__name__)

WIDTH, HEIGHT, FPS = 640, 480, 30
SPEED_M_S = 0.4
ROOMS: dict[str, tuple[float, float, tuple[int, int, int]]] = {  # centre (m) on a 8 m x 6 m flat, colour
    "bedroom": (1.5, 1.5, (196, 214, 235)), "living": (5.5, 1.5, (230, 220, 190)),
    "kitchen": (6.5, 4.5, (215, 235, 205)), "bathroom": (1.5, 4.5, (205, 230, 235)),
    "entrance": (4.0, 5.2, (225, 205, 205)), "hall": (4.0, 3.0, (220, 220, 220)),
    "toilet": (2.8, 5.0, (205, 225, 230)), "other": (4.0, 3.0, (220, 220, 220)),
}


@dataclass
class World:
    """The simulated home as the camera sees it."""

    dock_room: str = "living"
    room: str = "living"
    x: float = 5.5
    y: float = 1.5
    battery: float = 100.0
    state: RobotState = RobotState.docked
    scenario: str = "fine"  # fine | fall | absent
    person_room: str = "bedroom"
    streaming_peers: int = 0

    def place(self, room: str) -> None:
        self.room = room
        self.x, self.y = ROOMS.get(room, ROOMS["other"])[:2]


# ---------------------------------------------------------------- camera


def _background() -> np.ndarray:
    img = Image.new("RGB", (WIDTH, HEIGHT), (40, 40, 48))
    draw = ImageDraw.Draw(img)
    for name, (cx, cy, colour) in ROOMS.items():
        if name in ("other", "hall"):
            continue
        x0, y0 = _px(cx - 1.3, cy - 1.1)
        x1, y1 = _px(cx + 1.3, cy + 1.1)
        draw.rectangle((x0, y0, x1, y1), fill=colour, outline=(90, 90, 90), width=2)
        draw.text((x0 + 6, y0 + 4), name, fill=(60, 60, 60))
    return np.asarray(img, dtype=np.uint8).copy()


def _px(x: float, y: float) -> tuple[int, int]:
    return int(x / 8.0 * (WIDTH - 40)) + 20, int(y / 6.0 * (HEIGHT - 60)) + 40


class Camera:
    """Draws one 640×480 frame of the home: rooms, the robot, the person (lying down in a fall), a clock."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.background = _background()

    def frame(self) -> Image.Image:
        img = Image.fromarray(self.background.copy())
        draw = ImageDraw.Draw(img)
        self._draw_person(draw)
        rx, ry = _px(self.world.x, self.world.y)
        draw.ellipse((rx - 14, ry - 14, rx + 14, ry + 14), fill=(30, 120, 220), outline=(255, 255, 255), width=2)
        stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        draw.rectangle((0, 0, WIDTH, 30), fill=(0, 0, 0))
        draw.text((8, 8), f"robot cam  {stamp}  {self.world.state.value}  battery {self.world.battery:.0f}%",
                  fill=(255, 255, 255))
        return img

    def _draw_person(self, draw: ImageDraw.ImageDraw) -> None:
        if self.world.scenario == "absent":
            return
        px, py = _px(*ROOMS.get(self.world.person_room, ROOMS["other"])[:2])
        if self.world.scenario == "fall":  # lying on the floor
            draw.rectangle((px - 40, py + 10, px + 30, py + 24), fill=(200, 60, 60))
            draw.ellipse((px + 28, py + 6, px + 46, py + 26), fill=(240, 200, 170))
        else:
            draw.rectangle((px - 8, py - 30, px + 8, py + 20), fill=(60, 140, 60))
            draw.ellipse((px - 10, py - 50, px + 10, py - 30), fill=(240, 200, 170))

    def jpeg(self) -> bytes:
        buf = io.BytesIO()
        self.frame().save(buf, format="JPEG", quality=70)
        return buf.getvalue()


def make_track(camera: Camera) -> Any:
    """An aiortc video track producing the camera's frames at 30 fps."""
    from aiortc import VideoStreamTrack
    from av import VideoFrame

    class SyntheticTrack(VideoStreamTrack):
        kind = "video"

        async def recv(self) -> VideoFrame:
            pts, time_base = await self.next_timestamp()
            frame = VideoFrame.from_image(camera.frame())
            frame.pts, frame.time_base = pts, time_base
            return frame

    return SyntheticTrack()  # next_timestamp() paces it at 30 fps on aiortc's 90 kHz video clock


# ---------------------------------------------------------------- video (WebRTC)


class RobotVideo:
    """The robot's side of signaling: one RTCPeerConnection per viewer; the robot offers."""

    def __init__(self, url: str, robot_id: str, secret: str, camera: Camera, *, ssl_verify: bool = True) -> None:
        import socketio

        self.url, self.robot_id, self.secret, self.camera = url, robot_id, secret, camera
        self.sio = socketio.AsyncClient(reconnection=True, ssl_verify=ssl_verify)
        self.peers: dict[str, Any] = {}
        self.sio.on("webrtc.viewer_joined", self._viewer_joined, namespace="/webrtc")
        self.sio.on("webrtc.answer", self._answer, namespace="/webrtc")
        self.sio.on("webrtc.peer_left", self._peer_left, namespace="/webrtc")

    async def connect(self) -> None:
        await self.sio.connect(self.url, namespaces=["/webrtc"], transports=["websocket"],
                               auth={"robot_id": self.robot_id, "secret": self.secret}, wait_timeout=10)

    async def _viewer_joined(self, data: dict[str, Any]) -> None:
        from aiortc import RTCConfiguration, RTCPeerConnection
        from aiortc.rtcconfiguration import RTCIceTransportPolicy

        from seniorsafe.webrtc.turn import to_aiortc

        policy = RTCIceTransportPolicy.RELAY if data.get("ice_transport_policy") == "relay" else \
            RTCIceTransportPolicy.ALL
        pc = RTCPeerConnection(RTCConfiguration(iceServers=to_aiortc(data.get("iceServers") or []),
                                                iceTransportPolicy=policy))
        self.peers[data["peer_id"]] = pc
        self.camera.world.streaming_peers = len(self.peers)
        pc.addTrack(make_track(self.camera))
        await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers every candidate here
        await self.sio.emit("webrtc.offer", {"peer_id": data["peer_id"], "sdp": pc.localDescription.sdp,
                                             "type": pc.localDescription.type}, namespace="/webrtc")

    async def _answer(self, data: dict[str, Any]) -> None:
        from aiortc import RTCSessionDescription

        pc = self.peers.get(data.get("peer_id", ""))
        if pc is not None:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=data["sdp"], type=data["type"]))

    async def _peer_left(self, data: dict[str, Any]) -> None:
        pc = self.peers.pop(data.get("peer_id", ""), None)
        self.camera.world.streaming_peers = len(self.peers)
        if pc is not None:
            await pc.close()

    async def close(self) -> None:
        for pc in list(self.peers.values()):
            await pc.close()
        self.peers.clear()
        if self.sio.connected:
            await self.sio.disconnect()


# ---------------------------------------------------------------- robot behaviour (MQTT)


@dataclass
class SimOptions:
    robot_id: str
    hub_id: str
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    topic_root: str = "seniorsafe/v1"
    local_prefix: str | None = None  # set: talk to the hub agent's local broker instead of the backend's
    time_scale: float = 1.0  # 10 = ten times faster than real life (tests)
    answer_after: float = 4.0  # seconds a fine resident takes to touch the screen
    status_every: float = 10.0
    drain_per_metre: float = 0.15  # battery percent
    drain_per_second: float = 0.005
    ignore_deliveries: int = 0  # tests: drop this many command deliveries (to exercise retries)


@dataclass
class RobotSim:
    options: SimOptions
    world: World = field(default_factory=World)
    seen: dict[str, str] = field(default_factory=dict)  # command id → last ack state (dedupe retries)
    current: asyncio.Task[None] | None = None
    client: Any = None
    handled: list[str] = field(default_factory=list)

    def topics(self) -> tuple[str, str, str]:
        o = self.options
        if o.local_prefix:
            return f"{o.local_prefix}/commands", f"{o.local_prefix}/acks", f"{o.local_prefix}/status"
        base = f"{o.topic_root}/hubs/{o.hub_id}/robot"
        return f"{base}/commands", f"{base}/acks", f"{base}/status"

    async def run(self, stop: asyncio.Event) -> None:
        import aiomqtt

        o = self.options
        commands, _, _ = self.topics()
        async with aiomqtt.Client(o.host, o.port, username=o.username, password=o.password,
                                  identifier=f"robot-{o.robot_id}", logger=logging.getLogger("robot-sim.mqtt"),
                                  protocol=aiomqtt.ProtocolVersion.V5) as client:
            self.client = client
            await client.subscribe(commands, qos=1)
            reporter = asyncio.create_task(self._report_loop(stop))
            try:
                await self._receive(client, stop)
            finally:
                reporter.cancel()
                if self.current:
                    self.current.cancel()

    async def _receive(self, client: Any, stop: asyncio.Event) -> None:
        messages = aiter(client.messages)
        while not stop.is_set():
            try:
                message = await asyncio.wait_for(anext(messages), 0.2)
            except TimeoutError:
                continue
            await self.on_command(bytes(message.payload))

    async def _report_loop(self, stop: asyncio.Event) -> None:
        last = time.monotonic()
        while not stop.is_set():
            await self.report()
            await asyncio.sleep(self.options.status_every / self.options.time_scale)
            now = time.monotonic()
            self._drain(0.0, (now - last) * self.options.time_scale)
            last = now

    def _drain(self, metres: float, seconds: float) -> None:
        o = self.options
        charging = self.world.state in (RobotState.docked, RobotState.charging)
        delta = -0.03 * seconds if charging and self.world.battery < 100 else 0.0  # ~1 h to charge on the dock
        delta += metres * o.drain_per_metre + seconds * o.drain_per_second * (not charging)
        self.world.battery = max(0.0, min(100.0, self.world.battery - delta))

    async def report(self) -> None:
        _, _, status = self.topics()
        st = Status(robot_id=self.options.robot_id, state=self.world.state, battery=round(self.world.battery),
                    room=self.world.room)
        await self.client.publish(status, st.model_dump_json().encode(), qos=1)

    async def ack(self, command_id: str, state: str, **body: Any) -> None:
        _, acks, _ = self.topics()
        self.seen[command_id] = state
        msg = Ack(id=command_id, robot_id=self.options.robot_id, state=state, **body)
        await self.client.publish(acks, msg.model_dump_json().encode(), qos=1)

    async def on_command(self, payload: bytes) -> None:
        try:
            cmd = Command.model_validate_json(payload)
        except ValueError:
            log.warning("ignored a malformed command")
            return
        if cmd.robot_id != self.options.robot_id:
            return
        if self.options.ignore_deliveries > 0:
            self.options.ignore_deliveries -= 1
            return
        if cmd.id in self.seen:  # a retry of something already received: acknowledge again, do not redo
            await self.ack(cmd.id, "accepted" if self.seen[cmd.id] == "progress" else self.seen[cmd.id])
            return
        self.handled.append(cmd.type.value)
        await self.ack(cmd.id, "accepted")
        if cmd.type.value == "stop":
            if self.current:
                self.current.cancel()
            self.world.state = RobotState.docked if self.world.room == self.world.dock_room else RobotState.error
            await self.ack(cmd.id, "succeeded")
            await self.report()
            return
        if self.current and not self.current.done():
            self.current.cancel()
        self.current = asyncio.create_task(self._execute(cmd))

    async def _execute(self, cmd: Command) -> None:
        try:
            result = await self._perform(cmd)
        except asyncio.CancelledError:
            await self.ack(cmd.id, "failed", error="stopped")
            raise
        except _CheckFailed as exc:
            await self.ack(cmd.id, "failed", error=str(exc), result=exc.result)
        else:
            await self.ack(cmd.id, "succeeded", result=result)
        await self.report()

    async def _perform(self, cmd: Command) -> dict[str, Any]:
        kind = cmd.type.value
        if kind == "go_to":
            await self.move_to(cmd.id, str(cmd.args.get("room", self.world.dock_room)))
            return {"room": self.world.room}
        if kind == "return_to_dock":
            await self.move_to(cmd.id, self.world.dock_room)
            self.world.state = RobotState.charging if self.world.battery < 100 else RobotState.docked
            return {"room": self.world.room}
        if kind == "safety_check":
            return await self.safety_check(cmd)
        if kind == "speak":
            await self._sleep(1.0 + len(str(cmd.args.get("text", ""))) / 15)
            return {"spoken": True}
        if kind in ("start_video", "stop_video"):
            self.world.state = RobotState.streaming if kind == "start_video" else self.world.state
            return {"video": kind == "start_video"}
        return {}

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.options.time_scale)

    async def move_to(self, command_id: str, room: str) -> None:
        if room not in ROOMS:
            raise _CheckFailed(f"unknown room {room}", {"outcome": CheckOutcome.not_found.value})
        self.world.state = RobotState.moving
        await self.report()
        tx, ty = ROOMS[room][:2]
        distance = math.dist((self.world.x, self.world.y), (tx, ty))
        steps = max(1, int(distance / 0.5))
        sx, sy = (tx - self.world.x) / steps, (ty - self.world.y) / steps
        for i in range(steps):
            await self._sleep(0.5 / SPEED_M_S)
            self.world.x += sx
            self.world.y += sy
            self._drain(0.5, 0.5 / SPEED_M_S)
            if i % 4 == 3:
                await self.ack(command_id, "progress", progress={"stage": "moving", "to": room,
                                                                 "remaining_m": round((steps - i - 1) * 0.5, 1)})
        self.world.place(room)

    async def safety_check(self, cmd: Command) -> dict[str, Any]:
        room = str(cmd.args.get("room") or self.world.person_room)
        await self.ack(cmd.id, "progress", progress={"stage": "moving", "to": room})
        await self.move_to(cmd.id, room)
        self.world.state = RobotState.checking
        await self.report()
        if self.world.scenario == "absent" or room != self.world.person_room:
            raise _CheckFailed("nobody found", self._result(CheckOutcome.not_found, room))
        await self.ack(cmd.id, "progress", progress={"stage": "asking", "room": room})
        wait = float(cmd.args.get("wait_seconds", 30))
        if self.world.scenario == "fall":
            await self._sleep(wait)
            return self._result(CheckOutcome.no_response, room)
        await self._sleep(min(self.options.answer_after, wait))
        return {**self._result(CheckOutcome.responded, room), "response": "touch"}

    def _result(self, outcome: CheckOutcome, room: str) -> dict[str, Any]:
        return {"outcome": outcome.value, "room": room,
                "snapshot_jpeg_b64": base64.b64encode(Camera(self.world).jpeg()).decode()}


class _CheckFailed(Exception):
    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


async def run_sim(options: SimOptions, world: World, api_url: str | None, robot_secret: str | None,
                  stop: asyncio.Event) -> None:
    """The whole robot: MQTT behaviour, plus the camera over WebRTC when an api URL and credential are given."""
    sim = RobotSim(options, world)
    video = None
    if api_url and robot_secret:
        video = RobotVideo(api_url, options.robot_id, robot_secret, Camera(world))
        await video.connect()
    try:
        await sim.run(stop)
    finally:
        if video:
            await video.close()


def options_json(options: SimOptions) -> bytes:
    return orjson.dumps(options.__dict__)
