"""Alert workflow fixtures: shared organisations (users are slow to create) and an alert opener."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from seniorsafe.deps import AppState
from tests.conftest import Org, make_org


@pytest.fixture(scope="session")
async def wf_orgs(app: Any, state: AppState) -> list[Org]:
    transport = httpx.ASGITransport(app=app, client=("10.6.6.6", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        return [await make_org(c, state, "WA"), await make_org(c, state, "WB")]
