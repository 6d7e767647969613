"""Which hubs and sensors exist, cached per ingest process (refreshed on a miss and every few seconds)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

SENSOR_SQL = """
SELECT h.id AS hub_id, h.org_id, h.home_id, h.status::text AS status, ho.senior_id,
       s.id AS sensor_pk, s.sensor_id, s.kind::text AS kind, s.room::text AS room
FROM hubs h JOIN homes ho ON ho.id = h.home_id LEFT JOIN sensors s ON s.hub_id = h.id
WHERE h.id = ANY($1::text[])
"""


@dataclass(frozen=True, slots=True)
class SensorInfo:
    pk: int
    sensor_id: str
    kind: str
    room: str


@dataclass(slots=True)
class HubInfo:
    hub_id: str
    org_id: uuid.UUID
    home_id: uuid.UUID
    senior_id: uuid.UUID
    active: bool
    sensors: dict[str, SensorInfo] = field(default_factory=dict)
    loaded_at: float = 0.0
    # The ids as text, made once: every event of the hub carries them to the stream and the live channel.
    org_s: str = field(init=False)
    home_s: str = field(init=False)
    senior_s: str = field(init=False)

    def __post_init__(self) -> None:
        self.org_s, self.home_s, self.senior_s = str(self.org_id), str(self.home_id), str(self.senior_id)


class Directory:
    """hub id → HubInfo. A hub unknown to the database is remembered as None for `negative_ttl` seconds."""

    def __init__(self, ttl: float = 30.0, negative_ttl: float = 2.0) -> None:
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self._hubs: dict[str, tuple[float, HubInfo | None]] = {}

    def get(self, hub_id: str) -> HubInfo | None:
        entry = self._hubs.get(hub_id)
        return entry[1] if entry else None

    def stale(self, hub_id: str, now: float) -> bool:
        entry = self._hubs.get(hub_id)
        if entry is None:
            return True
        ttl = self.ttl if entry[1] is not None else self.negative_ttl
        return now - entry[0] > ttl

    def needs_sensor_refresh(self, hub_id: str, now: float) -> bool:
        entry = self._hubs.get(hub_id)
        return entry is not None and now - entry[0] > self.negative_ttl

    def invalidate(self, hub_id: str | None = None) -> None:
        if hub_id is None:
            self._hubs.clear()
        else:
            self._hubs.pop(hub_id, None)

    async def load(self, conn: Any, hub_ids: list[str]) -> None:
        if not hub_ids:
            return
        now = time.monotonic()
        found: dict[str, HubInfo] = {}
        for row in await conn.fetch(SENSOR_SQL, hub_ids):
            hub = found.get(row["hub_id"])
            if hub is None:
                hub = found[row["hub_id"]] = HubInfo(row["hub_id"], row["org_id"], row["home_id"], row["senior_id"],
                                                     row["status"] == "active", loaded_at=now)
            if row["sensor_pk"] is not None:
                hub.sensors[row["sensor_id"]] = SensorInfo(row["sensor_pk"], row["sensor_id"], row["kind"], row["room"])
        for hub_id in hub_ids:
            self._hubs[hub_id] = (now, found.get(hub_id))
