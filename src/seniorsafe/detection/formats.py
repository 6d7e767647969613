"""EVENTS.csv / SENSORS.json / ALERTS.jsonl: reading with precise error messages, writing."""

from __future__ import annotations

import csv
import itertools
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from tqdm import tqdm

from .events import Event, SensorInfo, sensors_from_mapping


class InputError(ValueError):
    """Bad input file: says which file, which line and what is wrong."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.detail = message
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


def load_zone(name: str, path: str | Path = "<timezone>") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(path, f"unknown time zone {name!r} (use an IANA name such as 'Europe/Paris')") from exc


def read_sensors_json(path: str | Path, notes: list[str] | None = None) -> tuple[str, dict[str, SensorInfo]]:
    """SENSORS.json -> (timezone name, sensors by id). A room name that is not one of ROOMS is read as the room it
    most likely means, with a line in ``notes`` (without ``notes`` it is an error)."""
    p = Path(path)
    try:
        raw = orjson.loads(p.read_bytes())
    except FileNotFoundError as exc:
        raise InputError(p, "file not found") from exc
    except orjson.JSONDecodeError as exc:
        raise InputError(p, f"not valid JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise InputError(p, 'expected an object {"timezone": ..., "sensors": {...}}')
    tz = raw.get("timezone")
    if not isinstance(tz, str) or not tz:
        raise InputError(p, 'missing "timezone" (an IANA name such as "Europe/Paris")')
    load_zone(tz, p)
    sensors = raw.get("sensors")
    if not isinstance(sensors, dict) or not sensors:
        raise InputError(p, 'missing or empty "sensors" object')
    try:
        return tz, sensors_from_mapping(sensors, notes)
    except ValueError as exc:
        raise InputError(p, str(exc)) from exc


def write_sensors_json(path: str | Path, tz: str, sensors: dict[str, SensorInfo]) -> None:
    body: dict[str, Any] = {"timezone": tz, "sensors": {}}
    for s in sensors.values():
        spec: dict[str, Any] = {"kind": s.kind, "room": s.room}
        if s.of is not None:
            spec["of"] = s.of
        body["sensors"][s.id] = spec
    Path(path).write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n")


#: an epoch number this large or larger is in milliseconds (1e11 s would be the year 5138)
EPOCH_MS_FROM = 1e11
#: epoch seconds read as such (1990-2100); other long numbers are not taken for times
EPOCH_RANGE = (631152000.0, 4102444800.0)
#: a local time this much earlier than the one before it, in the hour the clocks go back, starts its second pass
STEP_BACK = timedelta(minutes=1)


class LocalTimes:
    """The timestamps of one file, read in order, as epoch seconds.

    A number of 9 digits or more (before any decimals) is epoch seconds or, from 12 digits on, milliseconds (UTC,
    as the hubs may send them), when it falls in 1990-2100. A time without an offset is local time in ``zone``.
    In the hour that the end of summer time repeats (01:00-02:00 twice, or 02:00-03:00), a time that steps back
    by more than a minute starts the second pass: it and the repeated times after it take the later offset
    (Python's ``fold=1``). Without this every event of that second hour would be placed an hour early, amid the
    first pass's (a year-long recording written in local time has one such hour)."""

    __slots__ = ("_previous", "_second_pass", "zone")

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._previous: datetime | None = None
        self._second_pass = False

    def epoch(self, text: str) -> float:
        text = text.strip()
        if text.replace(".", "", 1).isdigit() and len(text.partition(".")[0]) >= 9:
            number = float(text)
            seconds = number / 1000.0 if number >= EPOCH_MS_FROM else number
            if EPOCH_RANGE[0] <= seconds <= EPOCH_RANGE[1]:
                return seconds
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is not None:
            return dt.timestamp()
        local = dt.replace(tzinfo=self.zone)
        previous, self._previous = self._previous, dt
        if self._second_pass or (previous is not None and previous - dt > STEP_BACK):
            self._second_pass = _repeated(local)
            if self._second_pass:
                local = local.replace(fold=1)
        return local.timestamp()


def _repeated(local: datetime) -> bool:
    """Whether this local time happens twice (its first offset is the larger: the clocks went back)."""
    first, second = local.utcoffset(), local.replace(fold=1).utcoffset()
    return first is not None and second is not None and first > second


#: state words some recordings write instead of 1/0 (CASAS: ON/OFF, OPEN/CLOSE; Zigbee: true/false)
VALUE_WORDS: dict[str, float] = {
    **dict.fromkeys(("on", "open", "true", "active", "occupied", "present", "pressed"), 1.0),
    **dict.fromkeys(("off", "close", "closed", "false", "inactive", "unoccupied", "absent", "released"), 0.0),
}


def _counted(lines: Iterable[str], bar: tqdm) -> Iterator[str]:
    """The lines of a text file, moving ``bar`` by their length (a year of a densely sensed home is ~70 MB)."""
    done = 0
    for i, line in enumerate(lines):
        done += len(line)
        if i % 65536 == 0:
            bar.update(done - bar.n)
        yield line
    bar.update(done - bar.n)


def read_events_csv(
    path: str | Path, sensors: dict[str, SensorInfo], tz: str, notes: list[str] | None = None, progress: bool = False
) -> list[Event]:
    """EVENTS.csv -> events sorted by time (stable). Rows of sensors that SENSORS.json does not list are skipped,
    like the ingest's dead letters, and counted in ``notes`` (a typo in a sensor id must not go unnoticed)."""
    p = Path(path)
    times = LocalTimes(load_zone(tz, p))
    events: list[Event] = []
    unlisted: Counter[str] = Counter()
    try:
        fh = p.open(newline="", encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(p, "file not found") from exc
    bar = tqdm(total=p.stat().st_size, unit="B", unit_scale=True, desc="reading", disable=not progress, leave=False)
    with fh, bar:
        reader = csv.reader(_counted(fh, bar))
        try:
            header = next(reader, None)
            if header is None:
                raise InputError(p, "empty file (expected the header 'ts,sensor,value')", 1)
            names = [h.strip().lstrip("\ufeff") for h in header]
            if names != ["ts", "sensor", "value"]:
                raise InputError(p, f"header must be 'ts,sensor,value', found {','.join(names)!r}", 1)
            for row in reader:
                line = reader.line_num
                if not row or all(not c.strip() for c in row):
                    continue
                ev = _parse_row(p, line, row, times)
                if ev.sensor in sensors:
                    events.append(ev)
                else:
                    unlisted[ev.sensor] += 1
        except UnicodeDecodeError as exc:
            raise InputError(p, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        except csv.Error as exc:
            raise InputError(p, f"malformed CSV ({exc})", reader.line_num) from exc
    events.sort(key=lambda e: e.ts)
    events = close_each_opening(events, sensors, notes)
    if unlisted and notes is not None:
        which = _listed([f"{sid} ({n})" for sid, n in unlisted.most_common()])
        notes.append(f"skipped {unlisted.total()} events of sensors not in the sensors file: {which}")
    return events


def _parse_row(p: Path, line: int, row: list[str], times: LocalTimes) -> Event:
    if len(row) != 3:
        raise InputError(p, f"expected 3 columns (ts,sensor,value), found {len(row)}", line)
    ts_text, sensor, value_text = (c.strip() for c in row)
    try:
        ts = times.epoch(ts_text)
    except ValueError as exc:
        expected = "expected ISO 8601, e.g. 2024-03-01T07:15:00, or epoch seconds"
        raise InputError(p, f"bad timestamp {ts_text!r} ({expected})", line) from exc
    if not sensor:
        raise InputError(p, "empty sensor id", line)
    try:
        value = float(value_text)
    except ValueError:
        word = VALUE_WORDS.get(value_text.lower())
        if word is None:
            expected = "nor on/off, open/closed, true/false"
            raise InputError(p, f"value {value_text!r} is not a number ({expected})", line) from None
        value = word
    if not math.isfinite(value):
        raise InputError(p, f"value {value_text!r} is not a finite number", line)
    return Event(ts, sensor, value)


#: kinds that report a state as 1/0 (open/closed, on/off, occupied/free): one that never reports 0 logs its uses only
OPENING_KINDS: frozenset[str] = frozenset({"door", "contact", "light", "presence"})
#: when a sensor that logs openings only is taken to close again
CLOSED_AFTER_S = 1.0
#: a sensor that never reports 0 and repeats "on" this many times or more, with this share of its gaps within 20 %
#: of their median, is a device left open checking in (its repeats are not someone acting)
STEADY_MIN_REPORTS = 6
STEADY_SHARE = 0.6
#: devices check in every few minutes to a few hours (Zigbee: about hourly)
CHECK_IN_MAX_S = 6 * 3600.0


def close_each_opening(
    events: list[Event], sensors: dict[str, SensorInfo], notes: list[str] | None = None
) -> list[Event]:
    """Some recordings log a door, cupboard, light switch or mat only when it is used (value 1, never 0). The
    detector takes a state reported again as a device checking in, not as someone acting, so each such "on" is
    followed by an "off" CLOSED_AFTER_S later: every opening counts (and a mat's press is a pulse, not someone
    lying on it for the rest of the recording). Decided on the whole recording (a single 0 makes the
    sensor one that reports states); live devices report both states (docs/protocols.md). A sensor whose "on"s
    come at a steady pace is not one of these: it is a device left open, checking in (see :func:`_steady`)."""
    on_times: dict[str, list[float]] = {}
    offs: set[str] = set()
    for ev in events:
        if ev.value >= 0.5:
            on_times.setdefault(ev.sensor, []).append(ev.ts)
        else:
            offs.add(ev.sensor)
    never_off = sorted(sid for sid in on_times.keys() - offs if sensors[sid].kind in OPENING_KINDS)
    left_open = [sid for sid in never_off if _steady(on_times[sid])]
    openers = [sid for sid in never_off if sid not in left_open]
    if notes is not None and left_open:
        notes.append(f"{_listed(left_open)} never report 0 and repeat 1 at a steady pace: read as devices left open "
                     "checking in, not as someone acting")
    if not openers:
        return events
    logs_uses = set(openers)
    closes = [Event(ev.ts + CLOSED_AFTER_S, ev.sensor, 0.0) for ev in events if ev.sensor in logs_uses]
    if notes is not None:
        notes.append(f"{len(openers)} sensors report openings only (never 0): each read as closed again "
                     f"{CLOSED_AFTER_S:g} s later: {_listed(openers)}")
    return sorted([*events, *closes], key=lambda e: e.ts)


def _listed(items: list[str]) -> str:
    """The first ten, and how many more."""
    return ", ".join(items[:10]) + (f" and {len(items) - 10} more" if len(items) > 10 else "")


def _steady(times: list[float]) -> bool:
    """Whether a sensor's "on"s come at a steady pace of at most a few hours (most gaps within 20 % of their
    median): a Zigbee device left open re-sends "open" with each check-in; a person opening a cupboard does not
    keep time, and a person's daily habits keep a 24 h one."""
    if len(times) < STEADY_MIN_REPORTS:
        return False
    gaps = [b - a for a, b in itertools.pairwise(times)]
    typical = statistics.median(gaps)
    if not 0 < typical <= CHECK_IN_MAX_S:  # a daily habit (the bed at night, a cabinet each morning) keeps time too
        return False
    return sum(abs(g - typical) <= 0.2 * typical for g in gaps) >= STEADY_SHARE * len(gaps)


def write_events_csv(path: str | Path, events: Iterable[Event], tz: str) -> int:
    zone = ZoneInfo(tz)
    n = 0
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["ts", "sensor", "value"])
        for ev in events:
            ts = datetime.fromtimestamp(ev.ts, zone).isoformat()
            v = int(ev.value) if float(ev.value).is_integer() else ev.value
            w.writerow([ts, ev.sensor, v])
            n += 1
    return n
