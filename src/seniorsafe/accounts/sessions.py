"""Access-token checks of one api process without a Redis round trip per request.

Every request's token must be valid and its session not signed out. Decoding a JWT and asking Redis
whether the session was revoked cost more than the rest of a cached read, so both results are kept in
memory: decoded tokens until they expire, "not revoked" answers for a few seconds. Sign-outs are
published on the bus (`Bus.mark_revoked`); this guard subscribes and forgets an answer the moment its
session is revoked anywhere. While that subscription is down, every request asks Redis again.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid

from seniorsafe.accounts.security import InvalidToken, Principal, decode_access_token
from seniorsafe.bus import REVOCATIONS_CHANNEL, Bus
from seniorsafe.config import Settings
from seniorsafe.subscription import Subscription

log = logging.getLogger(__name__)

MAX_TOKENS = 50_000
NOT_REVOKED_SECONDS = 5.0


class SessionGuard(Subscription):
    name = "session-revocations"

    def __init__(self, settings: Settings, bus: Bus) -> None:
        super().__init__()
        self._settings = settings
        self._bus = bus
        self._tokens: dict[str, tuple[Principal, int]] = {}
        self._not_revoked: dict[uuid.UUID, float] = {}
        self._generation = 0
        bus.on_session_revoked.append(self.forget)

    def decode(self, token: str) -> Principal:
        """The token's principal; raises InvalidToken (expired, forged, not an access token)."""
        cached = self._tokens.get(token)
        if cached is not None:
            principal, expires = cached
            if expires > time.time():
                return principal
            del self._tokens[token]
            raise InvalidToken("access token expired")
        principal, expires = decode_access_token(self._settings, token)
        if len(self._tokens) >= MAX_TOKENS:
            self._tokens.pop(next(iter(self._tokens)))
        self._tokens[token] = (principal, expires)
        return principal

    async def is_revoked(self, session_id: uuid.UUID) -> bool:
        if self._live and self._not_revoked.get(session_id, 0.0) > time.monotonic():
            return False
        generation = self._generation
        revoked = await self._bus.is_revoked("session", str(session_id))
        if not revoked and self._live and generation == self._generation:
            if len(self._not_revoked) >= MAX_TOKENS:
                self._not_revoked.clear()
            self._not_revoked[session_id] = time.monotonic() + NOT_REVOKED_SECONDS
        return revoked

    def forget(self, session_id: str) -> None:
        self._generation += 1
        with contextlib.suppress(ValueError):
            self._not_revoked.pop(uuid.UUID(session_id), None)

    # ------------------------------------------------------------ the subscription

    async def _hold(self) -> None:
        pubsub = self._bus.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._bus.key("pub", REVOCATIONS_CHANNEL))
            self._live = True
            while True:
                # A timeout turns a silently dead connection into an error within a few seconds.
                message = await pubsub.get_message(timeout=NOT_REVOKED_SECONDS)
                if message is None:
                    await pubsub.ping()
                elif message.get("type") == "message":
                    self.forget(message["data"].decode())
        finally:
            self._lost()
            await pubsub.aclose()

    def _lost(self) -> None:
        """Revocations may be missed from now on: ask Redis again for every session."""
        super()._lost()
        self._generation += 1
        self._not_revoked.clear()
