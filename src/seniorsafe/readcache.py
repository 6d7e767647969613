"""Rendered read responses of the api process, dropped the moment PostgreSQL commits a change they show.

The seniors list and detail are read far more often than they change. Triggers on the tables they show
(migration 0009) send `NOTIFY seniorsafe_seniors, '<org id>'` when a change commits, whichever process or
person made it; this cache LISTENs on its own connection and bumps that organisation's generation, which
invalidates every entry of the organisation. An entry is stored with the generation read *before* its
query ran, so a change that commits while a query runs can never leave a stale entry behind. While the
listening connection is down the cache is bypassed (and emptied when it comes back).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable

from seniorsafe.subscription import PgListener

log = logging.getLogger(__name__)

CHANNEL = "seniorsafe_seniors"
EVERY_ORG = "*"
APPLICATION_NAME = "seniorsafe-read-cache"  # how the listening connection shows in pg_stat_activity

Token = tuple[int, int, int]


class ReadCache(PgListener):
    name = "read-cache-listener"
    channel = CHANNEL
    application_name = APPLICATION_NAME

    def __init__(self, database_url: str | None, *, max_entries: int = 20_000, ttl_seconds: float = 30.0) -> None:
        super().__init__(database_url)
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        self._entries: dict[tuple[str, Hashable], tuple[Token, float, bytes]] = {}
        self._org_generation: dict[str, int] = {}
        self._every_org = 0
        self._epoch = 0
        self.hits = 0
        self.misses = 0

    @classmethod
    def disabled(cls) -> ReadCache:
        return cls(None, max_entries=0)

    # ------------------------------------------------------------ reads

    async def get_or_render(self, org: uuid.UUID, key: Hashable, render: Callable[[], Awaitable[bytes]]) -> bytes:
        """The cached bytes for (org, key), or render them now (and keep them if nothing changed meanwhile)."""
        org_key = str(org)
        if not self._live:
            return await render()
        entry_key = (org_key, key)
        token = self._token(org_key)
        entry = self._entries.get(entry_key)
        if entry is not None and entry[0] == token and entry[1] > time.monotonic():
            self.hits += 1
            return entry[2]
        self.misses += 1
        body = await render()
        if self._live and self._token(org_key) == token:
            self._store(entry_key, token, body)
        return body

    def _token(self, org_key: str) -> Token:
        return self._epoch, self._every_org, self._org_generation.get(org_key, 0)

    def _store(self, entry_key: tuple[str, Hashable], token: Token, body: bytes) -> None:
        self._entries.pop(entry_key, None)
        while len(self._entries) >= self._max_entries > 0:
            self._entries.pop(next(iter(self._entries)))  # oldest first
        if self._max_entries > 0:
            self._entries[entry_key] = (token, time.monotonic() + self._ttl, body)

    # ------------------------------------------------------------ invalidation

    def invalidate(self, org: str) -> None:
        if org == EVERY_ORG:
            self._every_org += 1
            self._entries.clear()
        else:
            self._org_generation[org] = self._org_generation.get(org, 0) + 1

    # ------------------------------------------------------------ the LISTEN connection

    async def start(self) -> None:
        if self._max_entries > 0:
            await super().start()

    async def _on_listening(self) -> None:
        # Anything may have changed while nobody listened: start from an empty cache.
        self._entries.clear()
        self._epoch += 1

    def _on_payload(self, payload: str) -> None:
        self.invalidate(payload)
