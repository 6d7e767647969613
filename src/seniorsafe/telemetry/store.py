"""The time-series store's physical side: layout detection, daily partitions, retention."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

RETENTION_DAYS = 180       # keep in step with migration 0002 (TimescaleDB retention policy)
PARTITIONS_AHEAD = 3       # native layout: partitions created ahead of today


class PartitionManager:
    """Native layout: one partition per UTC day, created ahead and on demand (a backlog from an earlier day),
    dropped after the retention window. With TimescaleDB the hypertable does all of this itself."""

    def __init__(self) -> None:
        self.native: bool | None = None
        self._known: set[date] = set()

    async def detect(self, conn: Any) -> bool:
        if self.native is None:
            kind = await conn.fetchval("SELECT relkind::text FROM pg_class WHERE oid = to_regclass('sensor_events')")
            self.native = kind == "p"
        return self.native

    async def ensure(self, conn: Any, days: set[date]) -> None:
        if not await self.detect(conn):
            return
        missing = sorted(days - self._known)
        if not missing:
            return
        await conn.execute("SELECT sensor_events_ensure_partition(d) FROM unnest($1::date[]) AS d", missing)
        self._known.update(missing)

    async def maintain(self, conn: Any, retention_days: int = RETENTION_DAYS) -> list[str]:
        """Create the partitions ahead and drop the ones wholly older than the retention window."""
        if not await self.detect(conn):
            return []
        today = datetime.now(UTC).date()
        await self.ensure(conn, {today + timedelta(days=d) for d in range(-1, PARTITIONS_AHEAD + 1)})
        cutoff = "sensor_events_p" + (today - timedelta(days=retention_days + 1)).strftime("%Y%m%d")
        rows = await conn.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'sensor_events'::regclass AND c.relname < $1 ORDER BY c.relname", cutoff)
        dropped = []
        for row in rows:
            await conn.execute(f'DROP TABLE IF EXISTS "{row["relname"]}"')
            dropped.append(row["relname"])
            log.info("dropped partition %s (retention %d days)", row["relname"], retention_days)
        self._known = {d for d in self._known if "sensor_events_p" + d.strftime("%Y%m%d") >= cutoff}
        return dropped
