"""Browser tests of the dashboard: the real backend (uvicorn) serving web/dist, driven by Chromium.

- web/dist is built once per session when it is missing or older than the sources
  (`npm ci` when node_modules is missing or older than package-lock.json, then `npm run build`).
- The api runs in a background thread (uvicorn, `create_app(settings)`) on a free port, against the
  same uniquely named test database and Redis prefix as the rest of the suite (tests/conftest.py).
- Data is created through the API in-process with `make_org`; the browser signs in as those users.
- Chromium is Debian's (/usr/bin/chromium); `playwright install` is never run.

Live alert and video tests are in test_live.py; the whole path of a simulated fall (detector, robot dispatcher
and simulated robot as processes, a private Mosquitto) in test_fall.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from seniorsafe.app import create_app
from seniorsafe.config import Settings
from seniorsafe.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: browser tests of the dashboard (Chromium + real backend)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists() and shutil.which("npm"):
        return
    skip = pytest.mark.skip(reason=f"needs {CHROMIUM} (apt-get install chromium) and npm")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


# ----------------------------------------------------------------------------------- building web/

def _newest_mtime(paths: list[Path]) -> float:
    newest = 0.0
    for p in paths:
        if p.is_file():
            newest = max(newest, p.stat().st_mtime)
        elif p.is_dir():
            for f in p.rglob("*"):
                if f.is_file():
                    newest = max(newest, f.stat().st_mtime)
    return newest


def build_dashboard() -> Path:
    """Build web/dist if it is missing or stale; returns the dist folder."""
    sources = [WEB / "src", WEB / "public", WEB / "index.html", WEB / "package.json", WEB / "package-lock.json",
               WEB / "vite.config.ts", WEB / "tsconfig.json"]
    index = DIST / "index.html"
    if index.is_file() and index.stat().st_mtime >= _newest_mtime(sources):
        return DIST
    marker = WEB / "node_modules" / ".package-lock.json"
    if not marker.is_file() or marker.stat().st_mtime < (WEB / "package-lock.json").stat().st_mtime:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
    subprocess.run(["npm", "run", "build"], cwd=WEB, check=True)
    return DIST


@pytest.fixture(scope="session")
def web_dist() -> Path:
    return build_dashboard()


# ------------------------------------------------------------------------------------ the backend

class ServerThread:
    """uvicorn in a background thread with its own event loop; `stop()` shuts it down cleanly."""

    def __init__(self, app: Any, port: int) -> None:
        self.config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                                     lifespan="on")
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="e2e-uvicorn", daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.server.started:
                return
            if not self.thread.is_alive():
                raise RuntimeError("the api server thread died on start")
            time.sleep(0.05)
        raise RuntimeError("the api server did not start in 20 s")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


# package scope: the server's workflow worker (escalation and notification dispatch in real time, against the
# session's database) must stop with the e2e tests, or it races tests that drive those ticks with their own clock
# (tests/notifications: a delivery dispatched by it with the app's settings made test_gives_up_after_max_attempts
# fail now and then)
@pytest.fixture(scope="package")
def live_server(settings: Settings, web_dist: Path) -> Iterator[ServerThread]:
    os.environ.setdefault("SENIORSAFE_WEB_DIST", str(web_dist))
    port = free_port()
    # the live gateway accepts browser connections from PUBLIC_URL's origin only
    served = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    server = ServerThread(create_app(served), port)
    server.start()
    yield server
    server.stop()


# ---------------------------------------------------------------------------- MQTT (robot tests)

@pytest.fixture(scope="session")
def e2e_broker(tmp_path_factory: pytest.TempPathFactory, run_id: str) -> Iterator[Any]:
    """A private Mosquitto with dynamic security (as in deployment), started only by the tests that need it."""
    from seniorsafe.telemetry.broker import LocalBroker

    with LocalBroker(tmp_path_factory.mktemp("e2e-mosquitto"), root=f"sse2e-{run_id}/v1") as running:
        yield running


@pytest.fixture(scope="session")
def broker_settings(settings: Settings, e2e_broker: Any) -> Settings:
    """The test settings plus the broker's backend account: for `seniorsafe robots` and `robot-sim`."""
    return e2e_broker.backend_settings(settings)


# ------------------------------------------------------------------------------------------ data

@pytest.fixture(scope="session")
async def session_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("10.1.2.4", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture(scope="session")
async def org_a(session_client: httpx.AsyncClient, state: Any) -> Any:
    """An organisation shared by the read-only browser tests (building one costs seconds of hashing).

    Tests that change data use the function-scoped `org` fixture instead.
    """
    from tests.conftest import make_org

    return await make_org(session_client, state, "E2E A")


@pytest.fixture(scope="session")
async def org_b(session_client: httpx.AsyncClient, state: Any) -> Any:
    from tests.conftest import make_org

    return await make_org(session_client, state, "E2E B")


# ------------------------------------------------------------------------------------- the browser

@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        await b.close()


@pytest.fixture
async def new_page(browser: Any, live_server: ServerThread) -> AsyncIterator[Any]:
    """Factory: `await new_page(viewport=PHONE, bypass_csp=True)` → a page in a fresh context."""
    contexts: list[Any] = []

    async def make(**kwargs: Any) -> Any:
        ctx = await browser.new_context(base_url=live_server.url, viewport=kwargs.pop("viewport", DESKTOP),
                                        locale=kwargs.pop("locale", "ko-KR"),
                                        timezone_id=kwargs.pop("timezone_id", "Asia/Seoul"), **kwargs)
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        page = await ctx.new_page()
        page.errors = []  # uncaught exceptions in the page fail the test (checked by the tests)
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        return page

    yield make
    for ctx in contexts:
        await ctx.close()


@pytest.fixture
async def page(new_page: Any) -> Any:
    return await new_page()


async def wait_for_picture(page: Any, video_selector: str, within_ms: float) -> None:
    """Wait until the <video> matched by the selector has decoded a frame (its picture size is known)."""
    await page.wait_for_function(
        "(sel) => { const v = document.querySelector(sel); return v && v.videoWidth > 0 && v.videoHeight > 0; }",
        arg=video_selector, timeout=within_ms)


async def sign_in(page: Any, email: str, password: str) -> None:
    """Sign in through the login form and wait for the signed-in shell."""
    from tests.conftest import PASSWORD

    await page.goto("/")
    await page.locator("#email").fill(email)
    await page.locator("#password").fill(password or PASSWORD)
    await page.locator("button[type=submit]").click()
    await page.locator("header.topbar").wait_for()


async def axe_violations(page: Any, min_impact: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """Run axe-core (from web/node_modules) in the page; return serious and critical violations."""
    source = (WEB / "node_modules" / "axe-core" / "axe.min.js").read_text()
    await page.evaluate(source + "\n;void 0;")
    result = await page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in min_impact]


def fmt_violations(violations: list[dict[str, Any]]) -> str:
    return json.dumps(violations, ensure_ascii=False, indent=1)


async def set_risk(state: Any, senior_id: str, level: str) -> None:
    from sqlalchemy import text

    async with state.db.sessions() as session:
        await session.execute(text("UPDATE seniors SET risk_level = :l, risk_changed_at = now() WHERE id = :id"),
                              {"l": level, "id": senior_id})
        await session.commit()


__all__ = ["DESKTOP", "PHONE", "asyncio", "axe_violations", "fmt_violations", "set_risk", "sign_in"]
