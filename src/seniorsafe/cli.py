"""The `seniorsafe` command: every process and every operator task has a sub-command here."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from seniorsafe.config import get_settings
from seniorsafe.detection.cli import app as detection_app
from seniorsafe.monitoring import run_service
from seniorsafe.robots.cli import robot_sim_cmd, robots_cmd
from seniorsafe.telemetry.cli import broker_app, hub_cmd, ingest_cmd, simulate_cmd

app = typer.Typer(help="Senior Safe Things: api, workers and operator tasks.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.command("ingest")(ingest_cmd)
app.command("hub")(hub_cmd)
app.command("simulate")(simulate_cmd)
app.add_typer(broker_app, name="broker")
app.command("robots")(robots_cmd)
app.command("robot-sim")(robot_sim_cmd)
app.registered_commands.extend(detection_app.registered_commands)  # replay, evaluate, import-dataset


def _setup_logging(level: str = "INFO") -> None:
    from seniorsafe.monitoring import configure_logging

    configure_logging(get_settings(), level)


@app.command()
def api(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Run the API (REST and live gateway)."""
    import uvicorn

    uvicorn.run("seniorsafe.app:create_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=True, log_level="info", access_log=False)


@app.command()
def detect(
    shard: Annotated[int, typer.Option(help="this detector's shard (0-based)")] = 0,
    shards: Annotated[int, typer.Option(help="number of detector shards (homes are split by hash)")] = 1,
    tick: Annotated[float, typer.Option(help="seconds between deadline checks")] = 1.0,
    history_hours: Annotated[float, typer.Option(help="history replayed at start-up to rebuild live state")] = 24.0,
    lease_seconds: Annotated[float, typer.Option(help="shard lease; a crashed detector's shard is free after it")]
    = 15.0,
    name: Annotated[str, typer.Option(help="consumer-group name prefix")] = "detector",
) -> None:
    """Run the detector: stream consumer, live state per home, alerts (see docs/detection.md)."""
    from seniorsafe.detection.detector_service import DetectorConfig, run_detector

    if not 0 <= shard < shards:
        typer.echo("--shard must be between 0 and --shards - 1", err=True)
        raise typer.Exit(2)
    _setup_logging()
    config = DetectorConfig(name=name, shard=shard, shards=shards, tick_s=tick, history_hours=history_hours,
                            lease_s=lease_seconds)
    run_service(run_detector(get_settings(), config), "detect")


@app.command()
def train(
    senior: Annotated[str | None, typer.Option(help="train this senior now and exit (default: run the nightly "
                                                     "schedule and serve API requests)")] = None,
) -> None:
    """Run the trainer: nightly personal models at 03:00 local time, or one senior on demand."""
    import uuid

    from seniorsafe.detection.trainer import NothingToLearn, run_trainer

    _setup_logging()
    try:
        senior_id = uuid.UUID(senior) if senior else None
    except ValueError:
        typer.echo(f"--senior: {senior!r} is not a senior id", err=True)
        raise typer.Exit(2) from None
    try:
        result = run_service(run_trainer(get_settings(), senior_id), "train")
    except NothingToLearn as exc:
        typer.echo(f"nothing to learn: {exc}", err=True)
        raise typer.Exit(1) from exc
    if result is not None:
        typer.echo(f"senior {result.senior_id}: model v{result.version} ({result.days} days, {result.events} events, "
                   f"{result.feedback} false alarms as feedback) -> {result.artifact_key}")


@app.command()
def workflow() -> None:
    """Run alert escalation, device-health reconciliation and notification delivery as a worker process.

    The api runs the same worker unless WORKFLOW_WORKER_IN_API=false; a Redis lock keeps one active at a time.
    """
    from seniorsafe.alerts.escalation import run_worker_forever

    _setup_logging()
    run_service(run_worker_forever(get_settings()), "workflow")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from seniorsafe.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target revision, e.g. -1 or base")]) -> None:
    """Revert migrations down to REVISION."""
    from seniorsafe.migrate import downgrade

    downgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@app.command("create-admin")
def create_admin(
    org: Annotated[str, typer.Option(help="organisation name")],
    email: Annotated[str, typer.Option(help="admin's email (their sign-in)")],
    name: Annotated[str, typer.Option(help="admin's name")] = "Administrator",
    password_env: Annotated[str, typer.Option(help="read the password from this environment variable")] = "",
) -> None:
    """Bootstrap a new organisation and its first admin."""
    from seniorsafe.accounts.service import create_organisation_with_admin
    from seniorsafe.db import Database
    from seniorsafe.errors import Problem

    password = os.environ.get(password_env, "") if password_env else getpass.getpass("Password: ")
    if len(password) < 10:
        typer.echo("the password must have at least 10 characters", err=True)
        raise typer.Exit(2)

    async def run() -> None:
        db = Database(get_settings())
        try:
            async with db.sessions() as session:
                org_row, admin = await create_organisation_with_admin(session, org, email, name, password)
            typer.echo(f"organisation {org_row.id} created; admin {admin.email}")
        except Problem as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from exc
        finally:
            await db.dispose()

    asyncio.run(run())


@app.command("seed-demo")
def seed_demo() -> None:
    """Create the demo organisation (admin, staff, guardian, seniors with homes and sensors) unless it exists."""
    from seniorsafe.db import Database
    from seniorsafe.seed import DEMO_LOGINS, DEMO_PASSWORD
    from seniorsafe.seed import seed_demo as run_seed

    settings = get_settings()
    if settings.environment == "production":
        typer.echo("refusing to seed demo accounts in production", err=True)
        raise typer.Exit(2)

    async def run() -> bool:
        db = Database(settings)
        try:
            async with db.sessions() as session:
                return await run_seed(session)
        finally:
            await db.dispose()

    created = asyncio.run(run())
    typer.echo("demo organisation " + ("created" if created else "already present"))
    for login in DEMO_LOGINS:
        typer.echo(f"  {login.role:9s} {login.email}  password: {DEMO_PASSWORD}")


@app.command("config-reference")
def config_reference() -> None:
    """Print the configuration reference (markdown) generated from the settings object."""
    from seniorsafe.config import reference_markdown

    typer.echo(reference_markdown(), nl=False)


@app.command()
def openapi() -> None:
    """Print the OpenAPI document (JSON)."""
    from seniorsafe.app import create_app

    json.dump(create_app().openapi(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


@app.command()
def up(
    host: Annotated[str, typer.Option(help="address the API listens on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port the API listens on")] = 8000,
    var_dir: Annotated[Path, typer.Option(help="where embedded servers keep their data")] = Path("var"),
) -> None:
    """Run the whole system on this machine (embedded PostgreSQL/Redis where none are configured)."""
    from seniorsafe.up import run_all

    _setup_logging()
    run_all(host=host, port=port, var_dir=var_dir)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
