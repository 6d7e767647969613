"""Trainer, registry, model load/reload/fault, false-alarm feedback and the model-status API."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from seniorsafe.alerts.lifecycle import Decision, apply_decision, close_alert
from seniorsafe.alerts.models import AlertStatus, Outcome, PersonalModelVersion
from seniorsafe.deps import AppState
from seniorsafe.detection import PersonalModel, registry
from seniorsafe.detection.detector_service import DetectorService
from seniorsafe.detection.service import staff_feedback
from seniorsafe.detection.trainer import TrainerService, train_senior
from tests.conftest import Org
from tests.detection_service.conftest import alerts_of, day_of_life, drain, new_home, send
from tests.telemetry.conftest import HubFixture

DAYS = 3


async def home_with_history(client: httpx.AsyncClient, state: AppState, org: Org) -> tuple[HubFixture, float]:
    hub = await new_home(client, org)
    start = time.time() - (DAYS + 0.5) * 86400
    await send(state, hub, day_of_life(start, DAYS))
    return hub, start


async def test_trainer_writes_artifact_registry_cache_and_publishes(client: httpx.AsyncClient, state: AppState,
                                                                     det_orgs: list[Org]) -> None:
    hub, _ = await home_with_history(client, state, det_orgs[0])
    senior = uuid.UUID(hub.senior_id)
    pubsub = state.bus.redis.pubsub()
    await pubsub.subscribe(registry.model_updated_channel(state.bus))
    try:
        result = await train_senior(state.db, state.bus, state.storage, senior)
        assert result.version == 1 and result.days >= DAYS and result.events > 100
        assert result.artifact_key == f"models/{senior}/v1.bin"
        model = PersonalModel.from_bytes(await state.storage.get(result.artifact_key))
        assert model.days == result.days
        cached = await registry.cached_artifact(state.bus, senior)
        assert cached is not None and cached.version == 1
        msg: Any = None
        for _ in range(50):
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if msg:
                break
        assert msg is not None and orjson.loads(msg["data"])["senior_id"] == str(senior)
        second = await train_senior(state.db, state.bus, state.storage, senior)
        assert second.version == 2
        async with state.db.sessions() as session:
            rows = (await session.scalars(select(PersonalModelVersion).where(PersonalModelVersion.senior_id == senior)
                                          .order_by(PersonalModelVersion.version))).all()
        assert [(r.version, r.status) for r in rows] == [(1, "superseded"), (2, "active")]
        assert rows[1].events == result.events and rows[1].data_from is not None and "summary" in rows[1].metrics
    finally:
        await pubsub.aclose()


async def test_false_alarm_feedback_reaches_fit(client: httpx.AsyncClient, state: AppState,
                                                det_orgs: list[Org]) -> None:
    hub, start = await home_with_history(client, state, det_orgs[0])
    senior, home = uuid.UUID(hub.senior_id), uuid.UUID(hub.home_id)
    at = start + 86400 + 5 * 3600  # during the second day's waking hours
    async with state.db.sessions() as session:
        alert = await apply_decision(session, state.bus, org_id=uuid.UUID(det_orgs[0].id), senior_id=senior,
                                     home_id=home, decision=Decision("open", "inactivity", "caution", "living",
                                                                     "no movement", at, {}))
        assert alert is not None
        alert = await session.merge(alert)
        await close_alert(session, alert, at=datetime.fromtimestamp(at + 600, UTC), outcome=Outcome.false_alarm,
                          text="false alarm")
        await session.commit()
    result = await train_senior(state.db, state.bus, state.storage, senior)
    assert result.feedback == 1
    assert result.metrics["feedback_used"] == 1
    model = PersonalModel.from_bytes(await state.storage.get(result.artifact_key))
    assert (model.feedback_factor > 1.0).any()  # the model became less eager in that context

    # a missed meal marked as a false alarm reaches the fit with the check that raised it
    async with state.db.sessions() as session:
        meal = await apply_decision(session, state.bus, org_id=uuid.UUID(det_orgs[0].id), senior_id=senior,
                                    home_id=home, decision=Decision("open", "routine_change", "caution", "kitchen",
                                                                    "a missed meal?", at + 3600, {"reason": "no_meal"}))
        assert meal is not None
        meal = await session.merge(meal)
        await close_alert(session, meal, at=datetime.fromtimestamp(at + 4000, UTC), outcome=Outcome.false_alarm,
                          text="she ate at her daughter's")
        await session.commit()
        labels = [kind for _, kind in await staff_feedback(session, senior, datetime.fromtimestamp(start, UTC))]
    assert labels == ["inactivity", "routine_change:no_meal"]
    result = await train_senior(state.db, state.bus, state.storage, senior)
    assert result.feedback == 2 and result.metrics["feedback_used"] == 2
    model = PersonalModel.from_bytes(await state.storage.get(result.artifact_key))
    assert model.routine["meal_feedback_h"] == 1.0


async def test_a_stillness_resolved_as_a_real_emergency_is_taken_out_of_the_training(
        client: httpx.AsyncClient, state: AppState, det_orgs: list[Org]) -> None:
    """Help sent for an inactivity alert, hospital after a bathroom stay: their silences are not learned as this
    resident's normal. A false alarm and an emergency button (not a stillness) are not emergencies of this kind."""
    hub, start = await home_with_history(client, state, det_orgs[0])
    senior, home, org = uuid.UUID(hub.senior_id), uuid.UUID(hub.home_id), uuid.UUID(det_orgs[0].id)
    resolved = [("inactivity", 5, Outcome.help_sent), ("bathroom_stay", 30, Outcome.hospital),
                ("emergency_button", 54, Outcome.hospital), ("inactivity", 78, Outcome.false_alarm)]
    async with state.db.sessions() as session:
        for kind, hours, outcome in resolved:
            at = start + hours * 3600  # waking hours of days 1-4, inside the history
            alert = await apply_decision(session, state.bus, org_id=org, senior_id=senior, home_id=home,
                                         decision=Decision("open", kind, "danger", "living", "...", at, {}))
            assert alert is not None
            await close_alert(session, await session.merge(alert), at=datetime.fromtimestamp(at + 900, UTC),
                              outcome=outcome, text=str(outcome))
        await session.commit()
        found = await staff_feedback(session, senior, datetime.fromtimestamp(start, UTC))
    assert [(round(at - start), kind) for at, kind in found] == [
        (5 * 3600, "emergency"), (30 * 3600, "emergency"), (78 * 3600, "inactivity")]
    result = await train_senior(state.db, state.bus, state.storage, senior)
    assert result.feedback == 3  # two emergencies + the false alarm
    assert result.metrics["emergencies_unlearned"] == 2 and result.metrics["feedback_used"] == 1
    model = PersonalModel.from_bytes(await state.storage.get(result.artifact_key))
    assert "2 real emergency(ies) not learned as normal" in model.summary()


async def test_model_reload_and_fault_fallback(client: httpx.AsyncClient, state: AppState, det_orgs: list[Org],
                                               detector: DetectorService) -> None:
    hub, _ = await home_with_history(client, state, det_orgs[0])
    senior, home_id = uuid.UUID(hub.senior_id), uuid.UUID(hub.home_id)
    await send(state, hub, [("pir-living", True, time.time())])
    await drain(detector)
    home = detector.homes[home_id]
    assert home.model_version is None and home.det.model is None  # new resident: priors, no fault
    assert await alerts_of(state, hub.senior_id, "model_fault") == []

    stop = asyncio.Event()
    listener = asyncio.create_task(detector._listen(stop))
    try:
        await asyncio.sleep(0.3)  # subscribed
        await train_senior(state.db, state.bus, state.storage, senior)
        await wait_messages(detector)
        await detector.drain_messages()
        assert home.model_version == 1 and home.det.model is not None

        # a corrupted artifact (v2): logged, priors + rules, a model_fault device alert
        key = registry.artifact_key(senior, 2)
        await state.storage.put(key, b"\x00not a model")
        async with state.db.sessions() as session:
            await registry.record_version(session, PersonalModelVersion(
                org_id=uuid.UUID(det_orgs[0].id), senior_id=senior, version=2, days=3.0, events=1, metrics={},
                artifact_key=key, status="active"))
            await session.commit()
        await state.bus.redis.delete(registry.cache_key(state.bus, senior))
        await registry.publish_model_updated(state.bus, senior, 2, key)
        await wait_messages(detector)
        await detector.drain_messages()
        assert home.det.model is None and home.model_version is None
        faults = await alerts_of(state, hub.senior_id, "model_fault")
        assert len(faults) == 1 and faults[0].category == "device" and faults[0].status is AlertStatus.open
        assert "could not be loaded" in faults[0].evidence

        # retraining repairs it: the fault closes by itself
        await train_senior(state.db, state.bus, state.storage, senior)
        await wait_messages(detector)
        await detector.drain_messages()
        assert home.model_version == 3
        faults = await alerts_of(state, hub.senior_id, "model_fault")
        assert len(faults) == 1 and faults[0].status is AlertStatus.closed
    finally:
        stop.set()
        await listener


async def wait_messages(detector: DetectorService) -> None:
    for _ in range(50):
        if not detector.messages.empty():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("no 'model updated' message arrived")


async def test_model_status_api_and_scoping(client: httpx.AsyncClient, state: AppState,
                                            det_orgs: list[Org]) -> None:
    org_a, org_b = det_orgs
    hub, _ = await home_with_history(client, state, org_a)
    url = f"/api/v1/seniors/{hub.senior_id}/model"
    r = await client.get(url, headers=org_a.h(org_a.staff1))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "learning" and r.json()["version"] is None and r.json()["summary"]
    assert r.json()["blind_spots"] == []  # the demo home has every sensor the detector needs
    no_home = org_a.seniors[2]["id"]
    assert (await client.get(f"/api/v1/seniors/{no_home}/home", headers=org_a.h(org_a.admin))).status_code == 404
    homeless = await client.get(f"/api/v1/seniors/{no_home}/model", headers=org_a.h(org_a.admin))
    assert homeless.status_code == 200 and homeless.json()["blind_spots"] == []  # no home yet: nothing to say
    r = await client.get(url, headers=org_b.h(org_b.admin))
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(url + "/train", headers=org_b.h(org_b.admin))
    assert r.status_code == 404
    r = await client.post(url + "/train", headers=org_a.h(org_a.guardian))
    assert r.status_code == 403
    await state.bus.redis.delete(registry.train_queue_key(state.bus))
    r = await client.post(url + "/train", headers=org_a.h(org_a.staff1))
    assert r.status_code == 202 and r.json()["status"] == "queued"
    trainer = TrainerService(state.db, state.bus, state.storage)
    result = await trainer.serve_requests(timeout_s=2)
    assert result is not None and str(result.senior_id) == hub.senior_id
    body = (await client.get(url, headers=org_a.h(org_a.admin))).json()
    assert body["version"] == 1 and body["days"] >= DAYS and body["status"] == "learning"  # < 14 days
    assert "Personal model" in body["summary"] and body["events"] > 100
    # the last whole days, day by day, for the dashboard's trends (3.5 days of life: 2 whole days in the middle)
    daily = body["daily"]
    assert 1 <= len(daily) <= DAYS and "daily" not in body["metrics"]
    for day in daily:
        assert set(day) == {"day", "night_rest_h", "up_at", "out_h", "kitchen_first", "bathroom_visits",
                            "night_bathroom_visits"}
        assert day["bathroom_visits"] > 0 and day["out_h"] == 0 and day["kitchen_first"] is not None
    # without its front-door sensor the home cannot tell an outing from stillness, and the page says so
    sensors = (await client.get(f"/api/v1/homes/{hub.home_id}/sensors", headers=org_a.h(org_a.admin))).json()
    door = next(s["id"] for s in sensors if s["sensor_id"] == "door-front")
    assert (await client.delete(f"/api/v1/sensors/{door}", headers=org_a.h(org_a.admin))).status_code == 204
    body = (await client.get(url, headers=org_a.h(org_a.staff1))).json()
    assert len(body["blind_spots"]) == 1 and body["blind_spots"][0].startswith("no front-door sensor")


async def test_nightly_schedule_is_due_once_per_local_night(client: httpx.AsyncClient, state: AppState,
                                                            det_orgs: list[Org]) -> None:
    from seniorsafe.detection.trainer import due_seniors, last_due

    hub, _ = await home_with_history(client, state, det_orgs[0])
    senior = uuid.UUID(hub.senior_id)
    now = datetime.now(UTC)
    async with state.db.sessions() as session:
        assert senior in await due_seniors(session, now)
    await train_senior(state.db, state.bus, state.storage, senior)
    async with state.db.sessions() as session:
        assert senior not in await due_seniors(session, now)
    due = last_due(now, "Asia/Seoul")
    assert due <= now and (now - due).total_seconds() < 86400
    assert due.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Seoul")).hour == 3
