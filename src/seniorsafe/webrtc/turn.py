"""Time-limited TURN credentials (coturn `use-auth-secret` REST scheme) and the ICE server list.

username = "<unix expiry>:<id>", password = base64(HMAC-SHA1(static-auth-secret, username)). coturn refuses
the credential once the expiry has passed, so nothing static ever leaves the server. No third-party STUN server
is ever added: an empty `turn_urls` means host candidates only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

from seniorsafe.config import Settings


@dataclass(frozen=True)
class TurnCredential:
    username: str
    password: str
    expires_at: int


def turn_credential(secret: str, ident: str, ttl_seconds: int, now: float | None = None) -> TurnCredential:
    expires = int(now if now is not None else time.time()) + ttl_seconds
    username = f"{expires}:{ident}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode(), expires)


def ice_servers(settings: Settings, ident: str, now: float | None = None) -> dict[str, Any]:
    """The RTCConfiguration.iceServers for one caller (a user id or a robot id), and when it expires."""
    if not settings.turn_urls:
        return {"iceServers": [], "ttl": settings.turn_ttl_seconds, "expires_at": None}
    stun = [u for u in settings.turn_urls if u.startswith("stun:")]
    turn = [u for u in settings.turn_urls if u.startswith(("turn:", "turns:"))]
    servers: list[dict[str, Any]] = [{"urls": stun}] if stun else []
    expires_at = None
    if turn and settings.turn_secret:
        cred = turn_credential(settings.turn_secret, ident, settings.turn_ttl_seconds, now)
        servers.append({"urls": turn, "username": cred.username, "credential": cred.password})
        expires_at = cred.expires_at
    return {"iceServers": servers, "ttl": settings.turn_ttl_seconds, "expires_at": expires_at}


def to_aiortc(servers: list[dict[str, Any]]) -> list[Any]:
    """The API's iceServers as aiortc RTCIceServer objects (for the robot simulator and the tests)."""
    from aiortc import RTCIceServer

    return [RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in servers]
