from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from typer.testing import CliRunner

from seniorsafe.detection import Event, SensorInfo
from seniorsafe.detection.activity import ActivityTracker
from seniorsafe.detection.cli import app
from seniorsafe.detection.formats import (
    close_each_opening,
    read_events_csv,
    write_events_csv,
    write_sensors_json,
)
from seniorsafe.detection.replay import replay, run_detector
from seniorsafe.detection.synthetic import device_check_ins

from .conftest import TZ, at, out_with_a_cat, sensors, synthetic_days

runner = CliRunner()


@pytest.fixture
def home_files(tmp_path: Path) -> tuple[Path, Path]:
    events = [e for e in synthetic_days(10) if not (at(9, 14) <= e.ts < at(9, 22))]  # a silent afternoon
    ev_path, s_path = tmp_path / "EVENTS.csv", tmp_path / "SENSORS.json"
    write_events_csv(ev_path, events, TZ)
    write_sensors_json(s_path, TZ, sensors())
    return ev_path, s_path


def test_replay_cli_writes_alerts(home_files: tuple[Path, Path], tmp_path: Path) -> None:
    ev, s = home_files
    out = tmp_path / "ALERTS.jsonl"
    res = runner.invoke(app, ["replay", "--events", str(ev), "--sensors", str(s), "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert rows
    assert set(rows[0]) == {"opened_at", "closed_at", "kind", "severity", "room", "evidence"}
    silent = [r for r in rows if r["kind"] == "inactivity" and r["opened_at"].startswith("2024-03-13T1")]
    assert silent and silent[0]["severity"] in ("caution", "danger")


def test_replay_with_the_robots_early_check(home_files: tuple[Path, Path], tmp_path: Path) -> None:
    """--early-check-min: the silent afternoon's cautions are checked and closed, and it never reaches danger."""
    ev, s = home_files
    plain, checked = tmp_path / "plain.jsonl", tmp_path / "checked.jsonl"
    args = ["replay", "--events", str(ev), "--sensors", str(s), "--no-progress"]
    assert runner.invoke(app, [*args, "--out", str(plain)]).exit_code == 0
    res = runner.invoke(app, [*args, "--out", str(checked), "--early-check-min", "3.5"])
    assert res.exit_code == 0, res.output
    assert "robot early checks:" in res.output

    def afternoon(path: Path) -> list[dict[str, object]]:
        rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
        return [r for r in rows if r["kind"] == "inactivity" and str(r["opened_at"]).startswith("2024-03-13T")]

    assert "danger" in [r["severity"] for r in afternoon(plain)]
    robot = afternoon(checked)
    assert len(robot) >= 2 and {r["severity"] for r in robot} == {"caution"}
    bad = runner.invoke(app, [*args, "--out", str(checked), "--early-check-min", "0"])
    assert bad.exit_code == 2 and "early-check-min" in bad.output


def test_replay_function_result(home_files: tuple[Path, Path], tmp_path: Path) -> None:
    ev, s = home_files
    result = replay(ev, s, tmp_path / "a.jsonl", progress=False)
    assert result.events > 1000 and result.retrains >= 9 and 9 < result.days < 11


def test_devices_checking_in_change_no_alert(home_files: tuple[Path, Path], tmp_path: Path) -> None:
    """Zigbee devices re-send their current state about every 50 min, also through a fall: replayed with nightly
    training, the home gives exactly the alerts it gives without them (the silent afternoon included). (A motion
    sensor's state between triggers is "no motion"; the synthetic bedroom one never reports it, so it has none.)"""
    ev, s = home_files
    events = read_events_csv(ev, sensors(), TZ)
    devices = device_check_ins(sensors(), events, 50 * 60.0, events[-1].ts)
    checked_in = sorted([*events, *devices], key=lambda e: e.ts)
    chatty = tmp_path / "CHECKINS.csv"
    write_events_csv(chatty, checked_in, TZ)
    assert len(checked_in) > len(events) + 1000
    plain, read = tmp_path / "plain.jsonl", tmp_path / "chatty.jsonl"
    args = ["replay", "--sensors", str(s), "--no-progress"]
    assert runner.invoke(app, [*args, "--events", str(ev), "--out", str(plain)]).exit_code == 0
    assert runner.invoke(app, [*args, "--events", str(chatty), "--out", str(read)]).exit_code == 0
    assert b"2024-03-13T1" in plain.read_bytes()  # the silent afternoon alerts
    assert read.read_bytes() == plain.read_bytes()


def test_a_home_whose_doors_and_cupboards_log_each_opening(tmp_path: Path) -> None:
    """Some recordings log a door or cupboard only when it opens (value 1, never 0). Every opening is the resident
    acting: 14 ordinary days raise nothing, and a silence from 14:00 on day 12 pages (before, only each sensor's
    first opening counted — the rest were taken as check-ins: 20 alarms, a 12 h no-activity one most days)."""
    rooms = {"m_kitchen": "kitchen", "m_living": "living", "m_bedroom": "bedroom", "m_bath": "bathroom"}
    home = {f"c_{r}": SensorInfo(f"c_{r}", "contact", r) for r in rooms.values()}
    home |= {s.id: s for s in sensors().values() if s.id in ("front", "fridge", "bed")}
    opened = [Event(e.ts, f"c_{rooms[e.sensor]}" if e.sensor in rooms else e.sensor, e.value)
              for e in synthetic_days(14) if e.value >= 0.5 or e.sensor == "bed"]
    ev = tmp_path / "EVENTS.csv"
    notes: list[str] = []
    for name, events in (("ordinary", opened), ("fallen", [e for e in opened if not at(12, 14) <= e.ts < at(12, 20)])):
        write_events_csv(ev, events, TZ)
        alerts = run_detector(read_events_csv(ev, home, TZ, notes), home, TZ).alerts
        if name == "ordinary":
            assert alerts == []
            continue
        assert (alerts[0].kind, alerts[0].severity) == ("inactivity", "danger")  # then the missed evening
        assert at(12, 14) < alerts[0].opened_at < at(12, 16)
        assert all(a.opened_at > at(12, 14) for a in alerts)
    assert notes[0] == ("6 sensors report openings only (never 0): each read as closed again 1 s later: c_bathroom, "
                        "c_bedroom, c_kitchen, c_living, fridge, front")


def test_a_door_left_open_that_checks_in_is_not_read_as_openings(tmp_path: Path) -> None:
    """A recording from Zigbee devices in which the bathroom door stays open throughout: it never reports 0, and
    re-sends "open" with every check-in (every 50 min, a few seconds' jitter). That is not someone opening it: a
    silence from 14:00 on day 12 still pages within 2 h (read as openings, the check-ins would hide it)."""
    rng = random.Random(4)
    home = sensors() | {"door_bath": SensorInfo("door_bath", "door", "bathroom")}
    days = synthetic_days(14)
    check_ins = [Event(days[0].ts + 600 + i * 3000 + rng.uniform(-20, 20), "door_bath", 1)
                 for i in range(int((days[-1].ts - days[0].ts) // 3000))]
    fallen = sorted([e for e in days if not at(12, 14) <= e.ts < at(12, 20)] + check_ins, key=lambda e: e.ts)
    ev = tmp_path / "EVENTS.csv"
    write_events_csv(ev, fallen, TZ)
    notes: list[str] = []
    read = read_events_csv(ev, home, TZ, notes)
    assert notes == ["door_bath never report 0 and repeat 1 at a steady pace: read as devices left open checking "
                     "in, not as someone acting"]
    alerts = run_detector(read, home, TZ).alerts
    paged = [a for a in alerts if a.kind == "inactivity" and a.danger_at is not None and a.opened_at > at(12, 14)]
    assert paged and paged[0].danger_at < at(12, 16)


def test_a_mat_that_logs_presses_only_is_a_pulse_not_someone_lying_on_it_for_good() -> None:
    """A bed mat with no "free" in the whole recording: each press closes again 1 s later, so it is a pulse (one
    context, like a motion sensor) and the home is not "resting" (caution only) from its first press on."""
    home = sensors()
    t = at(0, 22)
    read = close_each_opening([Event(t, "bed", 1), Event(t + 5, "m_bedroom", 1), Event(t + 600, "bed", 1)], home)
    assert [(e.ts - t, e.sensor, e.value) for e in read] == [
        (0, "bed", 1), (1, "bed", 0), (5, "m_bedroom", 1), (600, "bed", 1), (601, "bed", 0)]
    tracker = ActivityTracker(home)
    acts = [a for a in map(tracker.classify, read) if a is not None]
    assert [a.key for a in acts][-1] == "bed" and not tracker.presence_on and not acts[-1].resting
    both = [Event(t, "bed", 1), Event(t + 8 * 3600, "bed", 0), Event(t + 9 * 3600, "bed", 1)]
    assert close_each_opening(both, home) == both  # a mat that reports "free" reports a state


def test_state_words_and_unlisted_sensors_as_other_recordings_write_them(
    home_files: tuple[Path, Path], tmp_path: Path
) -> None:
    """CASAS writes ON/OFF and OPEN/CLOSE; a recording may hold sensors the sensors file leaves out (temperature):
    the words are read as 1/0 (same alerts as the numbers) and the unlisted sensors skipped with a note."""
    ev, s = home_files
    lines = ev.read_text(encoding="utf-8").splitlines()
    word = {"m_": ("ON", "OFF"), "fr": ("OPEN", "CLOSE"), "be": ("true", "false")}
    worded = [lines[0]]
    for line in lines[1:]:
        ts, sid, value = line.split(",")
        on_off = word.get(sid[:2])
        worded.append(f"{ts},{sid},{on_off[0] if value == '1' else on_off[1]}" if on_off else line)
        worded.append(f"{ts},T001,21.5")
    words = tmp_path / "WORDS.csv"
    words.write_text("\n".join(worded) + "\n", encoding="utf-8")
    plain, read = tmp_path / "plain.jsonl", tmp_path / "words.jsonl"
    args = ["replay", "--sensors", str(s), "--no-progress"]
    assert runner.invoke(app, [*args, "--events", str(ev), "--out", str(plain)]).exit_code == 0
    res = runner.invoke(app, [*args, "--events", str(words), "--out", str(read)])
    assert res.exit_code == 0, res.output
    n = len(lines) - 1
    assert f"note: skipped {n} events of sensors not in the sensors file: T001 ({n})" in res.output
    assert read.read_bytes() == plain.read_bytes() != b""


@pytest.mark.parametrize("tz", ["Europe/Paris", "America/New_York", "Australia/Sydney"])
def test_local_times_across_the_end_of_summer_time_keep_their_order(tmp_path: Path, tz: str) -> None:
    """A recording written in local time without offsets repeats an hour when summer time ends: the second pass
    is read with the later offset, so every event keeps its place (before, that hour's events landed an hour
    early, amid the first pass's). Times across the start of summer time, and times with offsets, read as ever."""
    zone = ZoneInfo(tz)
    ends = {"Europe/Paris": "2026-10-25", "America/New_York": "2026-11-01", "Australia/Sydney": "2026-04-05"}
    t0 = datetime.fromisoformat(f"{ends[tz]}T00:00:00").replace(tzinfo=zone).timestamp()
    truth = [t0 + i * 420.0 for i in range(60)]  # every 7 min for 7 h, through the repeated hour
    starts = {"Europe/Paris": "2026-03-29", "America/New_York": "2026-03-08", "Australia/Sydney": "2026-10-04"}
    s0 = datetime.fromisoformat(f"{starts[tz]}T00:00:00").replace(tzinfo=zone).timestamp()
    spring = [s0 + i * 420.0 for i in range(60)]
    rows = [f"{datetime.fromtimestamp(t, zone).replace(tzinfo=None).isoformat()},m_kitchen,1" for t in spring + truth]
    rows.insert(65, f"{datetime.fromtimestamp(truth[5] - 1, zone).isoformat()},m_living,1")  # with an offset
    ev, s = tmp_path / "EVENTS.csv", tmp_path / "SENSORS.json"
    ev.write_text("ts,sensor,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    write_sensors_json(s, tz, sensors())
    read = read_events_csv(ev, sensors(), tz)
    assert [e.ts for e in read if e.sensor == "m_kitchen"] == sorted(spring + truth)
    assert [e.ts for e in read if e.sensor == "m_living"] == [truth[5] - 1]


def test_epoch_seconds_and_milliseconds_are_read_as_utc(tmp_path: Path) -> None:
    """Some recordings (and the hubs' wire format) give times as epoch numbers: seconds, or milliseconds."""
    t = at(0, 10)
    ev = tmp_path / "EVENTS.csv"
    ev.write_text(f"ts,sensor,value\n{t:.3f},m_kitchen,1\n{int(t * 1000) + 60000},m_living,1\n"
                  f"{datetime.fromtimestamp(t + 120, ZoneInfo(TZ)).replace(tzinfo=None).isoformat()},m_bath,1\n",
                  encoding="utf-8")
    read = read_events_csv(ev, sensors(), TZ)
    assert [(e.ts - t, e.sensor) for e in read] == [(0.0, "m_kitchen"), (60.0, "m_living"), (120.0, "m_bath")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time,sensor,value\n", "line 1: header must be 'ts,sensor,value'"),
        ("ts,sensor,value\n2024-03-04T10:00:00,m_kitchen,1\n2024-03-04T10:01:00,,1\n", "line 3: empty sensor id"),
        ("ts,sensor,value\nyesterday,m_kitchen,1\n", "line 2: bad timestamp"),
        ("ts,sensor,value\n12345678901234567,m_kitchen,1\n", "line 2: bad timestamp"),
        ("ts,sensor,value\n2024-03-04T10:00:00,m_kitchen,maybe\n", "line 2: value 'maybe' is not a number"),
        ("ts,sensor,value\n2024-03-04T10:00:00,m_kitchen\n", "line 2: expected 3 columns"),
    ],
)
def test_bad_events_give_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    ev, s = tmp_path / "EVENTS.csv", tmp_path / "SENSORS.json"
    ev.write_text(content, encoding="utf-8")
    write_sensors_json(s, TZ, sensors())
    res = runner.invoke(app, ["replay", "--events", str(ev), "--sensors", str(s), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "not valid JSON"),
        (b'{"sensors": {"a": {"kind": "motion", "room": "kitchen"}}}', 'missing "timezone"'),
        (b'{"timezone": "Mars/Base", "sensors": {"a": {"kind": "motion", "room": "kitchen"}}}', "unknown time zone"),
        (b'{"timezone": "UTC", "sensors": {"a": {"kind": "laser", "room": "kitchen"}}}', "unknown kind 'laser'"),
        (
            b'{"timezone": "UTC", "sensors": {"b": {"kind": "battery", "room": "hall", "of": "zz"}}}',
            "unknown sensor 'zz'",
        ),
    ],
)
def test_bad_sensors_give_clear_errors(tmp_path: Path, body: bytes, message: str) -> None:
    ev, s = tmp_path / "EVENTS.csv", tmp_path / "SENSORS.json"
    ev.write_text("ts,sensor,value\n", encoding="utf-8")
    s.write_bytes(body)
    res = runner.invoke(app, ["replay", "--events", str(ev), "--sensors", str(s), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and message in res.output, res.output


def test_import_dataset_then_replay(tmp_path: Path) -> None:
    res = runner.invoke(app, ["import-dataset", "ordonez_a", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    lines = (tmp_path / "EVENTS.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "ts,sensor,value" and len(lines) == 1 + 2 * 409
    res = runner.invoke(
        app,
        [
            "replay",
            "--events",
            str(tmp_path / "EVENTS.csv"),
            "--sensors",
            str(tmp_path / "SENSORS.json"),
            "--out",
            str(tmp_path / "A.jsonl"),
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output


def test_unknown_dataset_is_a_clear_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["import-dataset", "nope", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "unknown dataset 'nope'" in res.output


def test_room_names_it_does_not_know_are_read_as_the_room_they_mean(home_files: tuple[Path, Path]) -> None:
    """A home described with its own room names ("Living_Room", "wc", "dining room", "garage") replays exactly as
    with ours, and the replay says how it read them."""
    ev, s = home_files
    same = s.parent / "A.jsonl"
    assert runner.invoke(app, ["replay", "--events", str(ev), "--sensors", str(s), "--out", str(same),
                               "--no-progress"]).exit_code == 0
    spec = orjson.loads(s.read_bytes())
    theirs = {"living": "Living_Room", "bathroom": "bath room", "kitchen": "Kitchen-area", "bedroom": "master bedroom"}
    for sensor in spec["sensors"].values():
        sensor["room"] = theirs.get(sensor["room"], sensor["room"])
    spec["sensors"]["m_garage"] = {"kind": "motion", "room": "garage"}
    spec["sensors"]["m_garden"] = {"kind": "motion", "room": "garden"}  # not the "den"
    renamed = s.parent / "THEIRS.json"
    renamed.write_bytes(orjson.dumps(spec))
    out = s.parent / "B.jsonl"
    res = runner.invoke(app, ["replay", "--events", str(ev), "--sensors", str(renamed), "--out", str(out),
                              "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "room 'Living_Room' (sensor m_living, button) is not one of" in res.output
    assert "read as 'living'" in res.output
    assert "room 'garage' (sensor m_garage)" in res.output and "read as 'other'" in res.output
    assert "room 'garden' (sensor m_garden) is not one of ['bathroom', 'bedroom', 'entrance', 'hall', 'kitchen', " \
        "'living', 'other', 'toilet']: read as 'other'" in res.output
    assert out.read_bytes() == same.read_bytes() and out.read_bytes().count(b"\n") >= 1


def test_evaluate_a_folder_and_say_what_its_models_noticed(tmp_path: Path) -> None:
    """`seniorsafe evaluate FOLDER`: the table on stdout, the JSON written, and what the last model noticed (a sensor
    that fires with nobody home) said on stderr."""
    home = tmp_path / "cat_home"
    home.mkdir()
    write_events_csv(home / "EVENTS.csv", out_with_a_cat((9, 12, 15, 18)), TZ)
    write_sensors_json(home / "SENSORS.json", TZ, sensors())
    out = tmp_path / "evaluation.json"
    res = runner.invoke(app, ["evaluate", str(home), "--injections", "4", "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "| cat_home |" in res.output
    assert "note: cat_home: Only one sensor fired for 4 h or more between two front-door events" in res.output
    [report] = orjson.loads(out.read_bytes())["homes"]
    assert report["home"] == "cat_home" and any("m_kitchen" in note for note in report["notes"])
