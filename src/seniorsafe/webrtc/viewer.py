"""A Python viewer (aiortc) for robot video through our signaling: used by the tests and bench/webrtc.py."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

from seniorsafe.webrtc.turn import to_aiortc

NS = "/webrtc"


class ViewerClient:
    """One signaling connection; each `watch` opens one peer connection and returns its first frame timing."""

    def __init__(self, url: str, token: str, *, ssl_verify: bool = True) -> None:
        import socketio

        self.url, self.token = url, token
        self.sio = socketio.AsyncClient(reconnection=False, ssl_verify=ssl_verify)
        self.offers: dict[str, asyncio.Future[dict[str, Any]]] = defaultdict(
            lambda: asyncio.get_running_loop().create_future())
        self.ended: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.pcs: dict[str, Any] = {}
        self.sio.on("webrtc.offer", self._offer, namespace=NS)
        self.sio.on("webrtc.ended", self._ended, namespace=NS)

    async def connect(self) -> None:
        await self.sio.connect(self.url, namespaces=[NS], transports=["websocket"], auth={"token": self.token},
                               wait_timeout=10)

    async def _offer(self, data: dict[str, Any]) -> None:
        fut = self.offers[data["peer_id"]]
        if not fut.done():
            fut.set_result(data)

    async def _ended(self, data: dict[str, Any]) -> None:
        self.ended[data["peer_id"]].set()

    async def request(self, senior_id: str, reason: str | None = None, policy: str = "all") -> dict[str, Any]:
        body: dict[str, Any] = {"senior_id": senior_id, "ice_transport_policy": policy}
        if reason:
            body["reason"] = reason
        reply: dict[str, Any] = await self.sio.call("webrtc.watch", body, namespace=NS, timeout=15)
        return reply

    async def watch(self, senior_id: str, reason: str | None = None, policy: str = "all",
                    frames: int = 1, wait: float = 15.0) -> dict[str, Any]:
        """Ask for video and read `frames` decoded frames. Returns peer_id, first_frame_ms, fps, size, pair."""
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
        from aiortc.rtcconfiguration import RTCIceTransportPolicy

        started = time.perf_counter()
        reply = await self.request(senior_id, reason, policy)
        if "error" in reply:
            raise PermissionError(f"{reply['error']}: {reply.get('detail')}")
        peer_id = reply["peer_id"]
        pc = RTCPeerConnection(RTCConfiguration(
            iceServers=to_aiortc(reply.get("iceServers") or []),
            iceTransportPolicy=RTCIceTransportPolicy.RELAY if policy == "relay" else RTCIceTransportPolicy.ALL))
        self.pcs[peer_id] = pc
        track_ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        @pc.on("track")
        def on_track(track: Any) -> None:
            if not track_ready.done():
                track_ready.set_result(track)

        offer = await asyncio.wait_for(self.offers[peer_id], wait)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type=offer["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.sio.call("webrtc.answer", {"peer_id": peer_id, "sdp": pc.localDescription.sdp,
                                              "type": pc.localDescription.type}, namespace=NS, timeout=10)
        track = await asyncio.wait_for(track_ready, wait)
        first = await asyncio.wait_for(track.recv(), wait)
        first_ms = (time.perf_counter() - started) * 1000
        t0 = time.perf_counter()
        for _ in range(frames - 1):
            last = await asyncio.wait_for(track.recv(), wait)
        elapsed = time.perf_counter() - t0
        fps = (frames - 1) / elapsed if frames > 1 and elapsed > 0 else 0.0
        return {"peer_id": peer_id, "first_frame_ms": first_ms, "fps": fps, "width": first.width,
                "height": first.height, "candidate_types": _pair_types(pc),
                "last_frame": last if frames > 1 else first}

    async def leave(self, peer_id: str) -> None:
        await self.sio.call("webrtc.leave", {"peer_id": peer_id}, namespace=NS, timeout=10)
        pc = self.pcs.pop(peer_id, None)
        if pc is not None:
            await pc.close()

    async def close(self) -> None:
        for pc in list(self.pcs.values()):
            await pc.close()
        self.pcs.clear()
        if self.sio.connected:
            await self.sio.disconnect()


def _pair_types(pc: Any) -> list[str]:
    """The candidate types of the selected ICE pair (local, remote), e.g. ['relay', 'relay']."""
    try:
        transport = pc.getTransceivers()[0].receiver.transport.transport
        pair = transport._connection._nominated  # aioice: {component: CandidatePair}
        chosen = next(iter(pair.values()))
        return [chosen.local_candidate.type, chosen.remote_candidate.type]
    except (AttributeError, IndexError, StopIteration):
        return []
