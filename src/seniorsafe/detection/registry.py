"""The personal-model registry (FR-09): versioned artifacts in object storage, rows in `personal_models`,
the newest artifact of each resident cached in Redis, and the "model updated" message detectors reload on.

Redis (all through `Bus.key`):
  hash  `model:{senior_id}`        fields `version` (int as text), `artifact` (bytes)   — the cache
  channel `pub:model_updated`      {"senior_id", "version", "artifact_key"}              — reload signal
  list  `train:requests`           senior ids queued by the API for the trainer
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.alerts.models import PersonalModelVersion
from seniorsafe.bus import Bus
from seniorsafe.storage import ObjectNotFound, Storage

MODEL_UPDATED = "model_updated"
CACHE_TTL_S = 14 * 86400  # a cold resident's artifact falls back to object storage after two weeks


def artifact_key(senior_id: uuid.UUID, version: int) -> str:
    return f"models/{senior_id}/v{version}.bin"


def cache_key(bus: Bus, senior_id: uuid.UUID) -> str:
    return bus.key("model", senior_id)


def train_queue_key(bus: Bus) -> str:
    return bus.key("train", "requests")


@dataclass(frozen=True)
class LoadedArtifact:
    version: int
    data: bytes
    source: str  # cache | storage


class ArtifactUnavailable(Exception):
    """The registry names an artifact that cannot be read: a fault, not 'no model yet'."""


async def latest_version(session: AsyncSession, senior_id: uuid.UUID) -> PersonalModelVersion | None:
    return await session.scalar(
        select(PersonalModelVersion)
        .where(PersonalModelVersion.senior_id == senior_id, PersonalModelVersion.status == "active")
        .order_by(PersonalModelVersion.version.desc()).limit(1))


async def next_version(session: AsyncSession, senior_id: uuid.UUID) -> int:
    current = await session.scalar(select(func.max(PersonalModelVersion.version))
                                   .where(PersonalModelVersion.senior_id == senior_id))
    return int(current or 0) + 1


async def record_version(session: AsyncSession, row: PersonalModelVersion) -> None:
    """Add the new version as the active one; older active versions become superseded (caller commits)."""
    await session.execute(update(PersonalModelVersion)
                          .where(PersonalModelVersion.senior_id == row.senior_id,
                                 PersonalModelVersion.status == "active")
                          .values(status="superseded"))
    session.add(row)


async def cache_artifact(bus: Bus, senior_id: uuid.UUID, version: int, data: bytes) -> None:
    key = cache_key(bus, senior_id)
    pipe = bus.redis.pipeline(transaction=True)
    pipe.hset(key, mapping={"version": str(version), "artifact": data})
    pipe.expire(key, CACHE_TTL_S)
    await pipe.execute()


async def cached_artifact(bus: Bus, senior_id: uuid.UUID) -> LoadedArtifact | None:
    raw: Any = await bus.redis.hgetall(cache_key(bus, senior_id))
    if not raw or b"artifact" not in raw or b"version" not in raw:
        return None
    return LoadedArtifact(int(raw[b"version"]), bytes(raw[b"artifact"]), "cache")


async def load_artifact(session: AsyncSession, bus: Bus, storage: Storage,
                        senior_id: uuid.UUID) -> LoadedArtifact | None:
    """The newest active artifact: Redis first, object storage second. None = no model yet (use priors).

    Raises ArtifactUnavailable when the registry has a version whose artifact cannot be read.
    """
    row = await latest_version(session, senior_id)
    if row is None:
        return None
    cached = await cached_artifact(bus, senior_id)
    if cached is not None and cached.version == row.version:
        return cached
    try:
        data = await storage.get(row.artifact_key)
    except ObjectNotFound as exc:
        raise ArtifactUnavailable(f"the artifact {row.artifact_key} of model v{row.version} is missing") from exc
    except Exception as exc:  # any storage failure (network, permissions) is a fault, reported not raised
        raise ArtifactUnavailable(f"object storage failed for {row.artifact_key}: {type(exc).__name__}") from exc
    await cache_artifact(bus, senior_id, row.version, data)
    return LoadedArtifact(row.version, data, "storage")


async def publish_model_updated(bus: Bus, senior_id: uuid.UUID, version: int, key: str) -> None:
    await bus.publish(MODEL_UPDATED, {"senior_id": str(senior_id), "version": version, "artifact_key": key})


def model_updated_channel(bus: Bus) -> str:
    return bus.key("pub", MODEL_UPDATED)


async def request_training(bus: Bus, senior_id: uuid.UUID) -> None:
    await bus.redis.rpush(train_queue_key(bus), str(senior_id))


def decode(payload: bytes) -> dict[str, Any]:
    data = orjson.loads(payload)
    return data if isinstance(data, dict) else {}
