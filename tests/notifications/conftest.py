"""Real servers for the channels: an SMTP server (aiosmtpd), a fake SMS provider and a push service (aiohttp)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from seniorsafe.deps import AppState
from seniorsafe.processes import free_port
from tests.conftest import Org, make_org


@pytest.fixture(scope="session")
async def nt_org(app: Any, state: AppState) -> Org:
    transport = httpx.ASGITransport(app=app, client=("10.5.5.5", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        return await make_org(c, state, "NT")


def with_settings(state: AppState, **changes: Any) -> AppState:
    return dataclasses.replace(state, settings=state.settings.model_copy(update=changes))


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "data": envelope.content.decode("utf-8", "replace")})
        return "250 OK"


@dataclass
class Smtp:
    port: int
    box: Mailbox
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.box, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp(free_port(), Mailbox())
    yield server
    server.stop()


@dataclass
class FakeHttp:
    """Records every request; answers with the queued statuses (then the default)."""

    port: int = 0
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append({"path": request.path, "headers": dict(request.headers), "body": body})
        status = self.statuses.pop(0) if self.statuses else self.default
        return web.Response(status=status, text="ok" if status < 300 else "nope")


@pytest.fixture
async def fake_http() -> AsyncIterator[FakeHttp]:
    fake = FakeHttp(port=free_port())
    application = web.Application()
    application.router.add_route("POST", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(application)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", fake.port)
    await site.start()
    yield fake
    await runner.cleanup()
