"""Live access changes: move a user's connected sockets into or out of rooms when what they may see changes.

PostgreSQL triggers (migration 0008) call `pg_notify('seniorsafe_access', '<user_id>')` on commit whenever a
staff assignment, a guardian link or an incident-responder grant of that user is added, changed or removed,
whatever code path made the change (REST, seed, admin scripts). Every api process LISTENs on its own
connection and re-computes the rooms of that user's sockets in this process (`Gateway.refresh_user`).

Notifications are coalesced (many rows of one transaction → one refresh per user). When the listening
connection is lost, it reconnects and refreshes every local user, since changes may have been missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from seniorsafe.db import libpq_url

log = logging.getLogger(__name__)

CHANNEL = "seniorsafe_access"
RECONNECT_SECONDS = 1.0

Refresh = Callable[[uuid.UUID], Awaitable[None]]
RefreshAll = Callable[[], Awaitable[None]]


class AccessListener:
    def __init__(self, database_url: str, refresh: Refresh, refresh_all: RefreshAll) -> None:
        self.dsn = libpq_url(database_url)
        self.refresh = refresh
        self.refresh_all = refresh_all
        self.ready = asyncio.Event()
        self._pending: set[uuid.UUID] = set()
        self._wake = asyncio.Event()

    async def run(self) -> None:
        worker = asyncio.create_task(self._drain(), name="realtime-access-refresh")
        try:
            first = True
            while True:
                try:
                    await self._listen_once(resync=not first)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("access-change listener lost its connection; reconnecting")
                first = False
                await asyncio.sleep(RECONNECT_SECONDS)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _listen_once(self, resync: bool) -> None:
        conn = await asyncpg.connect(self.dsn)
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _: lost.set())
        try:
            await conn.add_listener(CHANNEL, self._notified)
            self.ready.set()
            if resync:
                await self.refresh_all()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), 10.0)
                if not lost.is_set():
                    await conn.execute("SELECT 1")  # notices a silently dropped connection
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self._pending.add(uuid.UUID(payload))
            self._wake.set()

    async def _drain(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            users, self._pending = self._pending, set()
            for user_id in users:
                try:
                    await self.refresh(user_id)
                except Exception:
                    log.exception("rooms of user %s could not be refreshed", user_id)
