"""What the detector and trainer services read from PostgreSQL: homes, their sensors as detection
`SensorInfo`, layered thresholds, event history and staff feedback (no HTTP, no Redis)."""

from __future__ import annotations

import logging
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ClauseElement, Float, bindparam, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.models import Organisation
from seniorsafe.alerts.models import Alert, Outcome, PersonalModelVersion
from seniorsafe.db import Precompiled
from seniorsafe.homes.models import Connectivity, Home, Hub, Sensor
from seniorsafe.seniors.models import Senior
from seniorsafe.telemetry.models import SensorEvent

from .coverage import blind_spots
from .detector import STILLNESS_KINDS
from .events import ROOMS, SENSOR_KINDS, Event, SensorInfo
from .personal import EMERGENCY, feedback_kind
from .registry import latest_version
from .thresholds import Thresholds

log = logging.getLogger(__name__)

THRESHOLDS_KEY = "detection_thresholds"
#: the bus event (on `org:{org_id}`) after an admin changed thresholds (detection/configuration.py)
THRESHOLDS_CHANGED = "detection.thresholds_changed"


@dataclass
class HomeInfo:
    """A home as the detection services see it."""

    home_id: uuid.UUID
    org_id: uuid.UUID
    senior_id: uuid.UUID
    tz: str
    sensors: dict[str, SensorInfo]
    by_pk: dict[int, str]  # sensors.id (our primary key) -> detection sensor id
    thresholds: Thresholds
    hub_offline: bool = False
    kinds: dict[str, str] = field(default_factory=dict)  # detection id -> sensor kind


def shard_of(home_id: uuid.UUID | str, shards: int) -> int:
    """Stable owner of a home among `shards` detectors (crc32: the same in every process)."""
    return zlib.crc32(str(home_id).encode()) % max(1, shards)


def thresholds_for(org_settings: dict[str, Any] | None, senior_settings: dict[str, Any] | None,
                   where: str = "") -> Thresholds:
    """Organisation overrides, then the senior's; a broken layer is logged and skipped, never fatal."""
    org_layer = (org_settings or {}).get(THRESHOLDS_KEY)
    senior_layer = (senior_settings or {}).get(THRESHOLDS_KEY)
    for layers in ((org_layer, senior_layer), (org_layer,), ()):
        try:
            return Thresholds.layered(*[x if isinstance(x, dict) else None for x in layers])
        except ValueError as exc:
            log.warning("detection thresholds of %s ignored: %s", where or "a home", exc)
    return Thresholds()


def map_sensors(rows: Iterable[Sensor]) -> tuple[dict[str, SensorInfo], dict[int, str]]:
    """Our sensors (hub, sensor_id, kind, room) as detection SensorInfo keyed by a home-unique id.

    The id is the hub's sensor_id, prefixed with the hub when two hubs of one home use the same name."""
    rows = list(rows)
    counts: dict[str, int] = defaultdict(int)
    for s in rows:
        counts[s.sensor_id] += 1
    sensors: dict[str, SensorInfo] = {}
    by_pk: dict[int, str] = {}
    for s in rows:
        kind, room = str(s.kind), str(s.room)
        if kind not in SENSOR_KINDS or room not in ROOMS:
            log.warning("sensor %s (%s in %s) is not known to the detector; ignored", s.id, kind, room)
            continue
        sid = s.sensor_id if counts[s.sensor_id] == 1 else f"{s.hub_id}:{s.sensor_id}"
        sensors[sid] = SensorInfo(sid, kind, room)
        by_pk[s.id] = sid
    return sensors, by_pk


async def load_homes(session: AsyncSession, home_ids: Iterable[uuid.UUID] | None = None) -> list[HomeInfo]:
    """Homes with their senior, organisation settings, sensors and hub connectivity."""
    query = (select(Home, Senior.settings, Organisation.settings)
             .join(Senior, Senior.id == Home.senior_id).join(Organisation, Organisation.id == Home.org_id))
    ids = list(home_ids) if home_ids is not None else None
    if ids is not None:
        query = query.where(Home.id.in_(ids))
    rows = (await session.execute(query)).all()
    if not rows:
        return []
    wanted = [r[0].id for r in rows]
    sensors_by_home: dict[uuid.UUID, list[Sensor]] = defaultdict(list)
    for s in (await session.scalars(select(Sensor).where(Sensor.home_id.in_(wanted)).order_by(Sensor.id))).all():
        sensors_by_home[s.home_id].append(s)
    offline = set(await session.scalars(select(Hub.home_id).where(
        Hub.home_id.in_(wanted), Hub.connectivity == Connectivity.offline)))
    out = []
    for home, senior_settings, org_settings in rows:
        sensors, by_pk = map_sensors(sensors_by_home[home.id])
        out.append(HomeInfo(
            home_id=home.id, org_id=home.org_id, senior_id=home.senior_id, tz=home.timezone or "UTC",
            sensors=sensors, by_pk=by_pk, thresholds=thresholds_for(org_settings, senior_settings, f"home {home.id}"),
            hub_offline=home.id in offline, kinds={k: v.kind for k, v in sensors.items()}))
    return out


async def home_thresholds(session: AsyncSession, home_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Thresholds]:
    """The layered thresholds of these homes as stored now (after a change announced on the bus)."""
    ids = list(home_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Home.id, Senior.settings, Organisation.settings).join(Senior, Senior.id == Home.senior_id)
        .join(Organisation, Organisation.id == Home.org_id).where(Home.id.in_(ids)))
    return {home_id: thresholds_for(org_settings, senior_settings, f"home {home_id}")
            for home_id, senior_settings, org_settings in rows}


async def senior_sensors(session: AsyncSession, senior_id: uuid.UUID) -> dict[str, SensorInfo] | None:
    """The sensors of the senior's home as the detector sees them (None: the senior has no home yet), in one query."""
    rows = (await session.execute(select(Home.id, Sensor).outerjoin(Sensor, Sensor.home_id == Home.id)
                                  .where(Home.senior_id == senior_id).order_by(Sensor.id))).all()
    if not rows:
        return None
    return map_sensors(sensor for _, sensor in rows if sensor is not None)[0]


async def home_of_senior(session: AsyncSession, senior_id: uuid.UUID) -> HomeInfo | None:
    home_id = await session.scalar(select(Home.id).where(Home.senior_id == senior_id))
    if home_id is None:
        return None
    homes = await load_homes(session, [home_id])
    return homes[0] if homes else None


async def offline_homes(session: AsyncSession) -> set[uuid.UUID]:
    return set(await session.scalars(select(Hub.home_id).where(Hub.connectivity == Connectivity.offline)))


@dataclass(frozen=True, slots=True)
class StoredEvent:
    event: Event
    hub: str
    seq: int


#: the end of a history read without an end
NO_END = datetime(9999, 1, 1, tzinfo=UTC)


def _history_query() -> ClauseElement:
    e = SensorEvent
    epoch = cast(func.extract("epoch", e.ts), Float(53))  # a float from the server: no datetime per row
    return (select(epoch, e.hub_id, e.seq, e.sensor_pk, e.value, e.late)
            .where(e.home_id == bindparam("home_id"), e.ts >= bindparam("since"), e.ts < bindparam("until"))
            .order_by(e.ts, e.hub_id, e.seq))


# straight through asyncpg: the trainer reads 90 days of a home each night, and SQLAlchemy's row processing cost
# more than the query (a densely sensed home, 458k events: 3.6 s through a streamed ORM result, see bench/trainer.py)
_HISTORY = Precompiled(_history_query)


async def history(session: AsyncSession, home: HomeInfo, since: datetime,
                  until: datetime | None = None) -> list[StoredEvent]:
    """The home's stored events since `since` in time order (late ones keep their flag)."""
    rows = await _HISTORY.fetch(session, {"home_id": home.home_id, "since": since, "until": until or NO_END})
    by_pk = home.by_pk
    return [StoredEvent(Event(ts, sid, float(value), late), hub_id, seq)
            for ts, hub_id, seq, sensor_pk, value, late in rows if (sid := by_pk.get(sensor_pk)) is not None]


#: how staff resolve a stillness that was a real emergency
EMERGENCY_OUTCOMES = (Outcome.help_sent, Outcome.hospital)


async def staff_feedback(session: AsyncSession, senior_id: uuid.UUID, since: datetime) -> list[tuple[float, str]]:
    """What staff said about this resident's alerts, for PersonalModel.fit, as (time the alert was raised, kind),
    in time order, from one query:
    - false alarms (FR-13) by feedback kind; a routine change names the check that raised it
      (``routine_change:no_meal``);
    - stillness alerts resolved as real emergencies (help sent, hospital) as ``"emergency"``: their silences are
      taken out of what the model learns as this resident's normal."""
    emergency = Alert.kind.in_(STILLNESS_KINDS) & Alert.outcome.in_(EMERGENCY_OUTCOMES)
    rows = await session.execute(
        select(Alert.opened_at, Alert.kind, Alert.details["reason"].astext, Alert.outcome)
        .where(Alert.senior_id == senior_id, Alert.opened_at >= since,
               (Alert.outcome == Outcome.false_alarm) | emergency)
        .order_by(Alert.opened_at))
    return [(opened.timestamp(), feedback_kind(kind, reason) if outcome == Outcome.false_alarm else EMERGENCY)
            for opened, kind, reason, outcome in rows]


LEARNING_TEXT = ("No personal model yet: the detector watches with the fixed safety rules and typical values "
                 "until enough days of sensor data have been recorded (the first training runs at night).")


async def model_status_of(session: AsyncSession, senior: Senior) -> dict[str, Any]:
    """The resident's personal model for the dashboard: learning or ready (and since when), version, data range,
    plain-words summary, an open model fault, and what the home's sensors cannot see."""
    senior_id, created_at = senior.id, senior.created_at
    org_settings = await session.scalar(select(Organisation.settings).where(Organisation.id == senior.org_id))
    young_days = thresholds_for(org_settings, senior.settings).young_model_days
    row = await latest_version(session, senior_id)
    fault = await session.scalar(select(Alert.evidence).where(
        Alert.senior_id == senior_id, Alert.kind == "model_fault", Alert.closed_at.is_(None)).limit(1))
    sensors = await senior_sensors(session, senior_id)
    blind = blind_spots(sensors) if sensors is not None else []
    if row is None:
        return {"senior_id": senior_id, "status": "learning", "since": created_at, "summary": LEARNING_TEXT,
                "fault": fault, "blind_spots": blind}
    ready = row.days >= young_days
    since = row.created_at
    if ready:
        since = await session.scalar(select(func.min(PersonalModelVersion.created_at)).where(
            PersonalModelVersion.senior_id == senior_id, PersonalModelVersion.days >= young_days)) or since
    else:
        since = created_at
    metrics = dict(row.metrics or {})
    return {
        "senior_id": senior_id, "status": "ready" if ready else "learning", "since": since, "version": row.version,
        "trained_at": row.created_at, "days": row.days, "events": row.events, "data_from": row.data_from,
        "data_to": row.data_to, "feedback_used": int(metrics.get("feedback_used") or 0),
        "summary": str(metrics.pop("summary", "") or LEARNING_TEXT), "fault": fault,
        "daily": metrics.pop("daily", None) or [], "metrics": metrics, "blind_spots": blind,
    }
