"""The `seniorsafe` command: every process and every operator task has a sub-command here."""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from seniorsafe.config import get_settings
from seniorsafe.telemetry.cli import broker_app, hub_cmd, ingest_cmd, simulate_cmd

app = typer.Typer(help="Senior Safe Things: api, workers and operator tasks.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.command("ingest")(ingest_cmd)
app.command("hub")(hub_cmd)
app.command("simulate")(simulate_cmd)
app.add_typer(broker_app, name="broker")


def _setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


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
