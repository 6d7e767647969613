"""Database engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import ClauseElement

from seniorsafe.config import Settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Database:
    """Owns the engine and the session factory of one process."""

    def __init__(self, settings: Settings) -> None:
        self.engine: AsyncEngine = create_async_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_recycle=1800,
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def raw(self) -> AsyncIterator[Any]:
        """A pooled connection as the plain asyncpg connection, for hot paths (COPY, prepared statements)."""
        async with self.engine.connect() as sa_conn:
            yield (await sa_conn.get_raw_connection()).driver_connection

    async def dispose(self) -> None:
        await self.engine.dispose()


def sync_url(url: str) -> str:
    """The psycopg (sync) form of an asyncpg URL, for Alembic and COPY."""
    return url.replace("+asyncpg", "+psycopg")


def libpq_url(url: str) -> str:
    """A plain libpq URL (no SQLAlchemy driver part)."""
    return url.replace("postgresql+asyncpg://", "postgresql://").replace("postgresql+psycopg://", "postgresql://")


class Precompiled:
    """A statement compiled once to SQL for the raw asyncpg connection, for the hottest read paths.

    SQLAlchemy builds, caches and executes statements well, but at a cost of milliseconds per request on
    the seniors list; here the statement is built once per shape with bind parameters, compiled once, and
    run through asyncpg's own prepared-statement cache.
    """

    def __init__(self, build: Callable[[], ClauseElement]) -> None:
        self._build = build
        self._compiled: tuple[str, tuple[str, ...], dict[str, Any]] | None = None

    def _sql(self, dialect: Dialect) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        if self._compiled is None:
            compiled = self._build().compile(dialect=dialect)
            constants = {k: v for k, v in compiled.params.items() if v is not None}  # literals bound by SQLAlchemy
            self._compiled = (compiled.string, tuple(getattr(compiled, "positiontup", None) or ()), constants)
        return self._compiled

    async def fetch(self, session: AsyncSession, params: dict[str, Any]) -> list[Any]:
        conn = await session.connection()
        sql, names, constants = self._sql(conn.dialect)
        values = {**constants, **params}
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        rows: list[Any] = await driver.fetch(sql, *(values[n] for n in names))
        return rows
