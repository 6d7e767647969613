"""deploy/: the compose file against the Compose Specification, and what it promises a care organisation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from seniorsafe.config import Settings
from tests.deploy.conftest import DEPLOY

APP_SERVICES = ("api", "ingest", "detect", "train", "robots")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def test_compose_matches_the_compose_specification() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_database_or_cache_port_is_published(compose: dict[str, Any]) -> None:
    for name in ("db", "redis", "s3", *APP_SERVICES):
        assert "ports" not in compose["services"][name], f"{name} publishes a port"


def test_every_service_restarts_has_limits_and_volumes_are_named(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        if name == "migrate":
            continue
        assert service.get("restart", compose["x-app"]["restart"]) == "unless-stopped", name
        assert service.get("deploy", {}).get("resources", {}).get("limits"), f"{name} has no resource limits"
    for name in ("db", "redis", "mosquitto", "s3"):
        assert any(":" in v and not v.startswith((".", "/", "$")) for v in services[name]["volumes"]), name
    assert services["api"]["deploy"]["replicas"]
    for name in APP_SERVICES:
        assert services[name]["healthcheck"].get("test"), f"{name} has no health check"


def test_secrets_come_only_from_the_environment(compose: dict[str, Any]) -> None:
    env = compose["x-app"]["environment"]
    for name in ("JWT_SECRET", "TURN_SECRET", "MQTT_PASSWORD", "S3_SECRET_KEY"):
        assert env[name].startswith("${") and ":?" in env[name], f"{name} must be required from the environment"
    assert ":?" in env["DATABASE_URL"] and ":?" in env["REDIS_URL"]


def test_coturn_publishes_exactly_the_range_it_allocates(compose: dict[str, Any]) -> None:
    coturn = compose["services"]["coturn"]
    relay = [p for p in coturn["ports"] if "TURN_MIN_PORT" in p]
    span = "${TURN_MIN_PORT:-49160}-${TURN_MAX_PORT:-49359}"
    assert relay == [f"{span}:{span}/udp"]
    entry = (DEPLOY / "coturn" / "entrypoint.sh").read_text()
    assert "min-port=${TURN_MIN_PORT:-49160}" in entry and "max-port=${TURN_MAX_PORT:-49359}" in entry
    assert coturn["environment"]["TURN_MIN_PORT"] == "${TURN_MIN_PORT:-49160}"
    assert coturn["environment"]["TURN_MAX_PORT"] == "${TURN_MAX_PORT:-49359}"


def test_production_refuses_default_or_missing_secrets() -> None:
    good = {"environment": "production", "jwt_secret": "j" * 40, "turn_secret": "t" * 40, "mqtt_password": "m" * 20,
            "database_url": "postgresql+asyncpg://seniorsafe:pw@db:5432/seniorsafe",
            "redis_url": "redis://:pw@redis:6379/0"}
    assert Settings.model_validate(good).environment == "production"
    for missing, message in (("jwt_secret", "JWT_SECRET"), ("turn_secret", "TURN_SECRET"),
                             ("mqtt_password", "MQTT_PASSWORD"), ("database_url", "DATABASE_URL"),
                             ("redis_url", "REDIS_URL")):
        with pytest.raises(ValidationError, match=message):
            Settings.model_validate({k: v for k, v in good.items() if k != missing})


def test_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    from tests.deploy.conftest import nginx_running

    with nginx_running(tmp_path, "127.0.0.1:9", tmp_path) as ports:
        assert ports["https"] > 0
