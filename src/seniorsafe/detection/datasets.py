"""Loaders for the recorded homes in the shared data folder, into EVENTS.csv / SENSORS.json form.

Each interval row (sensor "on" from start to end) becomes an event value 1 at the start and 0 at
the end. Sensors are mapped to a kind and a room from their labels by the same keyword rules for
every dataset (no per-home tuning).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from .events import Event, SensorInfo, guess_room
from .formats import read_events_csv, read_sensors_json

REPO_ROOT = Path(__file__).resolve().parents[3]


def data_dir(explicit: str | Path | None = None) -> Path:
    """Explicit path, else $SENIORSAFE_DATA_DIR, else ../shared/data next to the repository."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("SENIORSAFE_DATA_DIR")
    if env:
        return Path(env)
    return (REPO_ROOT / ".." / "shared" / "data").resolve()


@dataclass
class Dataset:
    name: str
    tz: str
    sensors: dict[str, SensorInfo]
    events: list[Event]
    rows: int  # interval rows read from the source
    malformed: int = 0
    continuous: bool = True  # False: events exist only inside labelled activities
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- keyword mapping (shared by all)
def guess_kind(label: str, sensor_type: str = "") -> str:
    text = f"{label} {sensor_type}".lower()
    if "pir" in text or "motion" in text:
        return "motion"
    if "pressure" in text or " mat" in text:
        return "presence"
    if "flush" in text:
        return "flush"
    if "light" in text or "lamp" in text:
        return "light"
    if "electric" in text:
        return "power"
    furniture = ("cupboard", "cabinet", "dresser", "fridge", "oven", "drawer", "closet")
    if "door" in text and not any(w in text for w in furniture):
        return "door"
    return "contact"


def _sensor(sid: str, label: str, sensor_type: str = "", place: str = "") -> SensorInfo:
    kind = guess_kind(label, sensor_type)
    room = guess_room(place, label) if place else guess_room(label)
    if (kind == "door" and room == "entrance") or re.search(r"front ?door|main ?door", label.lower()):
        kind, room = "door", "entrance"
    if kind == "door" and room not in ("entrance", "bathroom", "toilet", "bedroom", "kitchen", "living", "hall"):
        room = "hall"
    return SensorInfo(sid, kind, room)


def _interval_events(
    rows: list[tuple[datetime, datetime, str]], sensors: dict[str, SensorInfo], tz: str
) -> list[Event]:
    zone = ZoneInfo(tz)
    out: list[Event] = []
    for start, end, sid in rows:
        on = 1000.0 if sensors[sid].kind == "power" else 1.0
        out.append(Event(start.replace(tzinfo=zone).timestamp(), sid, on))
        out.append(Event(end.replace(tzinfo=zone).timestamp(), sid, 0.0))
    out.sort(key=lambda e: e.ts)
    return out


# ---------------------------------------------------------------- Ordonez (UCI ADL)
def load_ordonez(house: str, root: Path) -> Dataset:
    path = root / "uci_adl_ordonez" / f"Ordonez{house}_Sensors.txt"
    lines = path.read_text(encoding="latin-1").splitlines()
    sensors: dict[str, SensorInfo] = {}
    rows: list[tuple[datetime, datetime, str]] = []
    malformed = 0
    for line in lines[2:]:
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 7:
            malformed += 1
            continue
        start = datetime.fromisoformat(f"{parts[0]} {parts[1]}")
        end = datetime.fromisoformat(f"{parts[2]} {parts[3]}")
        location, stype, place = parts[4], parts[5], parts[6]
        label = "PIR" if location == "Door" and stype == "PIR" else location
        sid = f"{label}_{place}".lower()
        if sid not in sensors:
            sensors[sid] = _sensor(sid, location if label != "PIR" else "motion", stype, place)
        rows.append((start, end, sid))
    tz = "Europe/Madrid"
    return Dataset(f"ordonez_{house.lower()}", tz, sensors, _interval_events(rows, sensors, tz), len(rows), malformed)


# ---------------------------------------------------------------- van Kasteren
_KAST_TIME = "%d-%b-%Y %H:%M:%S"


def _read_kasteren_rows(path: Path, skip_header_until: str) -> tuple[list[tuple[datetime, datetime, str]], int]:
    rows: list[tuple[datetime, datetime, str]] = []
    malformed = 0
    started = False
    for line in path.read_text(encoding="latin-1").splitlines():
        if not started:
            started = line.startswith(skip_header_until) and "\t" in line
            continue
        cols = [c.strip() for c in line.split("\t") if c.strip()]
        if not cols or cols[0].startswith("--") or cols[0].startswith("Length"):
            continue
        try:
            start = datetime.strptime(cols[0], _KAST_TIME)
            end = datetime.strptime(cols[1], _KAST_TIME)
            rows.append((start, end, cols[2]))
        except (ValueError, IndexError):
            malformed += 1
    return rows, malformed


def _read_labels(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="latin-1").replace("\r\n", "\n").replace("\r", "\n")
    labels: dict[str, str] = {}
    for line in text.split("\n")[1:]:
        if "\t" in line:
            sid, label = line.split("\t", 1)
            labels[sid.strip()] = label.strip().strip("'").strip()
    return labels


def load_kasteren2010(house: str, root: Path) -> Dataset:
    folder = root / "kasteren_2010_houses_ABC" / house
    rows, malformed = _read_kasteren_rows(folder / f"{house}_ss.csv", "Start time")
    labels = _read_labels(folder / f"{house}_sensor_labels.csv")
    return _kasteren_dataset(f"kasteren_{house.lower()}", rows, malformed, labels)


def load_kasteren2008(root: Path) -> Dataset:
    path = root / "kasteren_2008_houseA" / "kasterenSenseData.txt"
    text = path.read_text(encoding="latin-1")
    labels = {m.group(1): m.group(2).strip() for m in re.finditer(r"\[\s*(\d+)\]\s+'([^']*)'", text)}
    rows, malformed = _read_kasteren_rows(path, "Start time")
    return _kasteren_dataset("kasteren2008_a", rows, malformed, labels)


def _kasteren_dataset(
    name: str, rows: list[tuple[datetime, datetime, str]], malformed: int, labels: dict[str, str]
) -> Dataset:
    sensors: dict[str, SensorInfo] = {}
    renamed: list[tuple[datetime, datetime, str]] = []
    for start, end, num in rows:
        label = labels.get(num) or f"sensor {num}"
        sid = f"{num}_" + re.sub(r"[^a-z0-9]+", "_", label.lower().replace("dead sensor", "")).strip("_")
        sid = sid.rstrip("_")
        if sid not in sensors:
            sensors[sid] = _sensor(sid, label)
        renamed.append((start, end, sid))
    tz = "Europe/Amsterdam"
    return Dataset(name, tz, sensors, _interval_events(renamed, sensors, tz), len(rows), malformed)


# ---------------------------------------------------------------- MIT PlaceLab (Tapia)
def _hms(text: str) -> timedelta:
    h, m, s = (int(x) for x in text.split(":"))
    return timedelta(hours=h, minutes=m, seconds=s)


def load_tapia(subject: int, root: Path) -> Dataset:
    folder = root / "mit_placelab_tapia_2003" / f"subject{subject}"
    sensors: dict[str, SensorInfo] = {}
    for line in (folder / "sensors.csv").read_text(encoding="latin-1").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 3 and parts[0].isdigit():
            sid = f"{parts[0]}_" + re.sub(r"[^a-z0-9]+", "_", f"{parts[1]} {parts[2]}".lower()).strip("_")
            s = _sensor(sid, parts[2], "", parts[1])
            if s.kind == "door" and parts[1].lower() == "foyer":
                s = SensorInfo(sid, "door", "entrance")
            sensors[parts[0]] = s
    lines = (folder / "activities_data.csv").read_text(encoding="latin-1").splitlines()
    rows: list[tuple[datetime, datetime, str]] = []
    blocks = malformed = 0
    for i in range(0, len(lines) - 4, 5):
        head = lines[i].split(",")
        try:
            day = datetime.strptime(head[1].strip(), "%m/%d/%Y")
            ids = [x.strip() for x in lines[i + 1].split(",")]
            ons = [x.strip() for x in lines[i + 3].split(",")]
            offs = [x.strip() for x in lines[i + 4].split(",")]
            if not (len(ids) == len(ons) == len(offs)):
                raise ValueError("column count")
            block = []
            for sid, on, off in zip(ids, ons, offs, strict=True):
                start, end = day + _hms(on), day + _hms(off)
                if end < start:
                    end += timedelta(days=1)
                if sid not in sensors:
                    raise ValueError(f"unknown sensor {sid}")
                block.append((start, end, sid))
        except (ValueError, IndexError):
            malformed += 1
            continue
        blocks += 1
        rows.extend(block)
    by_id = {s.id: s for s in sensors.values()}
    rows = [(a, b, sensors[sid].id) for a, b, sid in rows]
    tz = "America/New_York"
    ds = Dataset(f"tapia_s{subject}", tz, by_id, _interval_events(rows, by_id, tz), len(rows), malformed)
    ds.continuous = False
    ds.notes.append(f"{blocks} labelled activities; events exist only inside them (not continuous)")
    return ds


LOADERS: dict[str, Callable[[Path], Dataset]] = {
    "ordonez_a": lambda r: load_ordonez("A", r),
    "ordonez_b": lambda r: load_ordonez("B", r),
    "kasteren_ka": lambda r: load_kasteren2010("KA", r),
    "kasteren_kb": lambda r: load_kasteren2010("KB", r),
    "kasteren_kc": lambda r: load_kasteren2010("KC", r),
    "kasteren2008_a": load_kasteren2008,
    "tapia_s1": lambda r: load_tapia(1, r),
    "tapia_s2": lambda r: load_tapia(2, r),
}
DATASET_NAMES: tuple[str, ...] = tuple(LOADERS)


def load_home_folder(folder: Path) -> Dataset:
    """A home in the replay format: FOLDER/EVENTS.csv + FOLDER/SENSORS.json (what ``import-dataset`` writes), so
    that any recorded home can be evaluated with the same protocol (raises formats.InputError on bad input)."""
    notes: list[str] = []
    tz, sensors = read_sensors_json(folder / "SENSORS.json", notes)
    events = read_events_csv(folder / "EVENTS.csv", sensors, tz, notes)
    return Dataset(folder.resolve().name, tz, sensors, events, rows=len(events), notes=notes)


def load_dataset(name: str, root: str | Path | None = None) -> Dataset:
    """A dataset home by name (``ordonez_a`` …), or a folder with EVENTS.csv and SENSORS.json."""
    folder = Path(name)
    if (folder / "EVENTS.csv").is_file() and (folder / "SENSORS.json").is_file():
        return load_home_folder(folder)
    key = name.lower().replace("-", "_")
    if key not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASET_NAMES)}, or a folder with "
                         "EVENTS.csv and SENSORS.json")
    base = data_dir(root)
    if not base.is_dir():
        raise FileNotFoundError(f"data folder {base} not found (set SENIORSAFE_DATA_DIR or --data-dir)")
    return LOADERS[key](base)
