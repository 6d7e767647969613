"""WebRTC fixtures: a private coturn with REST credentials, and settings that point at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from seniorsafe.config import Settings
from seniorsafe.webrtc.coturn import LocalTurn


@pytest.fixture(scope="session")
def turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTurn]:
    with LocalTurn(tmp_path_factory.mktemp("coturn")) as running:
        yield running


@pytest.fixture(scope="session")
def turn_settings(settings: Settings, turn: LocalTurn) -> Settings:
    return settings.model_copy(update={"turn_urls": turn.urls, "turn_secret": turn.secret, "turn_ttl_seconds": 600})


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Any:
    """aioice never offers 127.0.0.1 as a host candidate; direct tests on one machine use loopback."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    return None
