"""Regenerate the dashboard screenshots in docs/screenshots/ (desktop 1366×900 and phone 390×844).

Starts everything itself: a throwaway PostgreSQL database (on the server at TEST_PG_ADMIN_URL, default
postgresql://postgres@127.0.0.1:5432/postgres) and a Redis key prefix (TEST_REDIS_URL), the demo
organisation (`seniorsafe seed-demo`) plus a few more seniors, four weeks of sensor history sent through
the real HTTP ingest, the api (uvicorn) serving web/dist (built if missing or stale), then Chromium.

Also prints the figures quoted in docs/dashboard.md: main bundle size (gzip) and first meaningful
render (navigation start → seniors list visible) on localhost.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--keep-db]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import statistics
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, ServerThread, build_dashboard, free_port  # noqa: E402
from tests.e2e.demo_data import post_events, resident_events  # noqa: E402

from seniorsafe.app import create_app  # noqa: E402
from seniorsafe.config import Settings  # noqa: E402
from seniorsafe.migrate import upgrade  # noqa: E402

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
DEMO_PASSWORD = "demo-password-1"
EXTRA_SENIORS = [  # name, birth date, sex, risk, conditions
    ("정옥자", "1939-05-11", "female", "danger", ["dementia (early)"]),
    ("강대식", "1942-08-30", "male", "caution", ["hypertension"]),
    ("윤말순", "1935-02-17", "female", "safe", ["osteoporosis"]),
    ("임춘자", "1945-12-03", "female", "safe", []),
    ("오만복", "1940-07-21", "male", "unknown", ["diabetes"]),
]
DEMO_RISKS = {"김복순": "caution", "이영수": "safe", "박순자": "danger", "최만석": "safe"}


def database_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"


async def seed(settings: Settings, base_url: str) -> dict[str, Any]:
    from sqlalchemy import text

    from seniorsafe.db import Database
    from seniorsafe.seed import seed_demo

    db = Database(settings)
    async with db.sessions() as session:
        await seed_demo(session)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        r = await client.post("/api/v1/auth/login", json={"email": "admin@demo.example.org",
                                                            "password": DEMO_PASSWORD})
        r.raise_for_status()
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        staff = {u["email"]: u["id"] for u in (await client.get("/api/v1/users", headers=h)).json()}
        for name, birth, sex, _risk, conditions in EXTRA_SENIORS:
            r = await client.post("/api/v1/seniors", headers=h, json={
                "name": name, "birth_date": birth, "sex": sex, "health_conditions": conditions,
                "address": "부산 해운대구 좌동", "staff_ids": [staff["minji@demo.example.org"]]})
            r.raise_for_status()
        seniors = (await client.get("/api/v1/seniors", headers=h, params={"limit": 200})).json()["items"]
        by_name = {s["name"]: s for s in seniors}
        # four weeks of history in every demo home, through the real ingest with rotated hub credentials
        homes = {hm["senior_id"]: hm for hm in (await client.get("/api/v1/homes", headers=h)).json()}
        for i, (name, s) in enumerate(by_name.items()):
            home = homes.get(s["id"])
            if not home:
                continue
            hubs = (await client.get(f"/api/v1/homes/{home['id']}/hubs", headers=h)).json()
            cred = (await client.post(f"/api/v1/hubs/{hubs[0]['id']}/credential", headers=h)).json()
            events = resident_events(28, seed=i + 1)
            if name == "이영수":  # a weak battery to show the badge
                events.append({"sensor": "door-front", "ts": events[-1]["ts"], "value": 0,
                               "seq": events[-1]["seq"] + 1, "battery": 12})
            await asyncio.to_thread(post_events, base_url, hubs[0]["id"], cred["secret"], events)
    async with db.sessions() as session:
        for name, risk in {**DEMO_RISKS, **{n: r for n, _, _, r, _ in EXTRA_SENIORS}}.items():
            await session.execute(text("UPDATE seniors SET risk_level = :r, risk_changed_at = now() - "
                                       "(random() * interval '5 hours') WHERE name = :n"), {"r": risk, "n": name})
        await session.execute(text("UPDATE hubs SET connectivity = 'offline', last_seen_at = now() - interval "
                                   "'3 hours' WHERE id = 'demo-hub-004'"))
        await session.commit()
    await db.dispose()
    return by_name


def raise_demo_alert(settings: Settings, base_url: str, senior_id: str) -> str | None:
    """Run the real detector and press the emergency button in one home; returns the alert id."""
    import subprocess
    import time
    from datetime import UTC, datetime

    from tests.servers import settings_env

    proc = subprocess.Popen([sys.executable, "-m", "seniorsafe.cli", "detect", "--name", "shots", "--tick", "0.2",
                             "--history-hours", "0.1"], env=settings_env(settings),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            r = client.post("/api/v1/auth/login", json={"email": "admin@demo.example.org", "password": DEMO_PASSWORD})
            h = {"Authorization": f"Bearer {r.json()['access_token']}"}
            home = client.get(f"/api/v1/seniors/{senior_id}/home", headers=h).json()
            hub = client.get(f"/api/v1/homes/{home['id']}/hubs", headers=h).json()[0]["id"]
            secret = client.post(f"/api/v1/hubs/{hub}/credential", headers=h).json()["secret"]
            for attempt in range(20):  # the detector takes a few seconds to start consuming
                now = datetime.now(UTC).isoformat()
                post_events(base_url, hub, secret, [{"sensor": "button", "value": 1, "ts": now,
                                                     "seq": 10_000_000 + attempt}])
                time.sleep(1.5)
                items = client.get("/api/v1/alerts", headers=h, params={"senior_id": senior_id}).json()["items"]
                if items:
                    return str(items[0]["id"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return None


def shoot(base_url: str, out: Path, seniors: dict[str, Any]) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {}
    kim = seniors["김복순"]["id"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            mobile = label == "phone"

            def context(viewport: dict[str, int] = viewport, mobile: bool = mobile, **kw: Any) -> Any:
                ctx = browser.new_context(base_url=base_url, viewport=viewport, locale="ko-KR", is_mobile=mobile,
                                          timezone_id="Asia/Seoul",
                                          has_touch=mobile, device_scale_factor=1, **kw)
                ctx.set_default_timeout(15_000)
                return ctx

            def login(page: Any, email: str) -> None:
                page.goto("/")
                page.locator("#email").fill(email)
                page.locator("#password").fill(DEMO_PASSWORD)
                page.locator("button[type=submit]").click()
                page.locator("header.topbar").wait_for()

            def snap(page: Any, name: str, full: bool = True, label: str = label) -> None:
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(250)
                page.screenshot(path=str(out / f"{name}-{label}.png"), full_page=full)

            ctx = context()
            page = ctx.new_page()
            page.goto("/")
            page.locator("#email").wait_for()
            snap(page, "login", full=False)
            login(page, "minji@demo.example.org")
            page.locator("[data-testid=senior-row]").first.wait_for()
            snap(page, "seniors")
            if label == "desktop":
                samples = []
                for _ in range(5):
                    page.reload(wait_until="commit")
                    page.locator("[data-testid=senior-row]").first.wait_for()
                    samples.append(page.evaluate("() => performance.now()"))
                figures["first_render_ms"] = samples
            page.goto(f"/seniors/{kim}")
            page.locator("#routine svg.heatmap").wait_for()
            snap(page, "senior-detail")
            alert_id = seniors.get("_alert")
            page.goto(f"/alerts?id={alert_id}" if alert_id else "/alerts")
            page.get_by_role("heading", level=1).wait_for()
            if alert_id:
                page.locator("#alert-detail [data-testid=timeline] li").first.wait_for()
            snap(page, "alerts", full=False)
            page.goto(f"/seniors/{kim}/video")
            page.get_by_role("heading", level=1).wait_for()
            snap(page, "video", full=False)
            # English
            page.goto("/")
            page.get_by_test_id("lang-switch").click()
            page.locator("[data-testid=senior-row]").first.wait_for()
            snap(page, "seniors-en", full=False)
            ctx.close()

            ctx = context()
            page = ctx.new_page()
            login(page, "admin@demo.example.org")
            page.goto("/admin/users")
            page.get_by_role("table").wait_for()
            snap(page, "admin-users")
            page.goto("/admin/homes")
            page.get_by_test_id("senior-picker").select_option(seniors["최만석"]["id"])
            page.get_by_test_id("hub-list").wait_for()
            snap(page, "admin-devices")
            page.goto("/admin/policy")
            page.get_by_test_id("thresholds-org").wait_for()
            page.get_by_test_id("robot-settings").wait_for()
            snap(page, "admin-policy")
            ctx.close()

            ctx = context()
            page = ctx.new_page()
            login(page, "guardian@demo.example.org")
            page.get_by_test_id("guardian-view").wait_for()
            snap(page, "guardian")
            ctx.close()
        browser.close()
    return figures


def bundle_sizes() -> dict[str, float]:
    sizes = {}
    for f in sorted((ROOT / "web" / "dist" / "assets").glob("*")):
        if f.suffix in (".js", ".css"):
            sizes[f.name] = round(len(gzip.compress(f.read_bytes(), 9)) / 1024, 1)
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the throwaway database")
    args = parser.parse_args()

    dist = build_dashboard()
    os.environ.setdefault("SENIORSAFE_WEB_DIST", str(dist))
    run = uuid.uuid4().hex[:8]
    name = f"ss_shots_{run}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    server = None
    try:
        url = database_url(name)
        upgrade(url)
        settings = Settings(environment="development", database_url=url, redis_url=REDIS_URL,
                            redis_prefix=f"ssshots:{run}:", storage_dir=Path(f"/tmp/ss-shots-{run}"),
                            jwt_secret="shots-" + uuid.uuid4().hex)
        port = free_port()
        server = ServerThread(create_app(settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})), port)
        server.start()
        seniors = asyncio.run(seed(settings, server.url))
        seniors["_alert"] = raise_demo_alert(settings, server.url, seniors["김복순"]["id"])
        figures = shoot(server.url, args.out, seniors)
        print(f"screenshots written to {args.out}")
        for f, kb in bundle_sizes().items():
            print(f"  {f}: {kb} kB gzip")
        samples = figures.get("first_render_ms", [])
        if samples:
            print(f"first meaningful render (navigation start → seniors list): median "
                  f"{statistics.median(samples):.0f} ms, min {min(samples):.0f} ms "
                  f"({', '.join(f'{s:.0f}' for s in samples)})")
    finally:
        if server:
            server.stop()
        if not args.keep_db:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
