"""TURN credentials: the coturn REST scheme, checked by a real coturn (valid → allocation, expired → 401)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
from typing import Any

import httpx
from aioice import stun
from aioice.turn import make_integrity_key

from seniorsafe.config import Settings
from seniorsafe.webrtc.coturn import LocalTurn
from seniorsafe.webrtc.turn import ice_servers, turn_credential
from tests.conftest import Org


class _Udp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.queue.put_nowait(data)


async def _request(transport: Any, proto: _Udp, message: stun.Message) -> stun.Message:
    transport.sendto(bytes(message))
    return stun.parse_message(await asyncio.wait_for(proto.queue.get(), 3))


def _allocate(attrs: dict[str, Any] | None = None) -> stun.Message:
    msg = stun.Message(message_method=stun.Method.ALLOCATE, message_class=stun.Class.REQUEST,
                       transaction_id=os.urandom(12))
    msg.attributes["REQUESTED-TRANSPORT"] = 0x11000000  # UDP
    for key, value in (attrs or {}).items():
        msg.attributes[key] = value
    return msg


async def allocate(port: int, username: str, password: str) -> stun.Message:
    """A TURN Allocate with long-term credentials (one UDP socket: the nonce belongs to this client address)."""
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(_Udp, remote_addr=("127.0.0.1", port))
    try:
        challenge = await _request(transport, proto, _allocate())
        assert challenge.message_class == stun.Class.ERROR and challenge.attributes["ERROR-CODE"][0] == 401
        realm, nonce = challenge.attributes["REALM"], challenge.attributes["NONCE"]
        msg = _allocate({"USERNAME": username, "REALM": realm, "NONCE": nonce, "LIFETIME": 60})
        msg.add_message_integrity(make_integrity_key(username, realm, password))
        msg.add_fingerprint()
        return await _request(transport, proto, msg)
    finally:
        transport.close()


def test_credential_is_the_coturn_rest_scheme() -> None:
    cred = turn_credential("s3cret", "user-1", 600, now=1_700_000_000)
    assert cred.username == "1700000600:user-1"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1700000600:user-1", hashlib.sha1).digest()).decode()
    assert cred.password == expected


def test_no_third_party_stun_by_default(settings: Settings) -> None:
    assert ice_servers(settings, "u")["iceServers"] == []


async def test_valid_credential_allocates(turn: LocalTurn) -> None:
    cred = turn_credential(turn.secret, "viewer", 60)
    response = await allocate(turn.port, cred.username, cred.password)
    assert response.message_class == stun.Class.RESPONSE, response.attributes.get("ERROR-CODE")
    assert "XOR-RELAYED-ADDRESS" in response.attributes


async def test_expired_credential_is_refused(turn: LocalTurn) -> None:
    cred = turn_credential(turn.secret, "viewer", -5)  # expired five seconds ago
    response = await allocate(turn.port, cred.username, cred.password)
    assert response.message_class == stun.Class.ERROR
    assert response.attributes["ERROR-CODE"][0] == 401


async def test_wrong_secret_is_refused(turn: LocalTurn) -> None:
    cred = turn_credential("not-the-secret", "viewer", 60)
    response = await allocate(turn.port, cred.username, cred.password)
    assert response.attributes["ERROR-CODE"][0] == 401


async def test_api_credential_works_on_coturn(client: httpx.AsyncClient, org: Org, app: Any,
                                              turn_settings: Settings, turn: LocalTurn) -> None:
    saved = app.state.services.settings
    app.state.services.settings = turn_settings
    try:
        r = await client.get("/api/v1/webrtc/ice-servers", headers=org.h(org.staff1))
    finally:
        app.state.services.settings = saved
    assert r.status_code == 200, r.text
    servers = r.json()["iceServers"]
    assert all("google" not in u for s in servers for u in s["urls"])
    relay = next(s for s in servers if s["urls"][0].startswith("turn:"))
    assert relay["username"].endswith(":" + org.staff1["id"])
    response = await allocate(turn.port, relay["username"], relay["credential"])
    assert response.message_class == stun.Class.RESPONSE
    assert (await client.get("/api/v1/webrtc/ice-servers")).status_code == 401
