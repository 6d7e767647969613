"""Loader row counts against the numbers stated in each dataset README."""

from __future__ import annotations

import pytest

from seniorsafe.detection.datasets import data_dir, load_dataset

pytestmark = pytest.mark.skipif(not data_dir().is_dir(), reason="shared data folder not available")


@pytest.mark.parametrize(
    ("name", "rows", "sensors", "malformed"),
    [
        ("ordonez_a", 409, 12, 0),
        ("ordonez_b", 2334, 12, 0),
        ("kasteren_ka", 1229, 14, 0),
        ("kasteren_kb", 19075, 23, 0),
        ("kasteren_kc", 22700, 21, 0),
        ("kasteren2008_a", 1319, 14, 0),
        ("tapia_s1", 2772, 76, 0),
        ("tapia_s2", 1865, 70, 10),
    ],
)
def test_row_counts_match_readmes(name: str, rows: int, sensors: int, malformed: int) -> None:
    ds = load_dataset(name)
    assert ds.rows == rows
    assert ds.malformed == malformed
    assert len(ds.events) == 2 * rows  # each interval: on at start, off at end
    assert len(ds.sensors) <= sensors
    assert all(a.ts <= b.ts for a, b in zip(ds.events, ds.events[1:], strict=False))


def test_sensor_mapping_is_sensible() -> None:
    a = load_dataset("ordonez_a").sensors
    assert a["maindoor_entrance"].is_exterior_door
    assert a["bed_bedroom"].kind == "presence" and a["bed_bedroom"].room == "bedroom"
    assert a["toilet_bathroom"].kind == "flush"
    kb = load_dataset("kasteren_kb").sensors
    assert kb["28_pir_kitchen"].kind == "motion" and kb["28_pir_kitchen"].room == "kitchen"
    assert kb["7_frontdoor"].is_exterior_door
    assert not load_dataset("tapia_s1").continuous


def test_data_dir_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SENIORSAFE_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    with pytest.raises(FileNotFoundError):
        load_dataset("ordonez_a")
