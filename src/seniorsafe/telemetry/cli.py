"""Commands of the telemetry issue: `seniorsafe ingest`, `seniorsafe broker ...`, `seniorsafe hub`,
`seniorsafe simulate`. Imports are lazy so that the CLI starts fast."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from seniorsafe.config import get_settings

broker_app = typer.Typer(help="The MQTT broker (Mosquitto) with per-hub credentials.", no_args_is_help=True)


def _logging() -> None:
    from seniorsafe.monitoring import configure_logging

    configure_logging(get_settings(), os.environ.get("LOG_LEVEL", "INFO"))


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def ingest_cmd(
    client_id: Annotated[str, typer.Option(help="MQTT client id: keep it stable, the broker keeps this "
                                                "session's queued events while the process is down")] = "",
    processes: Annotated[int, typer.Option(min=1, max=64, help="consumer processes sharing the subscription "
                                                              "(client ids get -1, -2, ...)")] = 1,
    group: Annotated[str, typer.Option(help="shared-subscription group")] = "ingest",
    max_batch: Annotated[int, typer.Option(min=1, max=20000, help="messages per database batch")] = 2000,
) -> None:
    """Run the MQTT ingest: validate, store (COPY) and stream every hub event, exactly once."""
    _logging()
    base = client_id or f"seniorsafe-ingest-{socket.gethostname()}"
    if processes > 1:
        _run_children(base, processes, group, max_batch)
        return
    from seniorsafe.telemetry.mqtt import run_ingest

    async def main() -> None:
        await run_ingest(get_settings(), base, group=group, max_batch=max_batch, stop=_stop_event())

    from seniorsafe.monitoring import run_service

    run_service(main(), "ingest")


def _run_children(base: str, processes: int, group: str, max_batch: int) -> None:
    children = [subprocess.Popen([sys.executable, "-m", "seniorsafe.cli", "ingest", "--client-id", f"{base}-{i + 1}",
                                  "--group", group, "--max-batch", str(max_batch)]) for i in range(processes)]

    def _terminate(*_: object) -> None:
        for child in children:
            child.terminate()

    signal.signal(signal.SIGTERM, _terminate)
    try:
        for child in children:
            child.wait()
    except KeyboardInterrupt:
        for child in children:
            child.terminate()
        for child in children:
            child.wait()


@broker_app.command("run")
def broker_run(
    data_dir: Annotated[Path, typer.Option(help="config, dynamic-security state and persistence")] = Path(
        "var/mosquitto"),
    port: Annotated[int, typer.Option(help="listener port")] = 0,
    bind: Annotated[str, typer.Option(help="listener address")] = "127.0.0.1",
) -> None:
    """Start Mosquitto with the project's config; its accounts are built from the database on first start."""
    from seniorsafe.telemetry import broker

    settings = get_settings()
    state = data_dir / "dynamic-security.json"
    config = None if state.exists() else asyncio.run(_dynsec_from_db())
    conf = broker.write_files(data_dir.resolve(), port or settings.mqtt_port, config, bind)
    typer.echo(f"mosquitto on {bind}:{port or settings.mqtt_port} with {conf}")
    os.execvp("mosquitto", ["mosquitto", "-c", str(conf)])


@broker_app.command("dynsec-config")
def broker_dynsec_config(
    out: Annotated[Path, typer.Option(help="where to write dynamic-security.json")],
) -> None:
    """Rebuild the broker's accounts (backend + every hub, revoked ones disabled) from the database.
    Stop the broker, write the file over its dynamic-security.json, start it again."""
    import orjson

    out.write_bytes(orjson.dumps(asyncio.run(_dynsec_from_db()), option=orjson.OPT_INDENT_2))
    out.chmod(0o600)
    typer.echo(f"wrote {out}")


async def _dynsec_from_db() -> dict[str, object]:
    from seniorsafe.db import Database
    from seniorsafe.telemetry.dynsec import config_from_database

    settings = get_settings()
    db = Database(settings)
    try:
        async with db.sessions() as session:
            return await config_from_database(session, settings)
    finally:
        await db.dispose()


def hub_cmd(
    config: Annotated[Path, typer.Option(help="hub agent config (JSON); see docs/protocols.md")],
) -> None:
    """Run the hub agent (the software on a home's hub): sensors → local disk → backend, loss-free."""
    _logging()
    from seniorsafe.hub.agent import run_agent_from_file

    run_agent_from_file(config)


def simulate_cmd(
    residents: Annotated[int, typer.Option(min=1, help="virtual residents (homes)")] = 4,
    days: Annotated[float, typer.Option(min=0.01, help="simulated days")] = 1.0,
    speed: Annotated[float, typer.Option(min=0.0, help="time acceleration (1 = real time, 0 = as fast as "
                                                       "possible)")] = 60.0,
    start: Annotated[str, typer.Option(help="simulated start: 'now' or an RFC 3339 time (past days = backfill)")]
    = "now",
    demo: Annotated[bool, typer.Option(help="use the demo seed's hubs (demo-hub-001...) and sensors")] = True,
    hubs_file: Annotated[Path | None, typer.Option(help="JSON list of {hub_id, secret} (else: HTTP from "
                                                        "the database, see --via)")] = None,
    via: Annotated[str, typer.Option(help="mqtt (direct), http (POST /api/v1/hub/events, needs --api-url), "
                                          "agent (through real hub agents) or print")] = "mqtt",
    api_url: Annotated[str | None, typer.Option(help="with --via http: the api's base URL, e.g. "
                                                     "http://127.0.0.1:8000")] = None,
    scenario: Annotated[list[str] | None, typer.Option(help="inject: fall, bathroom, night_exit, button, "
                                                           "hub_offline (repeatable; 'name@HH:MM' or "
                                                           "'name@resident')")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 7,
) -> None:
    """Simulate residents' days (sleep, meals, bathroom, outings, TV) and send their sensor events."""
    if via not in ("mqtt", "http", "agent", "print"):
        raise typer.BadParameter("mqtt, http, agent or print", param_hint="--via")
    if via == "http" and not api_url:
        raise typer.BadParameter("--via http needs the api's URL", param_hint="--api-url")
    _logging()
    from seniorsafe.simulate.runner import SimulationOptions, run_simulation

    run_simulation(SimulationOptions(residents=residents, days=days, speed=speed, start=start, demo=demo,
                                     hubs_file=hubs_file, via=via, scenarios=scenario or [], seed=seed,
                                     api_url=api_url.rstrip("/") if api_url else None))
