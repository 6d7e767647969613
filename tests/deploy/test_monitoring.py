"""Operations: /metrics exports the installation's state in Prometheus text format; JSON logs."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from seniorsafe.alerts.lifecycle import Decision, apply_decision
from seniorsafe.config import Settings
from seniorsafe.deps import AppState
from seniorsafe.monitoring import JsonFormatter
from seniorsafe.processes import free_port
from tests.conftest import Org
from tests.servers import settings_env

SAMPLE = re.compile(r"^[a-z_][a-z0-9_]*(\{[^}]*\})? -?[0-9.e+]+$")


async def test_metrics_report_open_alerts_and_are_well_formed(client: httpx.AsyncClient, org: Org,
                                                              state: AppState) -> None:
    async with state.db.sessions() as session:
        await apply_decision(session, state.bus, org_id=org.id, senior_id=org.seniors[0]["id"], home_id=None,
                             decision=Decision("open", "emergency_button", "danger", "living", "button pressed",
                                               time.time() - 5, {}))
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = [line for line in r.text.splitlines() if line and not line.startswith("#")]
    assert all(SAMPLE.match(line) for line in samples), [s for s in samples if not SAMPLE.match(s)]
    open_danger = [s for s in samples if s.startswith('seniorsafe_alerts_open{severity="danger",category="resident"}')]
    assert open_danger and float(open_danger[0].split()[-1]) >= 1
    latency = [s for s in samples if s.startswith("seniorsafe_alert_latency_seconds_p99_24h")]
    assert latency and float(latency[0].split()[-1]) > 0  # the decision's event was long before it was stored


async def test_metrics_token_is_enforced_when_set(app: object, client: httpx.AsyncClient, state: AppState) -> None:
    original: Settings = state.settings
    state.settings = original.model_copy(update={"metrics_token": "s3cret-metrics-token"})
    try:
        assert (await client.get("/metrics")).status_code == 401
        ok = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
        assert ok.status_code == 200
    finally:
        state.settings = original


def test_json_log_lines() -> None:
    record = logging.LogRecord("seniorsafe.test", logging.WARNING, __file__, 1, "hub %s offline", ("h1",), None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "WARNING" and entry["message"] == "hub h1 offline" and entry["logger"] == "seniorsafe.test"


async def test_worker_processes_serve_their_own_metrics(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    env = {**settings_env(settings), "METRICS_PORT": str(port), "WORKFLOW_WORKER_IN_API": "false"}
    with (tmp_path / "workflow.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "seniorsafe.cli", "workflow"], env=env, stdout=log,  # noqa: ASYNC220
                                stderr=subprocess.STDOUT)
    try:
        body = ""
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    r = await http.get(f"http://127.0.0.1:{port}/metrics")
                    body = r.text
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
        assert 'seniorsafe_service_up{service="workflow"} 1' in body, (tmp_path / "workflow.log").read_text()
        assert "process_resident_memory_bytes" in body and "seniorsafe_alerts_open" in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)
