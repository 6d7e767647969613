"""The live parts of the dashboard against the real services: alerts raised by the real detector from
events sent through the real HTTP ingest, the alert workflow in the browser, robot video over WebRTC.

- `seniorsafe detect` runs as a subprocess with the test settings (processes.py);
  an emergency-button press posted to `POST /api/v1/hub/events` with the hub's credential becomes a
  danger alert at once (hard rule), which the page shows live, without reload.
- The robot's video side (`RobotVideo` of the simulator, aiortc) joins `/webrtc` with the robot's
  credential; a staff member opens the camera on explicit request and the test reads decoded frames
  in the page (videoWidth/videoHeight, requestVideoFrameCallback count).

The whole path of a fall (simulator → ingest → detector → robot check → escalation → video) is test_fall.py.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from seniorsafe.config import Settings
from tests.conftest import PASSWORD, Org

from .conftest import sign_in, wait_for_picture
from .demo_data import equip_home, post_events
from .processes import running_detector

pytestmark = pytest.mark.e2e
STAFF1_NAME = "staff1"  # make_org names each user after its key


def press_button(base_url: str, hub_id: str, secret: str, seq: int) -> None:
    now = datetime.now(UTC).isoformat()
    assert post_events(base_url, hub_id, secret, [{"sensor": "button", "value": 1, "ts": now, "seq": seq}]) == 1


async def _row(page: Any, name: str) -> Any:
    row = page.locator("[data-testid=senior-row]", has_text=name)
    await row.wait_for()
    return row


async def test_live_danger_alert_acknowledge_resolve(new_page: Any, org: Org, session_client: httpx.AsyncClient,
                                                     live_server: Any, settings: Settings, state: Any,
                                                     tmp_path: Path) -> None:
    """Button press → detector → danger banner and badge live; acknowledge (timeline); resolve."""
    s0 = org.seniors[0]
    hub_id = f"e2e-live-{s0['id'][:8]}"
    equipped = await equip_home(session_client, org.h(org.admin), s0["id"], hub_id)

    page = await new_page()
    await sign_in(page, org.staff1["email"], PASSWORD)
    row = await _row(page, s0["name"])
    assert await row.get_attribute("data-risk") != "danger"
    await page.locator(".live.live-live").wait_for()  # the Socket.IO gateway is connected
    # a marker that survives only if the page is never reloaded
    await page.evaluate("() => { window.__noReload = 1; }")

    async with running_detector(settings, state, tmp_path / "detector.log"):
        started = time.monotonic()
        await asyncio.to_thread(press_button, live_server.url, hub_id, equipped["secret"], 1)

        banner = page.get_by_test_id("danger-banner")
        await banner.wait_for(timeout=15_000)
        latency = time.monotonic() - started
        assert s0["name"] in await banner.inner_text()
        assert "응급 버튼" in await banner.inner_text()
        # the senior's badge turned danger in place, and the open-alert count went up
        await page.wait_for_function(
            "(name) => [...document.querySelectorAll('[data-testid=senior-row]')]"
            ".some(r => r.textContent.includes(name) && r.dataset.risk === 'danger')", arg=s0["name"])
        await page.get_by_test_id("open-alerts").get_by_text("1").wait_for()
        assert await page.evaluate("() => window.__noReload") == 1
        print(f"\nbutton → danger banner in the page: {latency * 1000:.0f} ms")

        # open it from the banner; acknowledge: the timeline says who
        await banner.get_by_role("link").click()
        await page.wait_for_url(re.compile(r"/alerts\?id="))
        detail = page.locator("#alert-detail")
        await detail.get_by_text("emergency button pressed").first.wait_for()
        await detail.locator("[data-type=detected]").wait_for()
        await detail.get_by_role("button", name="확인", exact=True).click()
        ack = detail.locator("[data-testid=timeline] [data-type=acknowledged]")
        await ack.wait_for()
        assert STAFF1_NAME in await ack.inner_text()
        await detail.get_by_text(f"{STAFF1_NAME} 님이 확인").wait_for()
        await page.locator("[data-testid=alert-list] [data-testid=alert-status]", has_text="확인됨").wait_for()

        # a note, then resolve with an outcome
        await detail.locator("#alert-note").fill("전화 통화: 버튼을 잘못 눌렀다고 함")
        await detail.get_by_role("button", name="메모 추가").click()
        await detail.locator("[data-type=note]", has_text="버튼을 잘못").wait_for()
        await detail.locator("#alert-outcome").select_option("false_alarm")
        await detail.get_by_role("button", name="종료", exact=True).click()
        await detail.get_by_test_id("alert-outcome").get_by_text("오경보").wait_for()
        await detail.locator("[data-testid=timeline] [data-type=resolved]").wait_for()
        # it left the open list
        await page.wait_for_function("() => !document.querySelector('[data-testid=alert-list] li')")

        # back on the list: the badge is no longer danger; the history on the senior's page has it
        await page.locator("header.topbar").get_by_role("link", name="어르신", exact=True).click()
        await page.wait_for_function(
            "(name) => [...document.querySelectorAll('[data-testid=senior-row]')]"
            ".some(r => r.textContent.includes(name) && r.dataset.risk !== 'danger')", arg=s0["name"])
        await (await _row(page, s0["name"])).click()
        await page.locator("#history [data-status=closed]", has_text="응급 버튼").wait_for()
        await page.locator("#model [data-testid=model-status][data-status=learning]").wait_for()
    assert not page.errors, page.errors


async def test_robot_video_plays_real_frames(new_page: Any, org: Org, session_client: httpx.AsyncClient,
                                             live_server: Any) -> None:
    """Staff ask for the robot's camera with a reason; the <video> decodes frames that advance."""
    from seniorsafe.simulate.robot_sim import Camera, RobotVideo, World

    s1 = org.seniors[1]
    hub_id = f"e2e-vid-{s1['id'][:8]}"
    equipped = await equip_home(session_client, org.h(org.admin), s1["id"], hub_id, sensors=[])
    r = await session_client.post(f"/api/v1/homes/{equipped['home']['id']}/robots", headers=org.h(org.admin),
                                  json={"id": f"bot-{s1['id'][:8]}", "hub_id": hub_id, "model": "sim-1",
                                        "dock_room": "living"})
    assert r.status_code == 201, r.text
    robot_id, secret = r.json()["id"], r.json()["credential"]["secret"]
    robot = RobotVideo(live_server.url, robot_id, secret, Camera(World(scenario="fall")))
    await robot.connect()
    try:
        page = await new_page()
        await sign_in(page, org.staff1["email"], PASSWORD)
        await page.goto(f"/seniors/{s1['id']}/video")
        await page.locator(".live.live-live").wait_for()
        await page.locator("#video-reason").fill("e2e: 안부 확인")
        await page.get_by_role("button", name=re.compile("영상 시작")).click()
        video = page.get_by_test_id("robot-video")
        await wait_for_picture(page, "[data-testid=robot-video]", within_ms=20_000)
        frames = await video.evaluate("""v => new Promise(resolve => {
            let n = 0; const t0 = v.currentTime;
            const tick = () => { n++; if (n < 10) v.requestVideoFrameCallback(tick);
                                  else resolve({n, w: v.videoWidth, h: v.videoHeight, dt: v.currentTime - t0}); };
            v.requestVideoFrameCallback(tick);
            setTimeout(() => resolve({n, w: v.videoWidth, h: v.videoHeight, dt: v.currentTime - t0}), 8000);
        })""")
        assert frames["n"] >= 10 and frames["w"] > 0 and frames["h"] > 0 and frames["dt"] > 0, frames
        assert await video.get_attribute("data-state") == "playing"
        # hang up: the robot's peer connection goes away
        await page.get_by_role("button", name=re.compile("영상 종료")).click()
        deadline = time.monotonic() + 10
        while robot.peers and time.monotonic() < deadline:  # noqa: ASYNC110 - polling another component's state
            await asyncio.sleep(0.1)
        assert not robot.peers
        assert not page.errors, page.errors
    finally:
        await robot.close()


async def test_paged_staff_see_the_incident_they_were_paged_about(new_page: Any, org: Org, state: Any) -> None:
    """Nobody acknowledged staff1's resident's danger alert: the escalation pages all staff on duty. staff2, not
    assigned to that resident, gets the danger banner live in an open tab, and can open the alert."""
    from tests.realtime.conftest import escalate_to_all_staff, open_alert

    page = await new_page()
    await sign_in(page, org.staff2["email"], PASSWORD)
    await page.locator(".live.live-live").wait_for()
    s0 = org.seniors[0]  # staff1's
    alert = await open_alert(state, org, 0)
    await asyncio.sleep(0.5)
    assert not await page.get_by_test_id("danger-banner").count()  # not theirs, not (yet) paged
    await escalate_to_all_staff(state, alert)
    banner = page.get_by_test_id("danger-banner")
    await banner.wait_for(timeout=10_000)
    assert "응급 버튼" in await banner.inner_text()
    await banner.get_by_role("link").click()
    await page.wait_for_url(re.compile(rf"/alerts\?id={alert.id}"))
    detail = page.locator("#alert-detail")
    await detail.get_by_text(s0["name"]).first.wait_for()  # who, though not their profile
    await detail.get_by_test_id("responder-note").wait_for()
    await detail.get_by_role("button", name="확인", exact=True).click()  # and they can take it
    await detail.locator("[data-testid=timeline] [data-type=acknowledged]", has_text="staff2").wait_for()
    await open_alert(state, org, 0, action="close")
    await page.wait_for_function("() => !document.querySelector('[data-testid=alert-list] li')")
    assert not page.errors, page.errors
