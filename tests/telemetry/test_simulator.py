"""The simulator: plausible days, scenarios, and its events arrive through MQTT ingest."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from seniorsafe.config import Settings
from seniorsafe.deps import AppState
from seniorsafe.seed import DEMO_SENSORS
from seniorsafe.simulate.residents import scenario_events
from seniorsafe.simulate.runner import MqttSender, _play, apply_scenarios, resident_events
from seniorsafe.telemetry import dynsec
from tests.telemetry.conftest import IngestProcess, last_morning, register_hub


def test_days_are_plausible() -> None:
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 00:00 in Seoul
    events = resident_events(0, start, start + timedelta(days=3), seed=1)
    sensors = {s for s, *_ in DEMO_SENSORS}
    assert {e[1] for e in events} <= sensors
    assert len(events) > 300
    beds = [(e[0], e[2]) for e in events if e[1] == "bed"]
    assert sum(1 for _, v in beds if v == 1) >= 3  # went to bed every night
    night = [e for e in events if 2 <= e[0].astimezone(UTC).hour + 9 - 24 < 4 and e[1] == "door-front"]
    assert not night  # no night exits on an ordinary day
    other = resident_events(1, start, start + timedelta(days=3), seed=1)
    assert events != other  # personal habits differ


def test_fall_scenario_leaves_stillness() -> None:
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    events = {"h": resident_events(0, start, start + timedelta(days=1), seed=1)}
    apply_scenarios(events, ["fall@10:00"], start, start + timedelta(days=1), seed=1)
    after = [e for e in events["h"] if e[0] > datetime(2026, 3, 3, 1, 3, tzinfo=UTC) + timedelta(minutes=1)]
    assert after == []
    assert scenario_events("button", start, __import__("random").Random(1))[0][0][1] == "button"


async def test_simulated_events_are_ingested(client: httpx.AsyncClient, state: AppState, mqtt_settings: Settings,
                                             ingest: IngestProcess, tele_orgs: list) -> None:
    h = await register_hub(client, tele_orgs[0])
    await dynsec.drain()
    start = last_morning()  # waking hours: at night the simulated resident may not move at all
    events = resident_events(0, start, start + timedelta(hours=3), seed=3)
    sender = MqttSender(mqtt_settings, [(h.hub_id, h.secret)])
    await asyncio.to_thread(_play, sender, [(e[0], h.hub_id, e) for e in events], [], start, 0.0)
    await asyncio.sleep(0.5)
    sender.close()
    count = 0
    for _ in range(100):
        async with state.db.sessions() as s:
            count = int(await s.scalar(text("SELECT count(*) FROM sensor_events WHERE hub_id = :h"),
                                       {"h": h.hub_id}) or 0)
        if count == len(events):
            break
        await asyncio.sleep(0.1)
    assert count == len(events) > 0
