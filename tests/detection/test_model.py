from __future__ import annotations

import numpy as np
import pytest

from seniorsafe.detection import Event, PersonalModel, SensorInfo, Thresholds, personal
from seniorsafe.detection.personal import MODEL_VERSION

from .conftest import TZ, at, out_with_a_cat, sensors, synthetic_days


@pytest.fixture(scope="module")
def model() -> PersonalModel:
    return PersonalModel.fit(synthetic_days(21), sensors(), TZ)


def _danger(m: PersonalModel, key: str, hour: int, weekend: int = 0) -> float:
    t = m.tables(Thresholds().inactivity_caution_per_day, Thresholds().inactivity_danger_per_day)
    return float(t.danger[t.key_index[key], hour, weekend])


def test_keeps_the_last_weeks_day_by_day_for_the_trends(model: PersonalModel) -> None:
    """Up ~07:00 after a night from 23:00; out 10:00-11:30 on odd days; the first and last days are partial."""
    daily = model.routine["daily"]
    assert len(daily) == 19 and daily[0]["day"] == "2024-03-05" and daily[-1]["day"] == "2024-03-23"
    for i, d in enumerate(daily, start=1):
        assert 7.5 <= d["night_rest_h"] <= 9 and 6.5 <= d["up_at"] <= 7.8, d
        assert d["out_h"] == (pytest.approx(1.5, abs=0.2) if i % 2 else 0.0), d
        assert 6.5 <= d["kitchen_first"] <= 8.5 and d["bathroom_visits"] > 5 and d["night_bathroom_visits"] == 0
    assert PersonalModel.from_bytes(model.to_bytes()).routine["daily"] == daily


def test_learns_routine_from_synthetic_days(model: PersonalModel) -> None:
    assert model.days == 21
    assert not model.is_young
    assert 6.5 <= model.routine["wake_median"] <= 7.5
    assert 22.5 <= model.routine["bed_median"] <= 23.5
    assert model.p_active[14, 0] > 0.9 and model.p_active[3, 0] < 0.3
    assert "Usually up at 07" in model.summary()


def test_personal_limits_are_tighter_than_priors_by_day_and_long_in_bed(model: PersonalModel) -> None:
    prior = PersonalModel.prior(TZ)
    p = prior.tables(0.004, 0.0015)
    prior_kitchen_day = float(p.danger[p.room_index["@kitchen"], 14, 0])
    learned = _danger(model, "m_kitchen", 14)
    assert learned < prior_kitchen_day
    assert learned < 3 * 3600  # active every <= 12 min: far below 3 h
    assert _danger(model, "bed=1", 23) > 6 * 3600  # asleep in bed is long and normal


def test_cold_start_gives_way_to_personal_data() -> None:
    young = PersonalModel.fit(synthetic_days(3), sensors(), TZ)
    old = PersonalModel.fit(synthetic_days(28), sensors(), TZ)
    assert young.is_young and not old.is_young
    assert _danger(old, "m_kitchen", 14) <= _danger(young, "m_kitchen", 14)


def test_feedback_makes_model_less_eager(model: PersonalModel) -> None:
    events = synthetic_days(21)
    kitchen = [e for e in events if e.sensor == "m_kitchen" and e.value == 1 and 14 <= (e.ts - at(10, 0)) / 3600 < 15]
    fb = [(kitchen[0].ts + 40, "inactivity")]  # an alert staff marked false, 40 s after kitchen motion
    with_fb = PersonalModel.fit(events, sensors(), TZ, feedback=fb)
    assert with_fb.metrics["feedback_used"] == 1
    hour = int((kitchen[0].ts - at(10, 0)) // 3600)
    assert _danger(with_fb, "m_kitchen", hour) > _danger(model, "m_kitchen", hour)


def test_bytes_round_trip(model: PersonalModel) -> None:
    blob = model.to_bytes()
    assert len(blob) < 200_000
    back = PersonalModel.from_bytes(blob)
    assert back.keys == model.keys and back.days == model.days
    a, b = model.tables(0.004, 0.0015), back.tables(0.004, 0.0015)
    assert np.allclose(a.danger, b.danger) and np.allclose(a.caution, b.caution)
    assert back.routine == model.routine


def test_from_bytes_rejects_garbage_and_other_versions(model: PersonalModel, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError):
        PersonalModel.from_bytes(b"not a model")
    monkeypatch.setattr(personal, "MODEL_VERSION", MODEL_VERSION + 1)
    future = model.to_bytes()
    monkeypatch.undo()
    with pytest.raises(ValueError, match="unsupported model version"):
        PersonalModel.from_bytes(future)


def test_fit_on_a_real_home_is_fast_and_sane() -> None:
    from seniorsafe.detection.datasets import load_dataset

    ds = load_dataset("ordonez_b")
    m = PersonalModel.fit(ds.events, ds.sensors, ds.tz)
    assert m.days in (22, 23)  # 22 calendar days of activations (+ the end of the last interval)
    assert 7 <= m.routine["wake_median"] <= 12  # woke mid-morning in this recording
    t = m.tables(0.004, 0.0015)
    # sitting on the seat is a long, normal stillness; kitchen motion is not
    seat = float(np.median(t.danger[t.key_index["seat_living=1"], 9:21, 0]))
    kitchen = float(np.median(t.danger[t.key_index["pir_kitchen"], 9:21, 0]))
    assert seat > kitchen


def test_silences_longer_than_a_day_are_not_learned_as_pauses() -> None:
    from seniorsafe.detection import Event

    t = at(0, 10)
    home = sensors()
    day = PersonalModel.fit([Event(t, "m_kitchen", 1), Event(t + 20 * 3600, "m_kitchen", 1)], home, TZ)
    assert day.metrics["pauses"] == 1
    outage = PersonalModel.fit([Event(t, "m_kitchen", 1), Event(t + 30 * 3600, "m_kitchen", 1)], home, TZ)
    assert outage.metrics["pauses"] == 0  # a hub outage / recording gap, not normal life


def test_hazard_split_one_long_pause_does_not_set_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """After "fridge closed" something follows within minutes almost always: one 2 h 30 pause seen
    once must not push the limit past it; the long-pause length comes from the whole home."""
    events = synthetic_days(21)
    day = at(10, 0)  # a Thursday
    gap_start = max(e.ts for e in events if e.sensor == "fridge" and e.value == 0 and day + 15 * 3600 > e.ts > day)
    events = [e for e in events if not gap_start < e.ts < gap_start + 2.5 * 3600]
    hour = int((gap_start - day) // 3600)

    def limit() -> float:
        m = PersonalModel.fit(events, sensors(), TZ)
        rate = m.pause_rate()  # budgets giving per-pause chances of 1 % (caution) and 0.4 % (danger)
        t = m.tables(0.01 * rate, 0.004 * rate)
        return float(t.danger[t.key_index["fridge=0"], hour, 0])

    pooled = limit()
    monkeypatch.setattr(personal, "TAIL_POOLING", False)
    single = limit()
    assert single >= 2.5 * 3600  # the old estimate: never shorter than the longest pause seen
    assert pooled < single
    assert pooled < 2 * 3600


def test_false_alarm_budget_is_spread_over_the_residents_own_pauses(model: PersonalModel) -> None:
    """The sensitivity is a number of false alarms a day: a resident with more pauses a day gets a smaller
    chance per pause, so that busy and quiet homes see about the same number of false alarms."""
    assert PersonalModel.prior().pause_rate() == personal.PRIOR_PAUSES_PER_DAY
    moving = [i for i, r in enumerate(model.key_room) if not r.endswith("+rest")]
    own = float(model.counts[moving].sum()) / model.days
    assert own > 40  # the synthetic resident pauses every 1-12 min all day
    assert personal.PRIOR_PAUSES_PER_DAY < model.pause_rate() < own
    assert model.sensitivity(0.2) == pytest.approx(0.2 / model.pause_rate())
    strict, eager = model.tables(0.1, 0.1), model.tables(0.4, 0.4)
    assert np.all(eager.danger <= strict.danger) and np.any(eager.danger < strict.danger)


def test_a_bedroom_with_a_bed_sensor_takes_the_active_prior() -> None:
    """Where the bed has a sensor, lying down shows on it (a resting context): stillness after the other
    bedroom actions is that of someone up and about, not the long "maybe napping" bedroom prior."""
    with_mat = sensors()
    without_mat = {k: v for k, v in with_mat.items() if k != "bed"}
    events = [e for e in synthetic_days(3) if e.sensor != "bed"]

    def bedroom_limit(home: dict[str, SensorInfo]) -> float:
        m = PersonalModel.fit(events, home, TZ)
        t = m.tables(Thresholds().inactivity_caution_per_day, Thresholds().inactivity_danger_per_day)
        return float(t.danger[t.room_index["@bedroom"], 14, 0])

    assert PersonalModel.fit(events, with_mat, TZ).metrics["mat_rooms"] == ["bedroom"]
    assert bedroom_limit(with_mat) < 0.6 * bedroom_limit(without_mat)


def test_nightly_models_of_the_incremental_fitter_equal_a_fit_on_the_same_history() -> None:
    """Replay retrains night by night from arrays it only extends; each night's model must be the one a fit on
    everything so far gives (routine figures, activity pattern, days, pauses)."""
    events = synthetic_days(70)
    fitter = personal.ModelFitter(sensors(), TZ)
    done = 0
    for day in (3, 20, 61, 70):  # 61 and 70: the 56-day routine window has moved on
        cut = next((i for i, e in enumerate(events) if e.ts >= at(day, 3.0)), len(events))
        fitter.add(events[done:cut])
        done = cut
        nightly, whole = fitter.model(), PersonalModel.fit(events[:cut], sensors(), TZ)
        assert nightly.routine == whole.routine and nightly.metrics == whole.metrics
        assert np.array_equal(nightly.p_active, whole.p_active) and np.array_equal(nightly.counts, whole.counts)
    assert whole.days == 70 and len(whole.routine["daily"]) == personal.DAILY_DAYS


def test_replay_forgets_what_is_older_than_the_history_the_trainer_reads() -> None:
    """Production trains each night on the last HISTORY_DAYS days; replay's incremental fitter forgets older pauses,
    so that a long recording is replayed with the models production would have had: a night's windowed model learns
    what a fit on the window's events learns (same pauses per context, same days), not the whole history's."""
    events = synthetic_days(70)
    fitter = personal.ModelFitter(sensors(), TZ, history_days=30)
    done = 0
    for day in (20, 45, 70):
        now = at(day, 3.0)
        cut = next((i for i, e in enumerate(events) if e.ts >= now), len(events))
        fitter.add(events[done:cut])
        done = cut
        nightly = fitter.model(at=now)
        window = PersonalModel.fit([e for e in events[:cut] if e.ts >= now - 30 * 86400], sensors(), TZ)
        learned = dict(zip(nightly.keys, nightly.counts, strict=True))
        assert {k: c.sum() for k, c in learned.items() if c.sum()} == {
            k: c.sum() for k, c in zip(window.keys, window.counts, strict=True) if c.sum()}
        assert all(np.array_equal(learned[k], c) for k, c in zip(window.keys, window.counts, strict=True))
        assert nightly.days == window.days == min(day, 30)
        assert nightly.metrics["pauses"] == window.metrics["pauses"]
    assert PersonalModel.fit(events, sensors(), TZ).metrics["pauses"] > 2 * nightly.metrics["pauses"]


def _left_unseen(days: tuple[int, ...]) -> list:
    """21 synthetic days; on ``days`` (outings 10:00-11:30) the exit is not seen: nothing from 09:24 until the
    return through the front door at 11:30 (a silence of over 2 h that the door ends)."""
    return [e for e in synthetic_days(21) if not any(at(d, 9.4) <= e.ts < at(d, 11.5) for d in days)]


def test_counts_the_times_the_resident_came_in_without_having_been_seen_leaving() -> None:
    unseen = PersonalModel.fit(_left_unseen((13, 15, 17)), sensors(), TZ)
    assert unseen.routine["unseen_exits"] == 3 and unseen.routine["window_days"] == 21
    assert "Came in through the front door 3 times in the last 21 days without having been seen leaving" in (
        unseen.summary()
    )
    once = PersonalModel.fit(_left_unseen((13,)), sensors(), TZ)
    assert once.routine["unseen_exits"] == 1 and once.unseen_exits_note() is None  # once is not a habit
    usual = PersonalModel.fit(synthetic_days(21), sensors(), TZ)  # every outing through the door it sees
    assert usual.routine["unseen_exits"] == 0 and "without having been seen leaving" not in usual.summary()


def test_a_sensor_that_fires_with_nobody_home_is_named_in_the_summary() -> None:
    cat = PersonalModel.fit(out_with_a_cat((12, 15, 18)), sensors(), TZ)
    assert cat.routine["fires_alone"] == {"m_kitchen": [3, 18.0]}
    assert "Only one sensor fired for 4 h or more between two front-door events (in the last 21 days): m_kitchen 3 " \
           "times (18 h)" in cat.summary()
    once = PersonalModel.fit(out_with_a_cat((12,)), sensors(), TZ)
    assert once.routine["fires_alone"] == {} and once.fires_alone_note() is None  # once is not a habit
    usual = PersonalModel.fit(synthetic_days(21), sensors(), TZ)
    assert usual.routine["fires_alone"] == {} and "Only one sensor fired" not in usual.summary()
    assert PersonalModel.from_bytes(cat.to_bytes()).routine["fires_alone"] == {"m_kitchen": [3, 18.0]}


def test_a_stillness_that_was_a_real_emergency_is_not_learned_as_normal() -> None:
    """She lay 5 h in the living room after a fall on day 15 (staff: help sent). Unlearned, that silence no longer
    lengthens her limits; a false alarm's silence is learned as usual (it was her normal)."""
    events = [e for e in synthetic_days(21) if not at(15, 14) <= e.ts < at(15, 19)]
    alert_at = at(15, 15.5)
    as_is = PersonalModel.fit(events, sensors(), TZ)
    fall = PersonalModel.fit(events, sensors(), TZ, feedback=[(alert_at, personal.EMERGENCY)])
    long_bins = personal.EDGES[:-1] >= 4 * 3600
    assert as_is.counts[..., long_bins].sum() - fall.counts[..., long_bins].sum() == 1
    assert fall.counts.sum() == as_is.counts.sum() - 1 and fall.metrics["emergencies_unlearned"] == 1
    assert "1 real emergency(ies) not learned as normal" in fall.summary()
    thr = Thresholds()
    limits = [m.tables(thr.inactivity_caution_per_day, thr.inactivity_danger_per_day).danger for m in (as_is, fall)]
    assert (limits[1] <= limits[0]).all() and (limits[1] < limits[0]).any()  # quicker, nowhere slower
    before_it_ended = [e for e in events if e.ts < at(15, 16)]
    during = PersonalModel.fit(before_it_ended, sensors(), TZ, feedback=[(alert_at, personal.EMERGENCY)])
    assert during.metrics["emergencies_unlearned"] == 0  # still lying there: nothing learned yet to take out


def _afternoon_sits(days: tuple[int, ...], hours: float = 2.5) -> list[Event]:
    """21 ordinary days; on ``days``, nothing from a kitchen action at 14:00 for ``hours`` (an unsensed armchair)."""
    events = [ev for ev in synthetic_days(21) if not any(at(d, 14) <= ev.ts < at(d, 14 + hours) for d in days)]
    events += [Event(at(d, 14) - 1, "m_kitchen", 1) for d in days]
    return sorted(events, key=lambda ev: ev.ts)


def test_the_summary_says_when_the_day_ceiling_would_page_on_the_residents_own_habits() -> None:
    sitter = PersonalModel.fit(_afternoon_sits((8, 10, 12, 14, 16)), sensors(), TZ)
    note = sitter.day_ceiling_note(Thresholds())
    assert note is not None and note in sitter.summary(Thresholds())
    assert note.startswith("Still for more than 1 h 50 min during the day (08:00-21:00), away from a bed or chair, "
                           "5 times in the last 21 days, mostly after activity in the kitchen")
    assert sitter.day_ceiling_note(Thresholds(day_stillness_limit_min=180)) is None  # her sits are shorter
    assert sitter.day_ceiling_note(Thresholds(day_stillness_limit_min=0)) is None  # no ceiling
    assert sitter.day_ceiling_note(Thresholds(day_start_hour=15)) is None  # they begin before her day
    rare = PersonalModel.fit(_afternoon_sits((8, 16)), sensors(), TZ)
    assert rare.day_ceiling_note(Thresholds()) is None  # twice in three weeks: less than once a week
    usual = PersonalModel.fit(synthetic_days(21), sensors(), TZ)
    assert usual.day_ceiling_note(Thresholds()) is None and "day ceiling" not in usual.summary(Thresholds())
