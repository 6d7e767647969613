"""Background subscriptions of one process (a PostgreSQL LISTEN, a Redis channel) that reconnect by themselves."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from seniorsafe.db import libpq_url

log = logging.getLogger(__name__)

HEALTH_CHECK_SECONDS = 5.0  # a LISTEN connection is pinged this often (a silent network loss shows up)


class Subscription(abc.ABC):
    """Holds one subscription open in a task, reconnecting with backoff; `live` only while it is up.

    Subclasses implement `_hold` (subscribe, set `_live`, return or raise when the subscription is lost) and
    may extend `_lost` (what must be forgotten because messages may have been missed)."""

    name = "subscription"

    def __init__(self) -> None:
        self._live = False
        self._task: asyncio.Task[None] | None = None

    @property
    def live(self) -> bool:
        return self._live

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run_forever(), name=self.name)

    async def stop(self) -> None:
        self._live = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @abc.abstractmethod
    async def _hold(self) -> None:
        """Subscribe and stay subscribed; return or raise when the subscription is gone."""

    def _lost(self) -> None:
        self._live = False

    async def _run_forever(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._hold()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure of the subscription: the owner degrades, we reconnect
                log.warning("%s: subscription lost (%s); retrying in %.1f s", self.name, exc, delay)
            if self._live:
                delay = 0.5
            self._lost()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


class PgListener(Subscription):
    """LISTEN on one PostgreSQL channel on a connection of its own (shown as `application_name` in
    pg_stat_activity). Notifications arrive only for committed transactions, whichever process made them.

    Subclasses implement `_on_payload` and may override `_on_listening`, which runs once the LISTEN is in place
    on every (re)connection, before `live` is set: the place to recover whatever was missed meanwhile."""

    channel = ""
    application_name = "seniorsafe"

    def __init__(self, database_url: str | None) -> None:
        super().__init__()
        self._dsn = libpq_url(database_url) if database_url else None

    async def start(self) -> None:
        if self._dsn is not None:
            await super().start()

    @abc.abstractmethod
    def _on_payload(self, payload: str) -> None:
        """One notification (called in the event loop, must not block)."""

    async def _on_listening(self) -> None:
        return None

    async def _hold(self) -> None:
        conn: Any = await asyncpg.connect(self._dsn, server_settings={"application_name": self.application_name})
        try:
            conn.add_termination_listener(self._on_terminated)
            await conn.add_listener(self.channel, self._on_notify)
            await self._on_listening()
            self._live = True
            while not conn.is_closed():
                await asyncio.sleep(HEALTH_CHECK_SECONDS)
                if not conn.is_closed():
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout=HEALTH_CHECK_SECONDS)
        finally:
            await _close(conn)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._on_payload(payload)

    def _on_terminated(self, _conn: Any) -> None:
        if self._live:
            log.warning("%s: notifications lost; degraded until they are back", self.name)
        self._lost()


async def _close(conn: Any) -> None:
    if not conn.is_closed():
        try:
            await conn.close(timeout=2)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            conn.terminate()
