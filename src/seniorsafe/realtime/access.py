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

from seniorsafe.subscription import PgListener

log = logging.getLogger(__name__)

CHANNEL = "seniorsafe_access"

Refresh = Callable[[uuid.UUID], Awaitable[None]]
RefreshAll = Callable[[], Awaitable[None]]


class AccessListener(PgListener):
    name = "realtime-access"
    channel = CHANNEL
    application_name = "seniorsafe-realtime-access"

    def __init__(self, database_url: str, refresh: Refresh, refresh_all: RefreshAll) -> None:
        super().__init__(database_url)
        self.refresh = refresh
        self.refresh_all = refresh_all
        self.ready = asyncio.Event()
        self._pending: set[uuid.UUID] = set()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._worker = asyncio.create_task(self._drain(), name="realtime-access-refresh")
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def _on_listening(self) -> None:
        if self.ready.is_set():  # a reconnection: changes may have been missed meanwhile
            await self.refresh_all()
        self.ready.set()

    def _on_payload(self, payload: str) -> None:
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
