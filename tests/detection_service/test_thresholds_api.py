"""Detection thresholds and robot preferences over REST (real PostgreSQL and Redis): who may read and change
them, validation as problem details naming the field, the audit log, the bus event, and a live detector that
follows a change made through the API."""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from seniorsafe.audit.models import AuditEntry
from seniorsafe.deps import AppState
from seniorsafe.detection import registry
from seniorsafe.detection.configuration_schemas import ThresholdOverrides, ThresholdValues
from seniorsafe.detection.detector_service import DetectorService
from seniorsafe.detection.thresholds import Thresholds
from seniorsafe.robots.safety import robot_settings
from tests.conftest import Org
from tests.detection_service.conftest import alerts_of, daytime_home, drain, new_home, send

ORG_PATH = "/api/v1/organisation/detection-thresholds"
ROBOT_PATH = "/api/v1/organisation/robot-settings"


def senior_path(senior_id: str) -> str:
    return f"/api/v1/seniors/{senior_id}/detection-thresholds"


async def audit_entries(state: AppState, org_id: str, action: str) -> list[AuditEntry]:
    async with state.db.sessions() as session:
        rows = await session.scalars(select(AuditEntry).where(
            AuditEntry.org_id == uuid.UUID(org_id), AuditEntry.action == action).order_by(AuditEntry.id))
        return list(rows)


def test_schemas_cover_every_threshold() -> None:
    names = {f.name for f in dataclasses.fields(Thresholds)}
    assert set(ThresholdValues.model_fields) == names
    assert set(ThresholdOverrides.model_fields) == names


async def test_organisation_thresholds_read_change_and_audit(client: httpx.AsyncClient, org: Org,
                                                             state: AppState) -> None:
    r = await client.get(ORG_PATH, headers=org.h(org.staff1))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["defaults"] == Thresholds().to_dict() and body["organisation"] == {}
    assert body["effective"] == body["defaults"]

    r = await client.put(ORG_PATH, headers=org.h(org.admin),
                         json={"bathroom_stay_min": 25, "young_model_days": 10, "use_personal_model": False})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["organisation"] == {"bathroom_stay_min": 25.0, "young_model_days": 10, "use_personal_model": False}
    assert body["effective"]["bathroom_stay_min"] == 25 and body["effective"]["no_activity_hours"] == 12
    assert (await client.get(ORG_PATH, headers=org.h(org.staff2))).json() == body

    # a PUT replaces the layer: null or omitted removes an override
    r = await client.put(ORG_PATH, headers=org.h(org.admin), json={"bathroom_stay_min": 30, "young_model_days": None})
    assert r.status_code == 200, r.text
    assert r.json()["organisation"] == {"bathroom_stay_min": 30.0}

    entries = await audit_entries(state, org.id, "detection.thresholds_changed")
    assert len(entries) == 2
    assert entries[0].entity == "organisation" and entries[0].actor_id == uuid.UUID(org.admin["id"])
    assert entries[1].details == {"before": body["organisation"], "after": {"bathroom_stay_min": 30.0}}


async def test_who_may_change_thresholds(client: httpx.AsyncClient, org: Org, other_org: Org,
                                         state: AppState) -> None:
    s0 = org.seniors[0]["id"]  # staff1's senior, the guardian's relative
    for who in (org.staff1, org.guardian):
        r = await client.put(ORG_PATH, headers=org.h(who), json={"bathroom_stay_min": 5})
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json", r.text
        r = await client.put(senior_path(s0), headers=org.h(who), json={"bathroom_stay_min": 5})
        assert r.status_code == 403, r.text
    assert (await client.get(ORG_PATH, headers=org.h(org.guardian))).status_code == 403
    # anyone who may see the senior reads them; others do not learn that the senior exists
    for who in (org.admin, org.staff1, org.guardian):
        assert (await client.get(senior_path(s0), headers=org.h(who))).status_code == 200
    assert (await client.get(senior_path(org.seniors[2]["id"]), headers=org.h(org.staff1))).status_code == 404
    for method in ("GET", "PUT"):
        r = await client.request(method, senior_path(s0), headers=other_org.h(other_org.admin),
                                 json={"bathroom_stay_min": 5} if method == "PUT" else None)
        assert r.status_code == 404, r.text
    r = await client.put(senior_path(str(uuid.uuid4())), headers=org.h(org.admin), json={})
    assert r.status_code == 404
    # nothing was written by the refused calls
    r = await client.get(senior_path(s0), headers=org.h(org.admin))
    assert r.json()["senior"] == {} and r.json()["organisation"] == {}
    assert await audit_entries(state, org.id, "detection.thresholds_changed") == []


async def test_senior_overrides_layer_over_the_organisation(client: httpx.AsyncClient, org: Org,
                                                            state: AppState) -> None:
    s0 = org.seniors[0]["id"]
    admin = org.h(org.admin)
    assert (await client.put(ORG_PATH, headers=admin, json={"bathroom_stay_min": 30, "no_activity_hours": 8}
                             )).status_code == 200
    r = await client.put(senior_path(s0), headers=admin,
                         json={"bathroom_stay_min": 20, "inactivity_danger_per_day": 0.001})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["senior_id"] == s0
    assert body["organisation"] == {"bathroom_stay_min": 30.0, "no_activity_hours": 8.0}
    assert body["senior"] == {"bathroom_stay_min": 20.0, "inactivity_danger_per_day": 0.001}
    assert body["effective"]["bathroom_stay_min"] == 20 and body["effective"]["no_activity_hours"] == 8
    assert body["effective"]["inactivity_danger_per_day"] == 0.001
    guardian_view = (await client.get(senior_path(s0), headers=org.h(org.guardian))).json()
    assert guardian_view == body
    # another senior only gets the organisation's layer
    other = (await client.get(senior_path(org.seniors[1]["id"]), headers=admin)).json()
    assert other["senior"] == {} and other["effective"]["bathroom_stay_min"] == 30
    entry = (await audit_entries(state, org.id, "detection.thresholds_changed"))[-1]
    assert entry.entity == "senior" and entry.entity_id == s0 and entry.details["after"] == body["senior"]
    # the senior detail (read cache) still answers after the settings change
    assert (await client.get(f"/api/v1/seniors/{s0}", headers=admin)).status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"bathroom_stay_minutes": 5}, "bathroom_stay_minutes"),  # unknown key
    ({"bathroom_stay_min": -1}, "bathroom_stay_min"),  # negative
    ({"inactivity_danger_per_day": 1.5}, "inactivity_danger_per_day"),  # false alarms a day outside (0, 1]
    ({"inactivity_caution_per_day": 0}, "inactivity_caution_per_day"),
    ({"inactivity_caution_per_day": 3.5}, "inactivity_caution_per_day"),  # cautions a day outside (0, 3]
    ({"night_start_hour": 25}, "night_start_hour"),
    ({"day_end_hour": 24.5}, "day_end_hour"),
    ({"day_stillness_limit_min": -10}, "day_stillness_limit_min"),
    ({"no_activity_hours": "twelve"}, "no_activity_hours"),  # wrong type
    ({"use_personal_model": 1}, "use_personal_model"),
    ({"young_model_days": 1.5}, "young_model_days"),
])
async def test_validation_errors_name_the_field(client: httpx.AsyncClient, det_orgs: list[Org],
                                                body: dict[str, Any], field: str) -> None:
    org = det_orgs[1]
    for path in (ORG_PATH, senior_path(org.seniors[0]["id"])):
        r = await client.put(path, headers=org.h(org.admin), json=body)
        assert r.status_code == 422, r.text
        problem = r.json()
        assert r.headers["content-type"] == "application/problem+json"
        assert problem["type"] == "/problems/validation" and problem["status"] == 422
        assert [e["field"] for e in problem["errors"]] == [field], problem


async def test_non_finite_and_non_object_bodies_are_problems(client: httpx.AsyncClient, det_orgs: list[Org]) -> None:
    org = det_orgs[1]
    headers = {**org.h(org.admin), "content-type": "application/json"}
    for raw in (b'{"bathroom_stay_min": NaN}', b'{"no_activity_hours": 1e999}', b"[1, 2]", b"null", b"{"):
        r = await client.put(ORG_PATH, headers=headers, content=raw)
        assert r.status_code == 422, (raw, r.text)
        assert r.headers["content-type"] == "application/problem+json"


async def test_a_change_is_published_on_the_bus(client: httpx.AsyncClient, det_orgs: list[Org],
                                                state: AppState) -> None:
    org = det_orgs[1]
    pubsub = state.bus.redis.pubsub()
    await pubsub.subscribe(state.bus.key("pub", f"org:{org.id}"))
    try:
        await pubsub.get_message(timeout=1.0)  # the subscription confirmation
        s0 = org.seniors[1]["id"]
        assert (await client.put(senior_path(s0), headers=org.h(org.admin), json={"no_activity_hours": 6})
                ).status_code == 200
        assert (await client.put(ORG_PATH, headers=org.h(org.admin), json={})).status_code == 200
        got = []
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if msg is not None:
                got.append(orjson.loads(msg["data"]))
        got = [m for m in got if m["event"] == "detection.thresholds_changed"]
        assert got == [
            {"event": "detection.thresholds_changed", "org_id": org.id, "senior_id": s0, "data": {"scope": "senior"}},
            {"event": "detection.thresholds_changed", "org_id": org.id, "senior_id": None,
             "data": {"scope": "organisation"}},
        ]
    finally:
        await pubsub.aclose()
        await client.put(senior_path(org.seniors[1]["id"]), headers=org.h(org.admin), json={})


async def test_robot_settings(client: httpx.AsyncClient, org: Org, other_org: Org, state: AppState) -> None:
    r = await client.get(ROBOT_PATH, headers=org.h(org.staff1))
    assert r.status_code == 200 and r.json() == {"auto_dispatch": True, "early_check": False}
    assert (await client.get(ROBOT_PATH, headers=org.h(org.guardian))).status_code == 403
    for who in (org.staff1, org.guardian):
        r = await client.put(ROBOT_PATH, headers=org.h(who), json={"auto_dispatch": False, "early_check": True})
        assert r.status_code == 403, r.text
    r = await client.put(ROBOT_PATH, headers=org.h(org.admin), json={"auto_dispatch": False, "early_check": True})
    assert r.status_code == 200 and r.json() == {"auto_dispatch": False, "early_check": True}
    assert (await client.get(ROBOT_PATH, headers=org.h(org.staff2))).json() == r.json()
    # the safety flow reads the same preferences; the other organisation keeps its own
    async with state.db.sessions() as session:
        assert await robot_settings(session, uuid.UUID(org.id)) == {"auto_dispatch": False, "early_check": True}
        assert await robot_settings(session, uuid.UUID(other_org.id)) == {"auto_dispatch": True,
                                                                           "early_check": False}
    for bad, field in (({"auto_dispatch": "yes", "early_check": True}, "auto_dispatch"),
                       ({"auto_dispatch": True}, "early_check"),
                       ({"auto_dispatch": True, "early_check": False, "speed": 2}, "speed")):
        r = await client.put(ROBOT_PATH, headers=org.h(org.admin), json=bad)
        assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == [field], r.text
    [entry] = await audit_entries(state, org.id, "robot.settings_changed")
    assert entry.details == {"before": {"auto_dispatch": True, "early_check": False},
                             "after": {"auto_dispatch": False, "early_check": True}}


async def test_openapi_documents_the_endpoints(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path in (ORG_PATH, "/api/v1/seniors/{senior_id}/detection-thresholds", ROBOT_PATH):
        for method in ("get", "put"):
            operation = spec["paths"][path][method]
            assert "200" in operation["responses"] and operation["summary"]
            for status in ("401", "403", "404", "422"):
                assert operation["responses"][status]["content"]["application/problem+json"]
    put_body = spec["paths"][ORG_PATH]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert put_body["$ref"].endswith("/ThresholdOverrides")


# ------------------------------------------------------------------------------------- the live detector

async def put_and_deliver(client: httpx.AsyncClient, state: AppState, detector: DetectorService, path: str,
                          headers: dict[str, str], body: dict[str, Any], org_id: str, method: str = "PUT",
                          event: str = "detection.thresholds_changed") -> None:
    """Change something through the API and hand the message it published to the detector (as its listener
    would)."""
    pubsub = state.bus.redis.pubsub()
    channel = state.bus.key("pub", f"org:{org_id}")
    await pubsub.subscribe(channel)
    try:
        await pubsub.get_message(timeout=1.0)
        r = await client.request(method, path, headers=headers, json=body)
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if msg is not None and event.encode() in msg["data"]:
                await detector.handle_message(channel, orjson.loads(msg["data"]))
                return
        raise AssertionError(f"no {event} message")
    finally:
        await pubsub.aclose()


async def test_lowered_bathroom_limit_fires_sooner_in_a_live_detector(
        client: httpx.AsyncClient, state: AppState, det_orgs: list[Org], detector: DetectorService) -> None:
    org = det_orgs[0]
    hub, other = await daytime_home(client, org), await daytime_home(client, org)
    now = time.time()
    await send(state, hub, [("pir-kitchen", True, now - 120)])
    await send(state, other, [("pir-kitchen", True, now - 120)])
    await drain(detector)
    home = detector.homes[uuid.UUID(hub.home_id)]
    assert home.det.thresholds.bathroom_stay_min == 40

    await put_and_deliver(client, state, detector, senior_path(hub.senior_id), org.h(org.admin),
                          {"bathroom_stay_min": 5, "inactivity_caution_per_day": 0.05}, org.id)
    assert home.det.thresholds.bathroom_stay_min == 5 and home.det.thresholds.inactivity_caution_per_day == 0.05
    assert home.info.thresholds == home.det.thresholds
    # only that senior's home changed
    assert detector.homes[uuid.UUID(other.home_id)].det.thresholds.bathroom_stay_min == 40

    await send(state, hub, [("pir-bathroom", True, now)])
    await drain(detector)
    await detector.tick(now + 4 * 60)
    assert await alerts_of(state, hub.senior_id, "bathroom_stay") == []
    await detector.tick(now + 5 * 60 + 1)  # 5 min, not the default 40
    [alert] = await alerts_of(state, hub.senior_id, "bathroom_stay")
    assert alert.severity.value == "danger" and "fixed limit 5 min" in alert.evidence, alert.evidence


async def test_organisation_change_reaches_every_live_home_of_that_organisation(
        client: httpx.AsyncClient, state: AppState, org: Org, other_org: Org, detector: DetectorService) -> None:
    hubs = [await daytime_home(client, org), await daytime_home(client, org)]
    foreign = await daytime_home(client, other_org)
    now = time.time()
    for hub in [*hubs, foreign]:
        await send(state, hub, [("pir-living", True, now)])
    await drain(detector)
    # one senior keeps an own override, which wins over the organisation's
    await put_and_deliver(client, state, detector, senior_path(hubs[1].senior_id), org.h(org.admin),
                          {"no_activity_hours": 3}, org.id)
    await put_and_deliver(client, state, detector, ORG_PATH, org.h(org.admin),
                          {"no_activity_hours": 2, "night_exit_return_min": 10}, org.id)
    first, second = (detector.homes[uuid.UUID(h.home_id)].det.thresholds for h in hubs)
    assert (first.no_activity_hours, first.night_exit_return_min) == (2, 10)
    assert (second.no_activity_hours, second.night_exit_return_min) == (3, 10)
    untouched = detector.homes[uuid.UUID(foreign.home_id)].det.thresholds
    assert untouched == Thresholds()
    # the next activity arms the new limit: no activity for 2 h (not 12 h) raises the rule
    await send(state, hubs[0], [("pir-kitchen", True, now + 60)])
    await drain(detector)
    await detector.tick(now + 60 + 2 * 3600 + 1)
    # (its own alert, or the update of the model's open stillness alert: one page per stillness)
    raised = [a for a in await alerts_of(state, hubs[0].senior_id) if a.severity.value == "danger"
              and a.evidence.startswith("nothing at all has happened at home for 2 h")]
    assert len(raised) == 1
    assert not [a for a in await alerts_of(state, foreign.senior_id) if "nothing at all" in a.evidence]


async def test_devices_checking_in_do_not_end_a_bathroom_stay_in_a_live_detector(
        client: httpx.AsyncClient, state: AppState, det_orgs: list[Org], detector: DetectorService) -> None:
    """Through ingest, the stream and the service: while the resident stays in the bathroom, the fridge and the
    living-room sensor re-send "closed" / "no motion" (Zigbee check-ins). That is nobody moving elsewhere: the
    bathroom stay still fires at its limit."""
    org = det_orgs[0]
    hub = await daytime_home(client, org)
    now = time.time()
    await send(state, hub, [("fridge", False, now - 90), ("pir-living", False, now - 80)])
    await drain(detector)
    await put_and_deliver(client, state, detector, senior_path(hub.senior_id), org.h(org.admin),
                          {"bathroom_stay_min": 2}, org.id)
    await send(state, hub, [("pir-bathroom", True, now)])
    await send(state, hub, [(sensor, False, now + at) for at in (50, 100) for sensor in ("fridge", "pir-living")])
    assert await drain(detector) >= 5
    assert await alerts_of(state, hub.senior_id, "bathroom_stay") == []
    await detector.tick(now + 2 * 60 + 1)
    [alert] = await alerts_of(state, hub.senior_id, "bathroom_stay")
    assert alert.severity.value == "danger" and "fixed limit 2 min" in alert.evidence, alert.evidence


async def test_a_sensor_an_installer_corrects_counts_at_once_in_a_live_detector(
        client: httpx.AsyncClient, state: AppState, det_orgs: list[Org], detector: DetectorService) -> None:
    """The back door was registered as a door in the hall. The resident goes out through it: to the detector she
    is at home and still. An admin marks it as a way out (room: entrance) through the API; the running detector
    rebuilds the home from the database at once (no restart): she is out, and no stillness alert comes. The twin
    home, left as it was, raises one."""
    org = det_orgs[0]
    homes = []
    for _ in range(2):
        hub = await new_home(client, org, extra=(("door-back", "door", "hall"),))
        offset = (10 - datetime.now(UTC).hour + 12) % 24 - 12  # daytime in the home, as daytime_home
        zone = "Etc/GMT" + (f"{-offset:+d}" if offset else "")
        r = await client.patch(f"/api/v1/homes/{hub.home_id}", headers=org.h(org.admin), json={"timezone": zone})
        assert r.status_code == 200, r.text
        homes.append(hub)
    now = time.time()
    for hub in homes:
        await send(state, hub, [("pir-kitchen", True, now - 600), ("door-back", True, now - 300),
                                ("door-back", False, now - 295)])
    await drain(detector)
    corrected, twin = homes
    sensors = (await client.get(f"/api/v1/homes/{corrected.home_id}/sensors", headers=org.h(org.admin))).json()
    [back] = [s for s in sensors if s["sensor_id"] == "door-back"]
    await put_and_deliver(client, state, detector, f"/api/v1/sensors/{back['id']}", org.h(org.admin),
                          {"room": "entrance"}, org.id, method="PATCH", event="home.changed")
    live = detector.homes[uuid.UUID(corrected.home_id)].det
    assert live.sensors["door-back"].is_exterior_door
    assert not detector.homes[uuid.UUID(twin.home_id)].det.sensors["door-back"].is_exterior_door
    queued = await state.bus.redis.lrange(registry.train_queue_key(state.bus), 0, -1)
    assert corrected.senior_id.encode() in queued and twin.senior_id.encode() not in queued  # a model for the layout
    await detector.tick(now + 5 * 3600)
    assert await alerts_of(state, twin.senior_id, "inactivity") != []
    assert await alerts_of(state, corrected.senior_id, "inactivity") == []
    # a home this process does not run is left alone
    assert await detector.rebuild_home(uuid.uuid4()) is False
