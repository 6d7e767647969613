"""`seniorsafe replay | evaluate | import-dataset` (a Typer sub-app mounted by the main CLI)."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer

from .formats import InputError, write_events_csv, write_sensors_json
from .thresholds import Thresholds

app = typer.Typer(help="Detection: replay recorded homes, evaluate the detector, import datasets.")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


def _thresholds(path: Path | None) -> Thresholds:
    if path is None:
        return Thresholds()
    try:
        return Thresholds.from_dict(orjson.loads(path.read_bytes()))
    except FileNotFoundError:
        _fail(f"{path}: file not found")
    except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
        _fail(f"{path}: {exc}")
    raise AssertionError("unreachable")


@app.command("replay")
def replay_cmd(
    events: Path = typer.Option(..., "--events", help="EVENTS.csv (ts,sensor,value)"),
    sensors: Path = typer.Option(..., "--sensors", help="SENSORS.json"),
    out: Path = typer.Option(..., "--out", help="ALERTS.jsonl to write"),
    thresholds: Path | None = typer.Option(None, "--thresholds", help="JSON with threshold overrides"),
    early_check_min: float | None = typer.Option(
        None, "--early-check-min", min=0.1,
        help="replay as with the robot's early check on: every caution sends the robot, and a resident who is "
             "fine answers this many minutes later (the alert closes as resident fine)"),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Replay a recorded home through the detector (nightly retraining in simulated time)."""
    from .replay import EarlyCheck, replay

    thr = _thresholds(thresholds)
    robot = EarlyCheck(lambda room: early_check_min * 60.0) if early_check_min is not None else None
    try:
        result = replay(events, sensors, out, progress=progress, thresholds=thr, early_check=robot)
    except InputError as exc:
        _fail(str(exc))
        return
    except OSError as exc:
        _fail(f"{exc.filename or out}: {exc.strerror}")
        return
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(result.counts().items())) or "none"
    typer.echo(
        f"{result.events} events over {result.days:.1f} days replayed in {result.seconds:.1f} s "
        f"({result.retrains} nightly retrainings); {len(result.alerts)} alerts ({counts}) -> {out}"
    )
    if robot is not None:
        typer.echo(f"robot early checks: {len(robot.sent)} sent, {len(robot.answered)} found the resident fine "
                   "(with the resident answering every check)")


@app.command("import-dataset")
def import_dataset_cmd(
    name: str = typer.Argument(..., help="ordonez_a, ordonez_b, kasteren_ka/kb/kc, kasteren2008_a, tapia_s1/s2"),
    out: Path = typer.Option(..., "--out", help="folder to write EVENTS.csv and SENSORS.json into"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="default: $SENIORSAFE_DATA_DIR or ../shared/data"),
) -> None:
    """Convert a recorded home from the shared data folder into EVENTS.csv + SENSORS.json."""
    from .datasets import load_dataset

    try:
        ds = load_dataset(name, data_dir)
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        n = write_events_csv(out / "EVENTS.csv", ds.events, ds.tz)
        write_sensors_json(out / "SENSORS.json", ds.tz, ds.sensors)
    except OSError as exc:
        _fail(f"{exc.filename or out}: {exc.strerror}")
        return
    note = f" ({'; '.join(ds.notes)})" if ds.notes else ""
    typer.echo(f"{ds.name}: {ds.rows} source rows -> {n} events, {len(ds.sensors)} sensors in {out}{note}")


@app.command("evaluate")
def evaluate_cmd(
    homes: list[str] = typer.Argument(
        None, help="dataset names, or folders with EVENTS.csv + SENSORS.json (default: all datasets)"),
    out: Path = typer.Option(Path("evaluation.json"), "--out", help="JSON results"),
    markdown: Path | None = typer.Option(None, "--markdown", help="also write the markdown table here"),
    plot: Path | None = typer.Option(None, "--plot", help="trade-off PNG (e.g. docs/img/detection_tradeoff.png)"),
    injections: int = typer.Option(60, "--injections", help="injected falls per home"),
    seed: int = typer.Option(7, "--seed"),
    warmup_days: int = typer.Option(7, "--warmup-days"),
    data_dir: Path | None = typer.Option(None, "--data-dir"),
    thresholds: Path | None = typer.Option(None, "--thresholds", help="JSON with threshold overrides"),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Measure false alarms and injected-fall detection per dataset home, against fixed baselines."""
    from .datasets import DATASET_NAMES
    from .evaluate import EvalConfig, early_check_table, evaluate_homes, markdown_table, plot_tradeoff, sweep_table

    names = homes or list(DATASET_NAMES)
    cfg = EvalConfig(injections=injections, seed=seed, warmup_days=warmup_days)
    try:
        report = evaluate_homes(names, cfg, _thresholds(thresholds), data_dir=data_dir, progress=progress)
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
        return
    out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    table = markdown_table(report)
    sweep = sweep_table(report)
    if sweep:
        table += "\n\nSensitivity sweep (detected ≤ 2 h / median TTD / danger FA per day):\n\n" + sweep
    robot = early_check_table(report)
    if robot:
        table += ("\n\nThe robot's early check (detected ≤ 2 h / median TTD; checks a day; danger pages a day if "
                  "every resident who is fine and at home answers — danger alerts + absences with nobody home: "
                  "silences that ended with the resident coming in through the exterior door, stretches between two "
                  "door events where only a sensor that fires on its own acted — and if 10 % of those at home do "
                  "not):\n\n" + robot)
    if markdown is not None:
        markdown.write_text(table + "\n", encoding="utf-8")
    if plot is not None:
        plot_tradeoff(report, plot)
    typer.echo(table)
    for home in report["homes"]:
        for note in home.get("notes") or ():
            typer.echo(f"note: {home['home']}: {note}", err=True)
    typer.echo(f"results -> {out}")
