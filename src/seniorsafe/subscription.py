"""A background subscription of one process (a LISTEN, a Redis channel) that reconnects by itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


class Subscription:
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

    async def _hold(self) -> None:
        raise NotImplementedError

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
