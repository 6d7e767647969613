"""Realistic days of a virtual resident, as sensor events on the demo sensor set (seed.DEMO_SENSORS).

Each resident has personal habits (wake/bed time, meal times, bathroom frequency, outings, TV) and every day
varies around them. Scenarios (fall, long bathroom stay, night exit, emergency button) replace the rest of the day
from their start with what such an emergency looks like in the sensors.

A fall (`fall`, or `fall:<room>` to choose where) leaves the home still: after the fall no sensor fires any more
while the resident is at home. `fall` alone is three minutes of moving about the living room, then the fall;
`fall:<room>` is walking into that room (through its door, if it has a door sensor), one movement there, and the
fall. The robot simulator (robot_sim.py, scenario `fall`) finds such a resident on the floor, not answering."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

Event = tuple[datetime, str, float]  # (ts, sensor id, value)

ROOM_PIR = {"bedroom": "pir-bedroom", "living": "pir-living", "kitchen": "pir-kitchen", "bathroom": "pir-bathroom"}
ROOM_DOOR = {"bathroom": "door-bathroom"}  # interior doors with a sensor (the front door is the way out)
PIR_HOLD_S = 10.0  # a motion sensor reports "no motion" this long after the last movement it saw
SCENARIOS = ("fall", "bathroom", "night_exit", "button", "hub_offline")


@dataclass
class Habits:
    wake: float = 7.0          # hours after local midnight
    bed: float = 22.5
    breakfast: float = 8.0
    lunch: float = 12.5
    dinner: float = 18.0
    bathroom_per_day: int = 6
    night_bathroom_p: float = 0.5
    outing_p: float = 0.6
    outing_at: float = 10.0
    outing_hours: float = 2.0
    tv_from: float = 20.0
    tv_hours: float = 2.0

    @staticmethod
    def personal(rng: random.Random) -> Habits:
        return Habits(wake=rng.uniform(5.5, 8.0), bed=rng.uniform(21.0, 23.5), breakfast=rng.uniform(7.5, 9.0),
                      lunch=rng.uniform(11.5, 13.0), dinner=rng.uniform(17.5, 19.0),
                      bathroom_per_day=rng.randint(4, 8), night_bathroom_p=rng.uniform(0.2, 0.8),
                      outing_p=rng.uniform(0.3, 0.8), outing_at=rng.uniform(9.5, 15.0),
                      outing_hours=rng.uniform(1.0, 3.0), tv_from=rng.uniform(19.0, 20.5),
                      tv_hours=rng.uniform(1.0, 3.0))


@dataclass
class Day:
    rng: random.Random
    midnight: datetime
    events: list[Event] = field(default_factory=list)

    def at(self, hours: float) -> datetime:
        return self.midnight + timedelta(hours=hours)

    def jitter(self, hours: float, sd_minutes: float = 20) -> float:
        return hours + self.rng.gauss(0, sd_minutes / 60)

    def add(self, when: datetime, sensor: str, value: float) -> None:
        self.events.append((when, sensor, value))

    def motion(self, room: str, start: datetime, minutes: float, every: float = 4.0) -> datetime:
        """PIR on/off pulses in a room for `minutes`; returns the end time."""
        t, end = start, start + timedelta(minutes=minutes)
        while t < end:
            self.add(t, ROOM_PIR[room], 1)
            self.add(t + timedelta(seconds=self.rng.uniform(30, 90)), ROOM_PIR[room], 0)
            t += timedelta(minutes=self.rng.uniform(every * 0.5, every * 1.5))
        return end

    def door(self, sensor: str, when: datetime, open_seconds: float = 20) -> None:
        self.add(when, sensor, 1)
        self.add(when + timedelta(seconds=open_seconds), sensor, 0)

    def bathroom(self, when: datetime, minutes: float) -> datetime:
        self.door("door-bathroom", when, 5)
        end = self.motion("bathroom", when + timedelta(seconds=10), minutes, every=3)
        self.door("door-bathroom", end, 5)
        return end + timedelta(seconds=10)

    def meal(self, when: datetime, minutes: float, kettle: bool) -> None:
        self.door("fridge", when + timedelta(minutes=2), 30)
        if kettle:
            self.add(when + timedelta(minutes=3), "kettle", self.rng.uniform(1500, 2200))
            self.add(when + timedelta(minutes=6), "kettle", 0)
        self.motion("kitchen", when, minutes)


def simulate_day(habits: Habits, midnight: datetime, rng: random.Random) -> list[Event]:
    """One ordinary day from local midnight to the next (times in the midnight's timezone)."""
    day = Day(rng, midnight)
    wake, bed = day.at(day.jitter(habits.wake)), day.at(day.jitter(habits.bed))
    if rng.random() < habits.night_bathroom_p:
        t = day.at(rng.uniform(1.5, 4.5))
        day.add(t, "bed", 0)
        day.add(day.bathroom(t + timedelta(minutes=1), rng.uniform(3, 8)) + timedelta(minutes=1), "bed", 1)
    day.add(wake, "bed", 0)
    day.motion("bedroom", wake, 5)
    t = day.bathroom(wake + timedelta(minutes=6), rng.uniform(8, 20))
    day.meal(day.at(day.jitter(habits.breakfast)), rng.uniform(15, 35), kettle=True)
    day.motion("living", day.at(day.jitter(habits.breakfast) + 0.7), rng.uniform(40, 100), every=8)
    out: tuple[datetime, datetime] | None = None
    if rng.random() < habits.outing_p:
        leave = day.at(day.jitter(habits.outing_at, 40))
        back = leave + timedelta(hours=max(0.5, rng.gauss(habits.outing_hours, 0.4)))
        day.door("door-front", leave)
        day.door("door-front", back)
        out = (leave, back)
    day.meal(day.at(day.jitter(habits.lunch)), rng.uniform(15, 30), kettle=rng.random() < 0.5)
    day.motion("living", day.at(day.jitter(14.5, 40)), rng.uniform(60, 150), every=10)
    day.meal(day.at(day.jitter(habits.dinner)), rng.uniform(25, 45), kettle=False)
    tv_on = day.at(day.jitter(habits.tv_from))
    tv_off = tv_on + timedelta(hours=max(0.3, rng.gauss(habits.tv_hours, 0.3)))
    day.add(tv_on, "tv", rng.uniform(70, 110))
    day.motion("living", tv_on, (tv_off - tv_on).total_seconds() / 60, every=15)
    day.add(tv_off, "tv", 0)
    for _ in range(max(0, habits.bathroom_per_day - 2)):
        t = day.at(rng.uniform(habits.wake + 1, habits.bed - 0.5))
        day.bathroom(t, rng.uniform(2, 8))
    day.bathroom(bed - timedelta(minutes=15), rng.uniform(5, 10))
    day.motion("bedroom", bed - timedelta(minutes=4), 4)
    day.add(bed, "bed", 1)
    events = day.events
    if out is not None:  # nobody home: nothing moves while out
        events = [e for e in events if not (out[0] + timedelta(seconds=30) < e[0] < out[1]) or e[1] == "door-front"]
    return sorted(events)


def scenario_events(name: str, at: datetime, rng: random.Random,
                    room: str | None = None) -> tuple[list[Event], datetime | None]:
    """The events of an emergency starting at `at`, and from when the normal day is suppressed (None: not).

    `room` places a fall (default: the living room); the other scenarios have fixed places."""
    day = Day(rng, at)
    if room is not None and (name != "fall" or room not in ROOM_PIR):
        raise ValueError(f"a room is only for a fall, one of {', '.join(ROOM_PIR)} (got {name}:{room})")
    if name == "fall" and room is None:
        day.motion("living", at, 3, every=1)  # a last movement, then stillness
        return day.events, at + timedelta(minutes=3)
    if name == "fall":
        assert room is not None
        t = at
        if room in ROOM_DOOR:  # opens the door, goes in, closes it behind
            day.door(ROOM_DOOR[room], t, 4)
            t += timedelta(seconds=6)
        day.add(t, ROOM_PIR[room], 1)  # one movement in the room, then the fall: nothing moves any more
        day.add(t + timedelta(seconds=PIR_HOLD_S), ROOM_PIR[room], 0)
        return day.events, at
    if name == "bathroom":
        day.door("door-bathroom", at, 5)
        day.motion("bathroom", at + timedelta(seconds=10), 2, every=1)
        return day.events, at
    if name == "night_exit":
        day.motion("living", at, 2, every=1)
        day.door("door-front", at + timedelta(minutes=2), 30)
        return day.events, at + timedelta(minutes=3)
    if name == "button":
        day.add(at, "button", 1)
        day.add(at + timedelta(seconds=2), "button", 0)
        return day.events, None
    raise ValueError(f"unknown scenario {name!r} ({', '.join(SCENARIOS)})")
