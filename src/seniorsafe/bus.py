"""The one bus: Redis for the event stream, pub/sub fan-out, caches, rate limits and revocations.

Every key and channel goes through `Bus.key` so that deployments (and test runs) sharing a Redis
never see each other's data.
"""

from __future__ import annotations

from typing import Any

import orjson
import redis.asyncio as aioredis

from seniorsafe.config import Settings


class Bus:
    def __init__(self, settings: Settings, client: aioredis.Redis | None = None) -> None:
        self.prefix = settings.redis_prefix
        # No read timeout: blocking reads (BLPOP, XREADGROUP BLOCK) wait longer than any sane default; a dead
        # connection is caught by the health check instead.
        self.redis: aioredis.Redis = client or aioredis.from_url(
            settings.redis_url, decode_responses=False, socket_timeout=None, socket_connect_timeout=5,
            health_check_interval=30)

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    async def publish(self, channel: str, payload: dict[str, Any]) -> None:
        await self.redis.publish(self.key("pub", channel), orjson.dumps(payload))

    async def hit_counter(self, name: str, window_seconds: int) -> int:
        """Increment a fixed-window counter and return its value."""
        key = self.key("rl", name)
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, window_seconds, nx=True)
        count, _ = await pipe.execute()
        return int(count)

    async def counter_value(self, name: str) -> int:
        raw = await self.redis.get(self.key("rl", name))
        return int(raw) if raw else 0

    async def clear_counter(self, name: str) -> None:
        await self.redis.delete(self.key("rl", name))

    async def mark_revoked(self, kind: str, ident: str, ttl_seconds: int) -> None:
        await self.redis.set(self.key("revoked", kind, ident), b"1", ex=max(ttl_seconds, 1))

    async def is_revoked(self, kind: str, ident: str) -> bool:
        return bool(await self.redis.exists(self.key("revoked", kind, ident)))

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def close(self) -> None:
        await self.redis.aclose()
