"""A simulated fall, end to end, in the browser: the resident simulator, the real HTTP ingest, the real detector,
the robot dispatcher and a simulated robot (real MQTT through a private Mosquitto, real WebRTC), the dashboard.

1. A home with the demo sensors, a hub and a robot is registered through the API; the senior's bathroom-stay
   limit is set short by the admin (`PUT /api/v1/seniors/{id}/detection-thresholds`, see BATHROOM_STAY_MIN) and
   the organisation's automatic robot check is on (`PUT /api/v1/organisation/robot-settings`).
2. `seniorsafe detect`, `seniorsafe robots` and `seniorsafe robot-sim --scenario fall --person-room bathroom`
   run as processes (tests/e2e/processes.py); the test waits until each one is ready.
3. Staff sign in and see the seniors list. The resident simulator (`seniorsafe.simulate.runner`, scenario
   `fall:bathroom`) plays the resident's minute in real time over `POST /api/v1/hub/events`: the bathroom door,
   one movement in the bathroom, then nothing more.
4. The detector's bathroom-stay rule raises a danger alert; the banner and the danger badge appear without a
   reload. Staff open it and acknowledge it (the timeline says who).
5. The dispatcher sends the robot to the bathroom; the simulated robot drives there, asks, gets no answer; the
   incident is escalated and a video session opens. The timeline shows robot dispatched / asking / result /
   escalated; staff start the camera in the alert and the <video> decodes real frames (size, frames advancing,
   a picture that is not blank).
6. Staff resolve with an outcome: the video stops (player gone, the viewing ended, the robot's peer dropped),
   and the timeline keeps the whole incident, including that the video was viewed.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from seniorsafe.config import Settings
from seniorsafe.simulate.runner import SimulationOptions, run_simulation
from tests.conftest import PASSWORD, Org

from .conftest import sign_in, wait_for_picture
from .demo_data import equip_home
from .processes import detector_ready, processes, start_detector, start_dispatcher, start_robot_sim

pytestmark = pytest.mark.e2e

#: the senior's bathroom-stay limit (minutes) for this test (default 40): half a minute keeps the test near a minute
BATHROOM_STAY_MIN = 0.5
#: the robot simulator runs this many times faster than life (drive to the bathroom, the 30 s answer window)
ROBOT_TIME_SCALE = 10.0
STAFF1_NAME = "staff1"


async def configure(client: httpx.AsyncClient, org: Org, senior_id: str) -> None:
    """The admin sets the senior's bathroom-stay limit and the organisation's robot preferences through the API
    (the detector, already running, hears `detection.thresholds_changed`; it also reads them when it builds the
    home on its first event)."""
    admin = org.h(org.admin)
    r = await client.put(f"/api/v1/seniors/{senior_id}/detection-thresholds", headers=admin,
                         json={"bathroom_stay_min": BATHROOM_STAY_MIN})
    assert r.status_code == 200, r.text
    assert r.json()["effective"]["bathroom_stay_min"] == BATHROOM_STAY_MIN
    r = await client.put("/api/v1/organisation/robot-settings", headers=admin,
                         json={"auto_dispatch": True, "early_check": False})
    assert r.status_code == 200, r.text


def timeline_types(detail: dict[str, Any]) -> list[str]:
    return [e["type"] for e in detail["timeline"]]


async def test_simulated_fall_robot_check_live_video(new_page: Any, org: Org, session_client: httpx.AsyncClient,
                                                     live_server: Any, settings: Settings,
                                                     broker_settings: Settings, state: Any,
                                                     tmp_path: Path) -> None:
    from seniorsafe.telemetry import dynsec

    t0 = time.monotonic()
    with processes() as running:
        # the workers start first (they take seconds to import); they learn of the home on its first event
        detector, group = start_detector(settings, tmp_path / "detector.log")
        running.append(detector)
        dispatcher = start_dispatcher(broker_settings, tmp_path / "robots.log")
        running.append(dispatcher)

        s0 = org.seniors[0]
        staff = org.h(org.staff1)
        hub_id = f"e2e-fall-{uuid.uuid4().hex[:8]}"
        equipped = await equip_home(session_client, org.h(org.admin), s0["id"], hub_id)
        hub_secret = equipped["secret"]
        r = await session_client.post(f"/api/v1/homes/{equipped['home']['id']}/robots", headers=org.h(org.admin),
                                      json={"id": f"bot-{uuid.uuid4().hex[:8]}", "hub_id": hub_id,
                                            "model": "sim-1", "dock_room": "living"})
        assert r.status_code == 201, r.text
        robot_id, robot_secret = r.json()["id"], r.json()["credential"]["secret"]
        # the hub's MQTT account (the api of the tests has no broker admin account, so its hook is off)
        await asyncio.to_thread(dynsec.upsert_hub, broker_settings, hub_id, hub_secret)
        await configure(session_client, org, s0["id"])
        robot = start_robot_sim(broker_settings, tmp_path / "robot-sim.log", robot_id=robot_id,
                                robot_secret=robot_secret, hub_id=hub_id, hub_secret=hub_secret,
                                api_url=live_server.url, scenario="fall", person_room="bathroom",
                                time_scale=ROBOT_TIME_SCALE)
        running.append(robot)

        async def robot_status_stored() -> bool:  # robot-sim → MQTT → dispatcher → PostgreSQL
            got = await session_client.get(f"/api/v1/robots/{robot_id}/status", headers=staff)
            return got.status_code == 200 and got.json() is not None

        async def camera_connected() -> bool:  # robot-sim joined /webrtc with its credential
            return bool(await state.bus.redis.exists(state.bus.key("webrtc", "robot", robot_id)))

        # meanwhile, staff sign in and see the seniors list
        page = await new_page()
        await sign_in(page, org.staff1["email"], PASSWORD)
        row = page.locator("[data-testid=senior-row]", has_text=s0["name"])
        await row.wait_for()
        assert await row.get_attribute("data-risk") != "danger"
        await page.locator(".live.live-live").wait_for()
        await page.evaluate("() => { window.__noReload = 1; }")  # survives only if the page is never reloaded

        await detector_ready(detector, group, state)
        print(f"\ndetector ready: {time.monotonic() - t0:.1f} s")

        # the resident's last minute, in real time, through the HTTP hub path
        options = SimulationOptions(residents=1, days=0.01, speed=1.0, start="now", via="http",
                                    api_url=live_server.url, hubs=[(hub_id, hub_secret)],
                                    scenarios=["fall:bathroom@0+1s"], seed=11)
        fell = time.monotonic()
        simulation = asyncio.create_task(asyncio.to_thread(run_simulation, options, settings))
        # the robot must be there before the alert (the limit runs from the resident's last movement)
        await asyncio.gather(dispatcher.wait_until(robot_status_stored, 45, "the robot's status report"),
                             robot.wait_until(camera_connected, 45, "the robot's camera on /webrtc"))
        print(f"robot ready: {time.monotonic() - t0:.1f} s")

        banner = page.get_by_test_id("danger-banner")
        await banner.wait_for(timeout=(BATHROOM_STAY_MIN * 60 + 60) * 1000)
        print(f"fall → danger banner: {time.monotonic() - fell:.1f} s (limit {BATHROOM_STAY_MIN * 60:.0f} s "
              "after the last movement)")
        assert await simulation > 0  # the simulator is done; a refused event would have raised
        banner_text = await banner.inner_text()
        assert s0["name"] in banner_text and "화장실 장시간 체류" in banner_text, banner_text
        await page.wait_for_function(
            "(name) => [...document.querySelectorAll('[data-testid=senior-row]')]"
            ".some(r => r.textContent.includes(name) && r.dataset.risk === 'danger')", arg=s0["name"])
        assert await page.evaluate("() => window.__noReload") == 1

        # open it from the banner, acknowledge: the timeline says who
        await banner.get_by_role("link").click()
        await page.wait_for_url(re.compile(r"/alerts\?id="))
        alert_id = page.url.split("id=")[1]
        detail = page.locator("#alert-detail")
        await detail.locator("[data-testid=timeline] [data-type=detected]").wait_for()
        await detail.get_by_role("button", name="확인", exact=True).click()
        ack = detail.locator("[data-testid=timeline] [data-type=acknowledged]")
        await ack.wait_for()
        assert STAFF1_NAME in await ack.inner_text()

        # the automatic robot check: dispatched to the bathroom, no answer, escalated (live updates of the detail)
        timeline = detail.locator("[data-testid=timeline]")
        await timeline.locator("[data-type=robot_dispatched]", has_text="bathroom").wait_for(timeout=30_000)
        await timeline.locator("[data-type=robot_result]", has_text="did not answer").wait_for(timeout=60_000)
        await timeline.locator("[data-type=escalated]", has_text="live video").wait_for(timeout=30_000)
        print(f"fall → escalated after the robot's check: {time.monotonic() - fell:.1f} s")
        await detail.get_by_test_id("robot-status").get_by_text("욕실").wait_for(timeout=20_000)

        # the live camera in the incident: real decoded frames
        await detail.get_by_role("button", name=re.compile("영상 시작")).click()
        video = detail.get_by_test_id("robot-video")
        await wait_for_picture(page, "#alert-detail [data-testid=robot-video]", within_ms=30_000)
        frames = await video.evaluate("""v => new Promise(resolve => {
            const q0 = v.getVideoPlaybackQuality().totalVideoFrames, t0 = v.currentTime;
            let n = 0;
            const done = () => {
                const c = document.createElement('canvas');
                c.width = v.videoWidth; c.height = v.videoHeight;
                const g = c.getContext('2d');
                g.drawImage(v, 0, 0);
                const px = g.getImageData(0, 0, c.width, c.height).data, colours = new Set();
                for (let i = 0; i < px.length; i += 4 * 97)  // a sample of pixels, colours in 4 bits
                    colours.add((px[i] >> 4) * 256 + (px[i + 1] >> 4) * 16 + (px[i + 2] >> 4));
                resolve({n, w: v.videoWidth, h: v.videoHeight, dt: v.currentTime - t0, colours: colours.size,
                         decoded: v.getVideoPlaybackQuality().totalVideoFrames - q0});
            };
            const tick = () => { n++; if (n < 15) v.requestVideoFrameCallback(tick); else done(); };
            v.requestVideoFrameCallback(tick);
            setTimeout(done, 10000);
        })""")
        print(f"video: {frames}")
        assert frames["w"] > 0 and frames["h"] > 0, frames
        assert frames["n"] >= 15 and frames["decoded"] > 0 and frames["dt"] > 0, frames
        assert frames["colours"] >= 5, frames  # the drawn home, not a blank picture
        assert await video.get_attribute("data-state") == "playing"

        # the robot did it over the real protocol: the check (no answer), then the video command
        commands = (await session_client.get(f"/api/v1/robots/{robot_id}/commands", headers=staff)).json()
        check = next(c for c in commands if c["type"] == "safety_check")
        assert check["source"] == "auto" and check["alert_id"] == alert_id and check["args"]["room"] == "bathroom"
        assert check["state"] == "succeeded" and check["result"]["outcome"] == "no_response", check
        assert any(c["type"] == "start_video" for c in commands), commands

        # resolve with an outcome: the incident closes and the video stops
        await detail.locator("#alert-outcome").select_option("help_sent")
        await detail.get_by_role("button", name="종료", exact=True).click()
        await detail.get_by_test_id("alert-outcome").get_by_text("출동·구조 요청").wait_for()
        await timeline.locator("[data-type=resolved]").wait_for()
        await video.wait_for(state="detached")

        async def viewing_ended() -> list[dict[str, Any]] | None:
            got = (await session_client.get(f"/api/v1/seniors/{s0['id']}/video-viewings", headers=staff)).json()
            return got if got and all(v["ended_at"] for v in got) else None

        async def robot_hung_up() -> bool:
            return not await state.bus.redis.scard(state.bus.key("webrtc", "robotpeers", robot_id))

        deadline = time.monotonic() + 15
        while not (await viewing_ended() and await robot_hung_up()):
            assert time.monotonic() < deadline, "the video did not stop after the incident was resolved"
            await asyncio.sleep(0.2)
        print(f"whole test: {time.monotonic() - t0:.1f} s")

        # the incident's whole timeline, in the page (the closed alert stays open there) and in the API
        shown = await timeline.locator("li").evaluate_all("items => items.map(li => li.dataset.type)")
        got = await session_client.get(f"/api/v1/alerts/{alert_id}", headers=staff)
        types = timeline_types(got.json())
        for step in ("detected", "robot_dispatched", "acknowledged", "robot_asking", "robot_result", "escalated",
                     "resolved"):
            assert step in shown and step in types, (step, shown, types)
        assert got.json()["outcome"] == "help_sent" and got.json()["details"]["robot_check"]["snapshot_key"]
        assert not page.errors, page.errors
        # who watched the live video is part of the incident (webrtc/service.py `start_viewing`)
        assert "video_viewed" in types, f"no video_viewed entry on the incident timeline: {types}"
