"""The personal model: one per resident, learned only from that resident's own history.

Inactivity model
    For every "context" (the last thing the resident did: which sensor, in which state, at which
    hour of the day, on a weekday or at the weekend) the model keeps a histogram of how long the
    home then stayed still before the next action. From it the detector derives, per context, how
    long a stillness may last before it is far beyond this person's own normal.
    Cold start: each level is shrunk towards its parent (sensor context -> room -> population
    prior) with pseudo-counts, so population priors rule on day one and personal data takes over
    as days accumulate. Gaps after the exterior door (the resident went out) are not stillness and
    are learned as time out of home instead.

Routine model
    Per day: wake-up and bedtime (the long quiet stretch at night), kitchen activity, bathroom
    visits (count, at night, duration), time out of home; per hour of the week: how often the
    resident is active when at home. Used for the "missing evening" and "not up yet" cautions and
    for the human summary.
"""

from __future__ import annotations

import bisect
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import orjson
from scipy.special import erfc

from .activity import REST_SUFFIX, Activity, ActivityTracker, LocalClock, key_sensor, room_key
from .events import ROOM_PHRASES, WET_ROOMS, Event, SensorInfo, format_duration
from .thresholds import Thresholds

MODEL_FORMAT = "seniorsafe.personal-model"
MODEL_VERSION = 1

#: histogram bin edges for stillness durations (seconds): 30 s .. 96 h, log spaced
EDGES: np.ndarray = np.geomspace(30.0, 96 * 3600.0, 81)
N_BINS = len(EDGES) - 1
#: stillness shorter than this is not a pause (sensor chatter, on/off pairs) and is not learned
MIN_GAP_S = 60.0
#: a gap after the exterior door longer than this is time out of home
AWAY_MIN_S = 15 * 60.0
#: a silence at home longer than this is not normal life (a hub outage, a recording gap, or an
#: emergency the hard rules report): it is not learned as a pause
MAX_PAUSE_S = 24 * 3600.0
#: pseudo-counts (in pauses) of each shrinkage level: room <- prior, key <- room, key+daytype <- key
K_ROOM, K_KEY, K_DAYTYPE = 15.0, 6.0, 6.0
#: hazard split: a pause is "long" beyond this edge (~15 min). Whether a context reaches it is learned per
#: context; how long a long pause then lasts is learned from all contexts of the same class (active,
#: resting, bedroom) of the home, with K_TAIL long pauses of the context's own as pseudo-count
TAIL_EDGE = int(np.searchsorted(EDGES, 15 * 60.0))
K_TAIL = 6.0
TAIL_POOLING = True
#: pause rate of a resident without history (pauses a day) and its weight (days of pseudo-data)
PRIOR_PAUSES_PER_DAY = 40.0
PRIOR_RATE_DAYS = 3.0
#: per-pause chances are kept inside these bounds
P_MIN, P_MAX = 1e-6, 0.5
#: smoothing of the hour-of-day dimension (hours)
HOUR_SIGMA = 1.5
#: the routine model describes this many recent days
ROUTINE_WINDOW_DAYS = 56
#: the history a model learns its stillness limits from: the trainer reads this many days each night, and replay's
#: incremental fitter forgets what is older, so that a long recording is replayed with the models production had
HISTORY_DAYS = 90
#: wet-room events closer than this belong to one bathroom visit
VISIT_GAP_S = 600.0
#: a day with less time out of home than this counts for the meal routine
HOME_DAY_MAX_OUT_H = 6.0
#: the routine keeps this many recent whole days, day by day, for the dashboard's trends
DAILY_DAYS = 28
#: staff feedback on routine changes (FR-13): at most this much wider per check
ROUTINE_CHANGE = "routine_change"
#: feedback label of a stillness staff resolved as a real emergency (help sent, hospital): that silence is not this
#: resident's normal, and a model that learned it would wait longer before the next fall
EMERGENCY = "emergency"
MEAL_FEEDBACK_MAX_H = 4.0
NIGHT_FEEDBACK_MAX = 3
EPOCH_DAY = date(1970, 1, 1)
#: days of pseudo-data behind the routine priors
ROUTINE_PRIOR_DAYS = 3.0
#: a silence at home at least this long that the exterior door ends: the resident came in without having been
#: seen leaving (an exit without a sensor, a door sensor that misses openings) — such absences look like stillness
UNSEEN_EXIT_MIN_S = 2 * 3600.0
#: from this many unseen exits in the routine window on, evidence and summary say the resident may be out
UNSEEN_EXITS_NOTE = 2
#: a sensor that was the only one to fire for this long between two exterior-door actions, at least
#: FIRES_ALONE_TIMES times in the routine window, probably fires with nobody home (a pet, a heater or sunlight in
#: a motion sensor's view, an appliance that cycles): said in the model summary (an installation matter)
FIRES_ALONE_MIN_S = 4 * 3600.0
FIRES_ALONE_TIMES = 2
#: the day ceiling's note: said when the model's data held at least one stillness longer than the ceiling in
#: this many days (a week), and only from this many days of data on
DAY_CEILING_NOTE_DAYS = 7

# population priors of stillness (lognormal: median seconds, sigma) by context class, day / night
_PRIOR_DAY = {"active": (5 * 60.0, 1.3), "resting": (45 * 60.0, 1.0), "bedroom": (10 * 60.0, 1.5)}
_PRIOR_NIGHT = {"active": (60 * 60.0, 1.4), "resting": (180 * 60.0, 0.9), "bedroom": (180 * 60.0, 0.9)}
CLASSES = ("active", "resting", "bedroom")


def _night_weight(hour: int) -> float:
    """1 in the night (22:00-07:00), 0 by day, with one-hour ramps."""
    if hour >= 23 or hour < 6:
        return 1.0
    if hour in (22, 6):
        return 0.5
    return 0.0


def _lognormal_survival(median: float, sigma: float) -> np.ndarray:
    z = (np.log(EDGES[:-1]) - math.log(median)) / (sigma * math.sqrt(2.0))
    return np.asarray(0.5 * erfc(z))


def prior_survival_table() -> np.ndarray:
    """(class, hour, edge) survival of the population prior."""
    out = np.zeros((len(CLASSES), 24, N_BINS))
    for ci, cls in enumerate(CLASSES):
        day = _lognormal_survival(*_PRIOR_DAY[cls])
        night = _lognormal_survival(*_PRIOR_NIGHT[cls])
        for h in range(24):
            w = _night_weight(h)
            out[ci, h] = (1 - w) * day + w * night
    return out


_PRIOR_S = prior_survival_table()


def _hour_kernel() -> np.ndarray:
    d = np.abs(np.arange(24)[:, None] - np.arange(24)[None, :])
    d = np.minimum(d, 24 - d)
    return np.asarray(np.exp(-0.5 * (d / HOUR_SIGMA) ** 2))


_KERNEL = _hour_kernel()


def _prior_p_active() -> np.ndarray:
    p = np.full(24, 0.15)
    p[8:21] = 0.8
    p[[7, 21]] = 0.6
    return p


@dataclass(slots=True)
class ThresholdTables:
    """Per-context stillness limits (seconds) for one model at one sensitivity: cached by the detector."""

    key_index: dict[str, int]
    room_index: dict[str, int]
    caution: np.ndarray  # (n_keys + n_rooms, 24, 2)
    danger: np.ndarray
    usual: np.ndarray  # longest stillness seen in that context (0 = none seen)
    support: np.ndarray  # pauses behind that context

    def lookup(self, key: str, rkey: str) -> int:
        """Row of a context: its own, else its room's, else the generic one."""
        i = self.key_index.get(key)
        if i is None:
            i = self.room_index.get(rkey)
            if i is None:
                i = self.room_index["@other"]
        return i


@dataclass
class PersonalModel:
    """A resident's learned normal. Build with :meth:`fit`; store with :meth:`to_bytes`."""

    tz: str
    keys: list[str]
    key_room: list[str]  # room-level parent key of each key (e.g. "@kitchen", "@bedroom+rest")
    counts: np.ndarray  # (n_keys, 24, 2, N_BINS) pauses by context
    p_active: np.ndarray  # (24, 2) chance the resident is active in an hour at home
    routine: dict[str, Any]
    metrics: dict[str, Any]
    feedback_factor: np.ndarray = field(default_factory=lambda: np.ones((0, 24, 2)))  # (n_keys, 24, 2)
    young_days: int = 14

    # ------------------------------------------------------------------ building
    @classmethod
    def fit(
        cls,
        events: Iterable[Event],
        sensors: dict[str, SensorInfo],
        tz: str,
        feedback: Sequence[tuple[float, str]] = (),
    ) -> PersonalModel:
        """Learn from this resident's own history (any order); ``feedback`` = (time, kind) false alarms."""
        fitter = ModelFitter(sensors, tz)
        fitter.add(sorted(events, key=lambda e: e.ts))
        return fitter.model(feedback)

    @classmethod
    def prior(cls, tz: str = "UTC") -> PersonalModel:
        """The population prior alone (a resident without any history)."""
        return ModelFitter({}, tz).model()

    # ------------------------------------------------------------------ properties
    @property
    def days(self) -> int:
        return int(self.metrics.get("days", 0))

    @property
    def is_young(self) -> bool:
        return self.days < self.young_days

    def validate(self) -> None:
        """Raise ValueError when the model holds nonsense (NaN, negative, wrong shapes)."""
        n = len(self.keys)
        if self.counts.shape != (n, 24, 2, N_BINS):
            raise ValueError(f"counts shape {self.counts.shape} does not match {n} keys")
        if len(self.key_room) != n:
            raise ValueError("key_room length does not match keys")
        if not np.all(np.isfinite(self.counts)) or np.any(self.counts < 0):
            raise ValueError("counts contain NaN, infinite or negative values")
        if self.p_active.shape != (24, 2) or not np.all((self.p_active >= 0) & (self.p_active <= 1)):
            raise ValueError("p_active must be (24, 2) probabilities")
        if self.feedback_factor.shape != (n, 24, 2) or not np.all(self.feedback_factor >= 1.0):
            raise ValueError("feedback_factor must be (n_keys, 24, 2) values >= 1")

    # ------------------------------------------------------------------ thresholds
    def pause_rate(self) -> float:
        """Pauses a day that could end in a danger alert (>= 1 min, at home, not on a bed/chair): the resident's
        own, shrunk towards the population's with PRIOR_RATE_DAYS days of pseudo-data."""
        moving = [i for i, r in enumerate(self.key_room) if not r.endswith(REST_SUFFIX)]
        n = float(self.counts[moving].sum()) if moving else 0.0
        return (n + PRIOR_PAUSES_PER_DAY * PRIOR_RATE_DAYS) / (self.days + PRIOR_RATE_DAYS)

    def sensitivity(self, per_day: float) -> float:
        """The chance per pause that, at this resident's pause rate, gives ``per_day`` false alarms a day."""
        return min(P_MAX, max(P_MIN, per_day / self.pause_rate()))

    def tables(self, caution_per_day: float, danger_per_day: float) -> ThresholdTables:
        """Stillness limits per context for these false-alarm budgets (per day; vectorised, a few ms).

        Each context's limit is where its survival curve falls to the same per-pause chance
        ``budget / pauses a day``: the expected false alarms a day are then about the budget whatever the
        resident's pace of life (a busy home has many more pauses a day than a quiet one)."""
        self.validate()
        caution_p, danger_p = self.sensitivity(caution_per_day), self.sensitivity(danger_per_day)
        rooms = sorted(set(self.key_room) | {room_key(r, False) for r in _ALL_ROOMS} | {"@other"})
        room_index = {r: i for i, r in enumerate(rooms)}
        n_keys = len(self.keys)
        counts = self.counts.astype(np.float64)
        smooth = np.einsum("hg,kgdb->khdb", _KERNEL, counts) if n_keys else counts
        pooled = smooth.sum(axis=2)  # (K, 24, B)
        room_counts = np.zeros((len(rooms), 24, N_BINS))
        for k, r in enumerate(self.key_room):
            room_counts[room_index[r]] += pooled[k]
        mat_rooms = set(self.metrics.get("mat_rooms") or ())
        room_class = np.array([_class_of_room_key(r, mat_rooms) for r in rooms], dtype=np.int64)
        s_room = _blend(room_counts, K_ROOM, _PRIOR_S[room_class])  # (R, 24, B)
        key_parent = np.array([room_index[r] for r in self.key_room], dtype=np.int64)
        s_key = _blend(pooled, K_KEY, s_room[key_parent]) if n_keys else np.zeros((0, 24, N_BINS))
        s_kd = _blend(smooth, K_DAYTYPE, s_key[:, :, None, :]) if n_keys else np.zeros((0, 24, 2, N_BINS))
        if n_keys and TAIL_POOLING:
            s_kd = _pooled_tail(s_kd, pooled, room_counts, room_class, key_parent)
        s_all = np.concatenate([s_kd, np.repeat(s_room[:, :, None, :], 2, axis=2)], axis=0)
        factor = np.concatenate([self.feedback_factor, np.ones((len(rooms), 24, 2))], axis=0)
        caution = _limit(s_all, caution_p) * factor
        danger = np.maximum(_limit(s_all, danger_p) * factor, caution)
        seen = np.concatenate([smooth, np.zeros((len(rooms), 24, 2, N_BINS))], axis=0)
        support = seen.sum(axis=3)
        usual = _longest_seen(seen)
        return ThresholdTables(
            key_index={k: i for i, k in enumerate(self.keys)},
            room_index={r: n_keys + i for i, r in enumerate(rooms)},
            caution=caution,
            danger=danger,
            usual=usual,
            support=support,
        )

    def silence_p(self, hours: Sequence[tuple[int, int]]) -> float:
        """Chance of no activity at all during these full (hour, weekend) slots at home."""
        logp = 0.0
        for h, wk in hours:
            logp += math.log(max(1e-9, 1.0 - float(self.p_active[h, wk])))
        return math.exp(logp)

    # ------------------------------------------------------------------ serialisation
    def to_bytes(self) -> bytes:
        """Versioned compact artifact (npz with a JSON header)."""
        header = {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "tz": self.tz,
            "keys": self.keys,
            "key_room": self.key_room,
            "routine": self.routine,
            "metrics": self.metrics,
            "young_days": self.young_days,
        }
        nz = np.nonzero(self.counts)
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            header=np.frombuffer(orjson.dumps(header, option=orjson.OPT_SERIALIZE_NUMPY), dtype=np.uint8),
            nz_index=np.stack(nz).astype(np.uint16) if nz[0].size else np.zeros((4, 0), np.uint16),
            nz_value=self.counts[nz].astype(np.float32),
            p_active=self.p_active.astype(np.float32),
            feedback_factor=self.feedback_factor.astype(np.float32),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> PersonalModel:
        """Load an artifact; ValueError if it is not a model of a version this code reads."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                header = orjson.loads(z["header"].tobytes())
                nz_index, nz_value = z["nz_index"], z["nz_value"]
                p_active, feedback = z["p_active"], z["feedback_factor"]
        except Exception as exc:  # zip/npz/json errors of a corrupted artifact
            raise ValueError(f"not a personal model artifact: {exc}") from exc
        if header.get("format") != MODEL_FORMAT:
            raise ValueError("not a personal model artifact")
        if header.get("version") != MODEL_VERSION:
            raise ValueError(f"unsupported model version {header.get('version')!r} (this code reads 1)")
        keys = list(header["keys"])
        counts = np.zeros((len(keys), 24, 2, N_BINS), dtype=np.float32)
        if nz_value.size:
            counts[tuple(nz_index.astype(np.int64))] = nz_value
        model = cls(
            tz=header["tz"],
            keys=keys,
            key_room=list(header["key_room"]),
            counts=counts,
            p_active=p_active.astype(np.float64),
            routine=header["routine"],
            metrics=header["metrics"],
            feedback_factor=feedback.astype(np.float64),
            young_days=int(header.get("young_days", 14)),
        )
        model.validate()
        return model

    # ------------------------------------------------------------------ for humans
    def unseen_exits_note(self) -> str | None:
        """'came in through the front door 9 times in the last 27 days without having been seen leaving', when the
        resident often goes out unseen (None otherwise)."""
        n = int(self.routine.get("unseen_exits") or 0)
        if n < UNSEEN_EXITS_NOTE:
            return None
        return (
            f"came in through the front door {n} times in the last {self.routine.get('window_days')} days without "
            f"having been seen leaving (after {format_duration(UNSEEN_EXIT_MIN_S)} or more of silence)"
        )

    def fires_alone_note(self) -> str | None:
        """What the model noticed of sensors firing with nobody home (None when nothing)."""
        alone: dict[str, list[float]] = self.routine.get("fires_alone") or {}
        if not alone:
            return None
        parts = [f"{sid} {int(n)} times ({h:g} h)" for sid, (n, h) in sorted(alone.items(), key=lambda kv: -kv[1][1])]
        return (
            f"Only one sensor fired for {format_duration(FIRES_ALONE_MIN_S)} or more between two front-door events "
            f"(in the last {self.routine.get('window_days')} days): {', '.join(parts)}. Was anyone home? A pet, a "
            "heater or sunlight in a motion sensor's view, or an appliance that cycles, looks like the resident "
            "moving and can hide a fall: check that sensor."
        )

    def day_ceiling_note(self, thresholds: Thresholds) -> str | None:
        """What the day ceiling would page on the resident's own habits: their daytime stillnesses away from a
        bed/chair longer than the ceiling, when the model's data held about one a week or more (None otherwise)."""
        ceiling = thresholds.day_stillness_limit_min * 60.0
        hours = [h for h in range(24) if thresholds.day_ceiling_s(h + 0.5) is not None]
        moving = [i for i, r in enumerate(self.key_room) if not r.endswith(REST_SUFFIX)]
        if not hours or not moving or self.days < DAY_CEILING_NOTE_DAYS:
            return None
        longer = self.counts[np.ix_(moving, hours)][..., EDGES[:-1] >= ceiling].sum(axis=(1, 2, 3))
        n = float(longer.sum())
        if n * DAY_CEILING_NOTE_DAYS < self.days:  # fewer than one a week
            return None
        room = self.key_room[moving[int(np.argmax(longer))]].removeprefix("@")
        day = f"{clock_text(thresholds.day_start_hour)}-{clock_text(thresholds.day_end_hour)}"
        return (
            f"Still for more than {format_duration(ceiling)} during the day ({day}), away from a bed or chair, "
            f"{n:.0f} times in the last {self.days} days, mostly after activity in {ROOM_PHRASES.get(room, room)}: "
            "the day ceiling pages danger each time. If that is how the resident lives (a nap in an armchair, hours "
            "on a sofa without a sensor), a chair or sofa sensor there, or a longer day ceiling for this resident, "
            "avoids those alarms."
        )

    def summary(self, thresholds: Thresholds | None = None) -> str:
        """What the model learned, in words for staff (with ``thresholds``: what the day ceiling will do)."""
        r, m = self.routine, self.metrics
        lines = [f"Personal model: {m.get('days', 0)} days of data, {m.get('pauses', 0)} pauses learned."]
        if self.is_young:
            lines.append(f"Still learning (fewer than {self.young_days} days): typical values fill the gaps.")
        if r.get("wake_median") is not None:
            lines.append(
                f"Usually up at {clock_text(r['wake_median'])} (latest {clock_text(r['wake_p90'])}), "
                f"in bed at {clock_text(r['bed_median'])}."
            )
        if r.get("bathroom_visits_median") is not None:
            lines.append(
                f"Bathroom: about {r['bathroom_visits_median']:.0f} visits a day, "
                f"{r['night_bathroom_median']:.0f} at night, usually {r['bathroom_minutes_median']:.0f} min."
            )
        if r.get("kitchen_hours_median") is not None:
            lines.append(f"Kitchen active in about {r['kitchen_hours_median']:.0f} hours of the day.")
        if r.get("out_hours_median") is not None:
            lines.append(f"Out of home about {r['out_hours_median']:.1f} h a day.")
        note = self.unseen_exits_note()
        if note:
            lines.append(
                f"{note[0].upper()}{note[1:]}: is there a way out without a sensor, or a door sensor that misses "
                "openings? Such absences look like stillness and can raise false alarms."
            )
        alone = self.fires_alone_note()
        if alone:
            lines.append(alone)
        ceiling = self.day_ceiling_note(thresholds) if thresholds is not None else None
        if ceiling:
            lines.append(ceiling)
        if m.get("feedback_used"):
            lines.append(f"{m['feedback_used']} false alarm(s) marked by staff made the model less eager.")
        if m.get("emergencies_unlearned"):
            lines.append(f"{m['emergencies_unlearned']} real emergency(ies) not learned as normal for this person.")
        return "\n".join(lines)


_ALL_ROOMS = ("bedroom", "living", "kitchen", "bathroom", "toilet", "entrance", "hall", "other")


def _class_of_room_key(rkey: str, mat_rooms: set[str] | frozenset[str] = frozenset()) -> int:
    """Prior and long-pause pool of a room key; a bedroom whose bed has a sensor (naps show on it) is active."""
    if rkey.endswith(REST_SUFFIX):
        return CLASSES.index("resting")
    if rkey.startswith("@bedroom") and "bedroom" not in mat_rooms:
        return CLASSES.index("bedroom")
    return CLASSES.index("active")


def _blend(counts: np.ndarray, k: float, parent_s: np.ndarray) -> np.ndarray:
    """Survival at each edge: personal tail counts shrunk towards the parent curve with k pseudo-counts."""
    tail = _rtail(counts)
    n = tail[..., :1]
    return np.asarray((tail + k * parent_s) / (n + k))


def _rtail(counts: np.ndarray) -> np.ndarray:
    """Pauses at least as long as each edge (reverse cumulative sum over the last axis)."""
    return np.flip(np.cumsum(np.flip(counts, axis=-1), axis=-1), axis=-1)


def _pooled_tail(
    s_kd: np.ndarray,
    pooled: np.ndarray,
    room_counts: np.ndarray,
    room_class: np.ndarray,
    key_parent: np.ndarray,
) -> np.ndarray:
    """Hazard split of each context's survival at TAIL_EDGE.

    S(t) = S(TAIL_EDGE) x S(t | long), where S(TAIL_EDGE) — how often this context is followed by a
    long pause at all — is the context's own (shrunk) estimate, and S(t | long) pools the long
    pauses of the home: context (K_TAIL pseudo-pauses) <- every context of the same class (active,
    resting, bedroom; K_ROOM pseudo-pauses) <- the population prior. Pooling per room in between gave
    the same trade-off on the recorded homes and was dropped. A context whose pauses are almost
    always short ("fridge closed") then gets its limit from many long pauses, not from the single
    longest one it happened to see.
    """
    e = TAIL_EDGE
    prior = _PRIOR_S
    prior_cond = prior / np.maximum(prior[..., e : e + 1], 1e-12)
    class_counts = np.zeros((len(CLASSES), 24, N_BINS))
    np.add.at(class_counts, room_class, room_counts)
    cond_c = _blend_cond(class_counts, K_ROOM, prior_cond)  # (C, 24, B)
    cond = _blend_cond(pooled, K_TAIL, cond_c[room_class[key_parent]])  # (K, 24, B)
    out = s_kd.copy()
    out[..., e:] = s_kd[..., e : e + 1] * np.minimum(cond[:, :, None, e:], 1.0)
    return out


def _blend_cond(counts: np.ndarray, k: float, parent_cond: np.ndarray) -> np.ndarray:
    """Survival given a long pause (>= TAIL_EDGE): own long pauses shrunk towards the parent's."""
    e = TAIL_EDGE
    tail = _rtail(counts)
    return np.asarray((tail + k * parent_cond) / (tail[..., e : e + 1] + k))


def _limit(surv: np.ndarray, p: float) -> np.ndarray:
    """Smallest edge where survival <= p (the upper end of the grid when never)."""
    below = surv <= p
    idx = np.where(below.any(axis=-1), below.argmax(axis=-1), N_BINS - 1)
    return np.asarray(EDGES[idx])


def _longest_seen(counts: np.ndarray) -> np.ndarray:
    present = counts > 0.3
    last = N_BINS - 1 - np.argmax(np.flip(present, axis=-1), axis=-1)
    return np.where(present.any(axis=-1), EDGES[last + 1], 0.0)


def clock_text(hour: float) -> str:
    """07:30 for 7.5 (a local hour of the day)."""
    hour = hour % 24.0
    h = int(hour)
    m = round((hour - h) * 60)
    if m == 60:
        h, m = (h + 1) % 24, 0
    return f"{h:02d}:{m:02d}"


class ModelFitter:
    """Incremental trainer: feed time-ordered events chunk by chunk, take a model at any moment.

    ``PersonalModel.fit`` is this class used once; dataset replay uses it incrementally (nightly
    retraining in simulated time without re-reading the whole history).
    """

    def __init__(self, sensors: dict[str, SensorInfo], tz: str, history_days: float | None = None) -> None:
        self.sensors = sensors
        self.tz = tz
        self.clock = LocalClock(tz)
        self.tracker = ActivityTracker(sensors)
        self.key_index: dict[str, int] = {}
        self.key_room_votes: list[dict[str, int]] = []
        self._gap_rows: list[tuple[int, int, int, float, float]] = []  # key, hour, weekend, gap seconds, start
        self._counts = np.zeros((0, 24, 2, N_BINS), dtype=np.float64)
        # with a history window: every pause learned (start, counts index) in time order, and how many are forgotten
        self.history_s = history_days * 86400.0 if history_days is not None else None
        self._learned_ts = np.zeros(0)
        self._learned_at = np.zeros((0, 4), dtype=np.int64)
        self._forgotten = 0
        self.prev: Activity | None = None
        # activity stream for routine statistics and feedback lookup
        self.a_ts: list[float] = []
        self.a_key: list[int] = []
        self.a_room: list[str] = []
        self.a_exterior: list[bool] = []
        self.last_ts = -math.inf
        self._stream = _ActivityArrays()

    def add(self, events: Iterable[Event]) -> None:
        """Add events in time order (events older than the last one added are skipped)."""
        classify = self.tracker.classify
        for ev in events:
            if ev.ts < self.last_ts:
                continue
            self.last_ts = ev.ts
            act = classify(ev)
            if act is not None:
                self._add_activity(act)

    def _key_id(self, act: Activity) -> int:
        i = self.key_index.get(act.key)
        if i is None:
            i = len(self.key_index)
            self.key_index[act.key] = i
            self.key_room_votes.append({})
        votes = self.key_room_votes[i]
        rk = room_key(act.room, act.resting)
        votes[rk] = votes.get(rk, 0) + 1
        return i

    def _add_activity(self, act: Activity) -> None:
        kid = self._key_id(act)
        prev = self.prev
        if prev is not None and not prev.exterior:
            row = self._pause_row(prev.ts, self.a_key[-1], act.ts - prev.ts)
            if row is not None:
                self._gap_rows.append((*row, prev.ts))
        self.prev = act
        self.a_ts.append(act.ts)
        self.a_key.append(kid)
        self.a_room.append(act.room)
        self.a_exterior.append(act.exterior)

    def _pause_row(self, start: float, key_id: int, gap: float) -> tuple[int, int, int, float] | None:
        """(context key, local hour, weekend, seconds) of a pause the model learns, None for a gap it does not."""
        if not MIN_GAP_S <= gap <= MAX_PAUSE_S:
            return None
        local = self.clock.local_seconds(start)
        weekend = 1 if (int(local // 86400.0) + 3) % 7 >= 5 else 0
        return key_id, int((local % 86400.0) // 3600.0), weekend, gap

    def _unlearn_emergency(self, at: float, counts: np.ndarray, since: float) -> int:
        """Take the silence an emergency alert raised at ``at`` was part of out of the learned pauses (1 if it was
        learned: the resident moved again since; 0 while it lasts, if it began at the exterior door or before
        ``since``, the history window)."""
        i = bisect.bisect_right(self.a_ts, at) - 1
        if i < 0 or i + 1 >= len(self.a_ts) or self.a_exterior[i] or self.a_ts[i] < since:
            return 0
        row = self._pause_row(self.a_ts[i], self.a_key[i], self.a_ts[i + 1] - self.a_ts[i])
        if row is None:
            return 0
        key, hour, weekend, gap = row
        b = int(_bins(np.array([gap]))[0])
        if counts[key, hour, weekend, b] < 1.0:
            return 0
        counts[key, hour, weekend, b] -= 1.0
        return 1

    def _flush_counts(self) -> np.ndarray:
        n_keys = len(self.key_index)
        if self._counts.shape[0] < n_keys:
            grown = np.zeros((n_keys, 24, 2, N_BINS))
            grown[: self._counts.shape[0]] = self._counts
            self._counts = grown
        if self._gap_rows:
            rows = np.asarray(self._gap_rows, dtype=np.float64)
            at = np.column_stack([rows[:, :3].astype(np.int64), _bins(rows[:, 3])])
            np.add.at(self._counts, tuple(at.T), 1.0)
            if self.history_s is not None:
                self._learned_ts = np.concatenate([self._learned_ts, rows[:, 4]])
                self._learned_at = np.concatenate([self._learned_at, at])
            self._gap_rows = []
        return self._counts

    def _forget_before(self, since: float) -> None:
        """Take the pauses that began before ``since`` out of the learned counts (once: the window only moves on)."""
        upto = int(np.searchsorted(self._learned_ts, since))
        if upto > self._forgotten:
            np.add.at(self._counts, tuple(self._learned_at[self._forgotten : upto].T), -1.0)
            self._forgotten = upto

    def model(self, feedback: Sequence[tuple[float, str]] = (), at: float | None = None) -> PersonalModel:
        """The model of everything added so far (with a history window: of its last days before ``at``, default
        the last event added)."""
        self._flush_counts()
        since = -math.inf
        if self.history_s is not None:
            since = (self.last_ts if at is None else at) - self.history_s
            self._forget_before(since)
            feedback = [f for f in feedback if f[0] >= since]
        counts = self._counts.copy()
        keys = list(self.key_index)
        key_room = [max(v, key=lambda r: v[r]) if v else "@other" for v in self.key_room_votes]
        stream = self._stream.update(self)
        routine, p_active = _routine_stats(stream)
        first = int(np.searchsorted(stream.ts, since))
        ts = stream.ts[first:]
        # days with activity in the history window (from the day of its first activity on)
        days = sum(1 for d in stream.days if d >= stream.local[first] // 86400) if ts.size else 0
        if ts.size:
            routine["fires_alone"] = self._fires_alone(stream, keys)
        factor = np.ones((len(keys), 24, 2))
        emergencies = [t for t, kind in feedback if kind == EMERGENCY]
        unlearned = sum(self._unlearn_emergency(t, counts, since) for t in emergencies)
        used = self._apply_feedback([f for f in feedback if f[1] != EMERGENCY], factor, p_active, routine)
        metrics = {
            "days": days,
            "events_used": int(ts.size),
            "pauses": int(counts.sum()),
            "contexts": len(keys),
            "first_ts": float(ts[0]) if ts.size else None,
            "last_ts": float(ts[-1]) if ts.size else None,
            "feedback_used": used,
            "emergencies_unlearned": unlearned,
            "mat_rooms": sorted({s.room for s in self.sensors.values() if s.kind == "presence"}),
        }
        return PersonalModel(
            tz=self.tz,
            keys=keys,
            key_room=key_room,
            counts=counts,
            p_active=p_active,
            routine=routine,
            metrics=metrics,
            feedback_factor=factor,
        )

    def _fires_alone(self, stream: _ActivityArrays, keys: list[str]) -> dict[str, list[float]]:
        """Sensors that were the only one to fire for FIRES_ALONE_MIN_S or more between two exterior-door actions,
        FIRES_ALONE_TIMES times or more in the routine window: {sensor id: [times, hours]}. Bed and chair mats are
        left out (someone sitting down after coming in is what they see)."""
        first = int(np.searchsorted(stream.ts, stream.ts[-1] - ROUTINE_WINDOW_DAYS * 86400.0))
        code_of = sensor_codes(self.sensors)
        code_of_key = np.asarray([code_of.get(key_sensor(k)[0], -1) for k in keys], dtype=np.int64)
        codes = code_of_key[stream.key[first:]]
        ts = stream.ts[first:]
        ids = list(self.sensors)
        found: dict[str, list[float]] = {}
        for i, j in lone_sensor_stretches(ts, stream.exterior[first:], codes):
            sid = ids[int(codes[i + 1])]
            times_hours = found.setdefault(sid, [0.0, 0.0])
            times_hours[0] += 1
            times_hours[1] += (ts[j] - ts[i]) / 3600.0
        return {sid: [int(n), round(float(h), 1)] for sid, (n, h) in found.items() if n >= FIRES_ALONE_TIMES}

    def _apply_feedback(
        self, feedback: Sequence[tuple[float, str]], factor: np.ndarray, p_active: np.ndarray, routine: dict[str, Any]
    ) -> int:
        """Staff-marked false alarms make the model less eager in that context (FR-13)."""
        used = 0
        for at, kind in feedback:
            if kind.startswith(ROUTINE_CHANGE + ":"):
                used += _routine_change_feedback(kind.partition(":")[2], routine)
                continue
            i = bisect.bisect_right(self.a_ts, at) - 1
            if i < 0:
                continue
            last = self.a_ts[i]
            hour, wk = int(self.clock.hour(last)), self.clock.weekend(last)
            if kind == "inactivity":
                for dh in (-1, 0, 1):
                    factor[self.a_key[i], (hour + dh) % 24, wk] *= 1.5
                used += 1
            elif kind == "routine_deviation":
                h = hour
                for _ in range(int(min(24, (at - last) // 3600 + 1))):
                    p_active[h % 24, wk] *= 0.6
                    h += 1
                used += 1
        return used


def _bins(seconds: np.ndarray) -> np.ndarray:
    """The histogram bin (EDGES) of each pause length."""
    return np.clip(np.searchsorted(EDGES, seconds, side="right") - 1, 0, N_BINS - 1)


def feedback_kind(kind: str, reason: str | None) -> str:
    """The feedback label of a false alarm: its kind, and for a routine change which check raised it
    (``routine_change:no_meal``), since each check learns on its own."""
    return f"{kind}:{reason}" if kind == ROUTINE_CHANGE and reason else kind


def _routine_change_feedback(reason: str, routine: dict[str, Any]) -> int:
    """A routine change staff marked as a false alarm widens that check for this resident: each missed-meal false
    alarm gives the kitchen one more hour, each night-bathroom one allows one more visit (up to a limit, so that
    a few wrong marks cannot switch the check off)."""
    if reason == "no_meal":
        routine["meal_feedback_h"] = min(MEAL_FEEDBACK_MAX_H, routine.get("meal_feedback_h", 0.0) + 1.0)
    elif reason == "night_bathroom":
        routine["night_feedback_visits"] = min(NIGHT_FEEDBACK_MAX, routine.get("night_feedback_visits", 0) + 1)
    else:
        return 0
    return 1


#: room codes of the activity arrays (the routine statistics select rooms with numpy masks)
_ROOM_CODE: dict[str, int] = {r: i for i, r in enumerate(sorted(_ALL_ROOMS))}
_OTHER_ROOM = _ROOM_CODE["other"]
_WET_CODES = np.array([_ROOM_CODE[r] for r in sorted(WET_ROOMS)])
#: rooms whose events do not break the night's rest (getting up to the toilet is still the night)
_NIGHT_CODES = np.array([_ROOM_CODE[r] for r in ("bedroom", "hall", *sorted(WET_ROOMS))])
_KITCHEN = _ROOM_CODE["kitchen"]


class _ActivityArrays:
    """The fitter's activity stream as numpy arrays (time, local time, room code, context key, exterior door), extended
    with the new activities at each ``model()`` only: nightly retraining over a long history stays linear."""

    __slots__ = ("days", "exterior", "key", "local", "room", "ts")

    def __init__(self) -> None:
        self.ts = np.zeros(0)
        self.local = np.zeros(0)
        self.room = np.zeros(0, dtype=np.int64)
        self.key = np.zeros(0, dtype=np.int64)
        self.exterior = np.zeros(0, dtype=bool)
        self.days: set[int] = set()  # local days with at least one activity

    def update(self, fitter: ModelFitter) -> _ActivityArrays:
        n = self.ts.size
        if len(fitter.a_ts) == n:
            return self
        ts = np.asarray(fitter.a_ts[n:], dtype=np.float64)
        local = fitter.clock.local_seconds_array(ts)
        rooms = np.fromiter((_ROOM_CODE.get(r, _OTHER_ROOM) for r in fitter.a_room[n:]), np.int64, ts.size)
        self.ts = np.concatenate([self.ts, ts])
        self.local = np.concatenate([self.local, local])
        self.room = np.concatenate([self.room, rooms])
        self.key = np.concatenate([self.key, np.asarray(fitter.a_key[n:], dtype=np.int64)])
        self.exterior = np.concatenate([self.exterior, np.asarray(fitter.a_exterior[n:], dtype=bool)])
        self.days.update(np.unique((local // 86400).astype(np.int64)).tolist())
        return self


def sensor_codes(sensors: dict[str, SensorInfo]) -> dict[str, int]:
    """A number per sensor for :func:`lone_sensor_stretches` (its position in ``sensors``), -1 for bed and chair
    mats: someone sitting down after coming in is what a mat sees, not a sensor firing on its own."""
    return {sid: -1 if s.kind == "presence" else n for n, (sid, s) in enumerate(sensors.items())}


def lone_sensor_stretches(ts: np.ndarray, exterior: np.ndarray, codes: np.ndarray) -> list[tuple[int, int]]:
    """(i, j) of consecutive exterior-door actions at least FIRES_ALONE_MIN_S apart between which one sensor alone
    acted (``codes``: a number per action's sensor, negative for sensors that do not count, such as mats): the
    resident was probably out while that sensor fired on its own."""
    doors = np.nonzero(exterior)[0]
    if doors.size < 2:
        return []
    long_between = (np.diff(doors) >= 2) & (ts[doors[1:]] - ts[doors[:-1]] >= FIRES_ALONE_MIN_S)
    out = []
    for i, j in zip(doors[:-1][long_between], doors[1:][long_between], strict=True):
        inside = codes[i + 1 : j]
        if inside.min() == inside.max() and inside[0] >= 0:
            out.append((int(i), int(j)))
    return out


def _routine_stats(stream: _ActivityArrays) -> tuple[dict[str, Any], np.ndarray]:
    """Daily routine figures and the hour-of-week activity pattern."""
    prior = np.repeat(_prior_p_active()[:, None], 2, axis=1)
    ts = stream.ts
    if ts.size == 0:
        return {}, prior
    # the routine describes the recent weeks only (routines change)
    first = int(np.searchsorted(ts, ts[-1] - ROUTINE_WINDOW_DAYS * 86400.0))
    local = stream.local[first:]
    day = (local // 86400).astype(np.int64)
    hour = ((local % 86400) // 3600).astype(np.int64)
    first_day, last_day = int(day[0]), int(day[-1])
    n_days_span = last_day - first_day + 1
    # hours at home / active (an hour is "away" when covered by time out after the exterior door)
    active = np.zeros((n_days_span, 24), dtype=bool)
    active[day - first_day, hour] = True
    away = np.zeros((n_days_span, 24), dtype=bool)
    exterior = stream.exterior[first:]
    out_by_day = np.zeros(n_days_span)
    gaps = np.diff(local)
    trips = np.nonzero(exterior[:-1] & (gaps > AWAY_MIN_S))[0]
    for i in trips:
        start, end = local[i], local[i + 1]
        h0, h1 = int(start // 3600), int(end // 3600)
        for hh in range(h0 + 1, h1):  # full hours inside the absence
            d = hh // 24 - first_day
            if 0 <= d < n_days_span:
                away[d, hh % 24] = True
        d0 = int(start // 86400) - first_day
        if 0 <= d0 < n_days_span:
            out_by_day[d0] += (end - start) / 3600.0
    # the first and last (partial) days are not representative of whole-hour activity
    home = ~away
    home[0, : int(hour[0]) + 1] = False
    home[-1, int(hour[-1]) :] = False
    weekend = ((np.arange(first_day, last_day + 1) + 3) % 7 >= 5).astype(np.int64)
    p_active = np.zeros((24, 2))
    for wk in (0, 1):
        rows = weekend == wk
        n_home = home[rows].sum(axis=0).astype(np.float64)
        n_act = (active[rows] & home[rows]).sum(axis=0).astype(np.float64)
        p_active[:, wk] = (n_act + ROUTINE_PRIOR_DAYS * prior[:, wk]) / (n_home + ROUTINE_PRIOR_DAYS)
    p_active = np.clip(p_active, 0.01, 0.99)
    window = _Window(local, day, stream.room[first:], exterior, first_day, n_days_span)
    routine = _daily_routine(window, out_by_day)
    routine["active_hours_by_hour"] = [round(float(x), 3) for x in p_active[:, 0]]
    # outings through the exterior door (the "not back home" caution compares the one under way with them)
    routine["out_trips"] = int(trips.size)
    routine["unseen_exits"] = int(np.count_nonzero(~exterior[:-1] & exterior[1:] & (gaps >= UNSEEN_EXIT_MIN_S)))
    routine["window_days"] = n_days_span
    routine["out_trip_p95_h"] = round(float(np.quantile(gaps[trips], 0.95)) / 3600.0, 2) if trips.size else None
    return routine, p_active


@dataclass(slots=True)
class _Window:
    """The activities the routine describes (local seconds, local day, room code, exterior door)."""

    local: np.ndarray
    day: np.ndarray
    room: np.ndarray
    exterior: np.ndarray
    first_day: int
    n_days: int


def _night_rest(w: _Window) -> tuple[dict[int, float], dict[int, float], dict[int, float]]:
    """Per night (the day it ends on): the longest quiet stretch whose middle is between 20:00 and 10:00, its
    start (bedtime) and end (wake-up) hour. Bedroom, bathroom, toilet and hall events do not break it."""
    idx = np.flatnonzero(~np.isin(w.room, _NIGHT_CODES))
    a, b = idx[:-1], idx[1:]
    long_enough = ~w.exterior[a] & (w.local[b] - w.local[a] >= 3 * 3600)
    wake: dict[int, float] = {}
    bed: dict[int, float] = {}
    best: dict[int, float] = {}
    for start, end in zip(w.local[a[long_enough]], w.local[b[long_enough]], strict=True):
        length = end - start
        mid = (start + end) / 2.0
        night = int((mid + 12 * 3600) // 86400)  # night belongs to the day it ends on (noon cut)
        mid_hour = ((mid % 86400) / 3600.0 + 12.0) % 24.0  # hours since previous noon
        if not 8.0 <= mid_hour <= 22.0:  # midpoint between 20:00 and 10:00
            continue
        if length > best.get(night, 0.0):
            best[night] = length
            bed[night] = (start % 86400) / 3600.0
            wake[night] = (end % 86400) / 3600.0
    return best, bed, wake


def _bathroom_visits(w: _Window) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float]]:
    """Visits a day, night visits a day, visits by night, durations (min): clusters of wet-room events separated
    by more than VISIT_GAP_S."""
    visits = np.zeros(w.n_days)
    night_visits = np.zeros(w.n_days)
    per_night = np.zeros(w.n_days + 1)  # visits by night (night_of: the day the night ends on)
    durations: list[float] = []
    wet = w.local[np.isin(w.room, _WET_CODES)]
    if wet.size == 0:
        return visits, night_visits, per_night, durations
    breaks = np.flatnonzero(np.diff(wet) > VISIT_GAP_S)
    starts = wet[np.concatenate([[0], breaks + 1])]
    ends = wet[np.concatenate([breaks, [wet.size - 1]])]
    for cl_start, cl_end in zip(starts, ends, strict=True):
        d = int(cl_start // 86400) - w.first_day
        visits[d] += 1
        durations.append((cl_end - cl_start) / 60.0)
        if is_night_visit(cl_start):
            night_visits[d] += 1
            per_night[night_of(cl_start) - w.first_day] += 1
    return visits, night_visits, per_night, durations


def _kitchen_use(w: _Window) -> tuple[np.ndarray, np.ndarray]:
    """Per day: hours with kitchen activity, and the local hour of the first one (24 when the kitchen was not
    used)."""
    kitchen = w.room == _KITCHEN
    local, day = w.local[kitchen], w.day[kitchen] - w.first_day
    hours_used = np.unique(day * 24 + ((local % 86400) // 3600).astype(np.int64))
    kitchen_hours = np.bincount(hours_used // 24, minlength=w.n_days).astype(np.float64)
    first_kitchen = np.full(w.n_days, 24.0)
    used_days, first_of_day = np.unique(day, return_index=True)
    first_kitchen[used_days] = (local[first_of_day] % 86400.0) / 3600.0
    return kitchen_hours, first_kitchen


def _daily_routine(w: _Window, out_by_day: np.ndarray) -> dict[str, Any]:
    first_day, n_days = w.first_day, w.n_days
    best, bed, wake = _night_rest(w)
    visits, night_visits, per_night, durations = _bathroom_visits(w)
    kitchen_hours, first_kitchen_by_day = _kitchen_use(w)
    full = slice(1, n_days - 1) if n_days > 2 else slice(0, n_days)

    def med(x: Iterable[float]) -> float | None:
        arr = np.asarray(list(x), dtype=np.float64)
        return round(float(np.median(arr)), 2) if arr.size else None

    def q(x: Iterable[float], p: float) -> float | None:
        arr = np.asarray(list(x), dtype=np.float64)
        return round(float(np.quantile(arr, p)), 2) if arr.size else None

    bed_h = [b if b >= 12 else b + 24 for b in bed.values()]
    # nights fully inside the window (the first night may have started before the data)
    nights = per_night[1:n_days] if n_days > 1 else per_night[:0]
    at_home = out_by_day[full] < HOME_DAY_MAX_OUT_H
    first_kitchen = first_kitchen_by_day[full][at_home]
    daily = [
        {
            "day": (EPOCH_DAY + timedelta(days=first_day + i)).isoformat(),
            "night_rest_h": round(float(best[first_day + i]) / 3600.0, 2) if first_day + i in best else None,
            "up_at": round(float(wake[first_day + i]), 2) if first_day + i in wake else None,
            "out_h": round(float(out_by_day[i]), 2),
            "kitchen_first": round(float(first_kitchen_by_day[i]), 2) if first_kitchen_by_day[i] < 24 else None,
            "bathroom_visits": int(visits[i]),
            "night_bathroom_visits": int(per_night[i]),
        }
        for i in range(max(1, n_days - 1 - DAILY_DAYS), n_days - 1)  # whole days only
    ]
    return {
        "nights": len(wake),
        "wake_median": med(wake.values()),
        "wake_p90": q(wake.values(), 0.9),
        "bed_median": (med(bed_h) or 0.0) % 24 if bed_h else None,
        "bathroom_visits_median": med(visits[full]),
        "night_bathroom_median": med(night_visits[full]),
        "night_bathroom_p90": q(nights, 0.9),
        "night_bathroom_nights": int(nights.size),
        "kitchen_first_p95": q(first_kitchen, 0.95),
        "kitchen_days": int(first_kitchen.size),
        "bathroom_minutes_median": med(durations),
        "daily": daily,
        "kitchen_hours_median": med(kitchen_hours[full]),
        "out_hours_median": med(out_by_day[full]),
    }


def is_night_visit(local: float) -> bool:
    """A bathroom visit starting at this local time (seconds) is a night visit (23:30-05:00)."""
    h = (local % 86400.0) / 3600.0
    return h < 5.0 or h >= 23.5


def night_of(local: float) -> int:
    """The local day a night belongs to (the day it ends on; the cut is at noon)."""
    return int((local + 12 * 3600.0) // 86400.0)


def describe_context(key: str, sensors: dict[str, SensorInfo]) -> str:
    """'fridge opened', 'motion', 'bed occupied' ... for evidence texts."""
    sid, state = key_sensor(key)
    s = sensors.get(sid)
    if s is None:
        return sid
    word = {
        "door": ("closed", "opened"),
        "contact": ("closed", "opened"),
        "presence": ("left", "occupied"),
        "power": ("switched off", "switched on"),
        "light": ("switched off", "switched on"),
    }.get(s.kind)
    if word is None or not state:
        return f"{s.kind} sensor {sid}"
    return f"{sid} {word[1] if state == '1' else word[0]}"


def format_limit(seconds: float) -> str:
    return format_duration(seconds)
