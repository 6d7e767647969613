"""Migration 0010: stored per-pause sensitivities become false-alarm budgets per day (and back)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from seniorsafe.detection import Thresholds
from seniorsafe.migrate import downgrade, upgrade

from ..conftest import PG_ADMIN_URL, _database_url


@pytest.fixture
def db(run_id: str) -> Iterator[tuple[str, str]]:
    name = f"ss_test_mig_{run_id}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _database_url(name), PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _layers(plain_url: str) -> list[dict[str, object]]:
    with psycopg.connect(plain_url) as conn:
        rows = conn.execute(
            "SELECT settings->'detection_thresholds' FROM organisations UNION ALL "
            "SELECT settings->'detection_thresholds' FROM seniors ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


def test_old_sensitivities_are_rewritten_as_budgets_per_day(db: tuple[str, str]) -> None:
    url, plain = db
    upgrade(url, "0009_read_cache")
    org, senior = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(plain) as conn:
        conn.execute(
            "INSERT INTO organisations (id, name, settings) VALUES (%s, 'A', %s)",
            (org, json.dumps({"detection_thresholds": {"inactivity_danger_p": 0.005, "bathroom_stay_min": 30},
                              "other": 1})),
        )
        conn.execute(
            "INSERT INTO seniors (id, org_id, name, health_conditions, medications, video_consent, risk_level, "
            "settings) VALUES (%s, %s, 'S', '[]', '[]', false, 'unknown', %s)",
            (senior, org, json.dumps({"detection_thresholds": {"inactivity_caution_p": 0.05}})),
        )
        conn.execute(
            "INSERT INTO organisations (id, name, settings) VALUES (%s, 'B', %s)",
            (uuid.uuid4(), json.dumps({"detection_thresholds": {"no_activity_hours": 8}})),
        )
    upgrade(url)
    layers = _layers(plain)
    assert {"inactivity_danger_per_day": 0.2, "bathroom_stay_min": 30} in layers
    assert {"inactivity_caution_per_day": 1.0} in layers  # 0.05 x 40 = 2, capped at 1 a day
    assert {"no_activity_hours": 8} in layers  # untouched
    for layer in layers:
        Thresholds.from_dict(layer)  # every stored layer is valid for the detector again
    with psycopg.connect(plain) as conn:
        assert conn.execute("SELECT settings->>'other' FROM organisations WHERE id = %s", (org,)).fetchone() == ("1",)
    downgrade(url, "0009_read_cache")
    assert {"inactivity_danger_p": 0.005, "bathroom_stay_min": 30} in _layers(plain)
