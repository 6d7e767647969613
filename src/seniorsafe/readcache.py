"""Rendered read responses of the api process, dropped the moment PostgreSQL commits a change they show.

The seniors list and detail are read far more often than they change. Triggers on the tables they show
(migration 0009) send `NOTIFY seniorsafe_seniors, '<org id>'` when a change commits, whichever process or
person made it; this cache LISTENs on its own connection and bumps that organisation's generation, which
invalidates every entry of the organisation. An entry is stored with the generation read *before* its
query ran, so a change that commits while a query runs can never leave a stale entry behind. While the
listening connection is down the cache is bypassed (and emptied when it comes back).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import asyncpg

from seniorsafe.db import libpq_url
from seniorsafe.subscription import Subscription

log = logging.getLogger(__name__)

CHANNEL = "seniorsafe_seniors"
EVERY_ORG = "*"
HEALTH_CHECK_SECONDS = 5.0
APPLICATION_NAME = "seniorsafe-read-cache"  # how the listening connection shows in pg_stat_activity

Token = tuple[int, int, int]


class ReadCache(Subscription):
    name = "read-cache-listener"

    def __init__(self, database_url: str | None, *, max_entries: int = 20_000, ttl_seconds: float = 30.0) -> None:
        super().__init__()
        self._dsn = libpq_url(database_url) if database_url else None
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        self._entries: dict[tuple[str, Hashable], tuple[Token, float, bytes]] = {}
        self._org_generation: dict[str, int] = {}
        self._every_org = 0
        self._epoch = 0
        self._conn: Any = None
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

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.invalidate(payload)

    def _on_terminated(self, _conn: Any) -> None:
        if self._live:
            log.warning("read cache: change notifications lost; bypassing the cache until they are back")
        self._live = False

    # ------------------------------------------------------------ the LISTEN connection

    async def start(self) -> None:
        if self._dsn is not None and self._max_entries > 0:
            await super().start()

    async def _hold(self) -> None:
        try:
            await self._connect()
            await self._watch_connection()
        finally:
            await self._close()

    async def _watch_connection(self) -> None:
        """Return when the listening connection is gone; a silent network loss is caught by a periodic ping."""
        while self._conn is not None and not self._conn.is_closed():
            await asyncio.sleep(HEALTH_CHECK_SECONDS)
            if self._conn is not None and not self._conn.is_closed():
                await asyncio.wait_for(self._conn.fetchval("SELECT 1"), timeout=HEALTH_CHECK_SECONDS)

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._dsn, server_settings={"application_name": APPLICATION_NAME})
        conn.add_termination_listener(self._on_terminated)
        await conn.add_listener(CHANNEL, self._on_notify)
        self._conn = conn
        # Anything may have changed while nobody listened: start from an empty cache.
        self._entries.clear()
        self._epoch += 1
        self._live = True

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await conn.close(timeout=2)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                conn.terminate()
