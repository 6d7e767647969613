"""`seniorsafe simulate`: send simulated residents' events directly over MQTT, through real hub agents, over the
HTTP hub endpoint, or print them. With --demo the demo seed's hubs get fresh credentials (never in production)."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from tqdm import tqdm

from seniorsafe.config import Settings, get_settings
from seniorsafe.simulate.residents import Event, Habits, scenario_events, simulate_day

log = logging.getLogger(__name__)
SEOUL = ZoneInfo("Asia/Seoul")


@dataclass
class SimulationOptions:
    residents: int = 4
    days: float = 1.0
    speed: float = 60.0
    start: str = "now"
    demo: bool = True
    hubs_file: Path | None = None
    via: str = "mqtt"
    scenarios: list[str] = field(default_factory=list)
    seed: int = 7
    api_url: str | None = None  # via="http": the api's base URL (POST /api/v1/hub/events)
    hubs: list[tuple[str, str]] | None = None  # (hub_id, secret) pairs given directly (else hubs_file or demo)


def resident_events(index: int, start: datetime, end: datetime, seed: int) -> list[Event]:
    rng = random.Random(seed * 1000 + index)
    habits = Habits.personal(rng)
    midnight = start.astimezone(SEOUL).replace(hour=0, minute=0, second=0, microsecond=0)
    events: list[Event] = []
    while midnight < end:
        events += simulate_day(habits, midnight, rng)
        midnight += timedelta(days=1)
    return [e for e in events if start <= e[0] < end]


_OFFSET = re.compile(r"^(?P<who>\d+)?\+(?P<n>\d+(?:\.\d+)?)(?P<unit>[smh])$")


def apply_scenarios(events: dict[str, list[Event]], specs: list[str], start: datetime, end: datetime,
                    seed: int) -> list[tuple[str, datetime]]:
    """Inject scenarios; returns hub-offline slots. A spec is `name[:room][@where]`, where is empty (a random
    resident, half-way through), `HH:MM` (local time of the first day), `<resident index>`, or
    `[<resident index>]+<n>s|m|h` (that long after the start). The room is for a fall (`fall:bathroom`)."""
    rng = random.Random(seed)
    hubs = sorted(events)
    offline = []
    for spec in specs:
        what, _, where = spec.partition("@")
        name, _, room = what.partition(":")
        offset = _OFFSET.match(where)
        who = offset.group("who") if offset else where
        hub = hubs[int(who) % len(hubs)] if who and who.isdigit() else hubs[rng.randrange(len(hubs))]
        at = start + (end - start) * 0.5
        if offset:
            at = start + timedelta(seconds=float(offset.group("n")) * {"s": 1, "m": 60, "h": 3600}[offset["unit"]])
        elif ":" in where:
            hh, mm = where.split(":")
            at = start.astimezone(SEOUL).replace(hour=int(hh), minute=int(mm), second=0, microsecond=0)
        if name == "hub_offline":
            offline.append((hub, at))
            continue
        extra, suppress_from = scenario_events(name, at, rng, room or None)
        kept = [e for e in events[hub] if suppress_from is None or e[0] < suppress_from]
        events[hub] = sorted(kept + extra)
        log.info("scenario %s for %s at %s", name, hub, at.isoformat())
    return offline


def parse_start(value: str) -> datetime:
    return datetime.now(UTC) if value == "now" else datetime.fromisoformat(value).astimezone(UTC)


async def demo_credentials(settings: Settings, count: int) -> list[tuple[str, str]]:
    """Fresh credentials for the demo hubs (dev only): DB hash + broker account, like a rotation."""
    from sqlalchemy import select

    from seniorsafe.accounts.security import new_opaque_token, token_digest
    from seniorsafe.db import Database
    from seniorsafe.homes.models import Hub
    from seniorsafe.seed import demo_hub_id
    from seniorsafe.telemetry import dynsec

    if settings.environment == "production":
        raise SystemExit("refusing to issue demo credentials in production")
    db = Database(settings)
    out = []
    try:
        async with db.sessions() as session:
            for i in range(count):
                hub = await session.scalar(select(Hub).where(Hub.id == demo_hub_id(i)))
                if hub is None:
                    break
                secret = new_opaque_token()
                hub.credential_hash, hub.credential_issued_at = token_digest(secret), datetime.now(UTC)
                await session.commit()
                await dynsec.on_hub_credential(session, hub.id, secret)
                out.append((hub.id, secret))
            await dynsec.drain()
    finally:
        await db.dispose()
    if not out:
        raise SystemExit("no demo hubs found: run `seniorsafe seed-demo` first")
    return out


class MqttSender:
    """One MQTT connection per hub, publishing each event (QoS 1) with a time-based increasing seq."""

    def __init__(self, settings: Settings, hubs: list[tuple[str, str]]) -> None:
        import paho.mqtt.client as mqtt

        self.settings = settings
        self.clients: dict[str, Any] = {}
        self.offline_until: dict[str, float] = {}
        self.last_seq: dict[str, int] = {}
        self.pending: list[Any] = []  # publishes not yet acknowledged by the broker
        for hub_id, secret in hubs:
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sim-{hub_id}",
                                 protocol=mqtt.MQTTProtocolVersion.MQTTv5)
            client.username_pw_set(hub_id, secret)
            client.will_set(self.topic(hub_id, "state"), b'{"state": "offline"}', qos=1, retain=True)
            client.connect(settings.mqtt_host, settings.mqtt_port, keepalive=15)
            client.loop_start()
            client.publish(self.topic(hub_id, "state"), b'{"state": "online"}', qos=1, retain=True)
            self.clients[hub_id] = client

    def topic(self, hub_id: str, channel: str) -> str:
        return f"{self.settings.mqtt_topic_root}/hubs/{hub_id}/{channel}"

    def send(self, hub_id: str, event: Event) -> None:
        seq = max(time.time_ns() // 1000, self.last_seq.get(hub_id, 0) + 1)
        self.last_seq[hub_id] = seq
        ts, sensor, value = event
        body = {"sensor": sensor, "ts": ts.isoformat(), "value": value, "seq": seq}
        info = self.clients[hub_id].publish(self.topic(hub_id, "events"), orjson.dumps(body), qos=1)
        self.pending.append(info)
        if len(self.pending) > 5000:
            self.pending = [i for i in self.pending if not i.is_published()]

    def go_offline(self, hub_id: str) -> None:
        """The hub's link drops without a goodbye: the broker publishes its last will."""
        sock = self.clients[hub_id].socket()
        if sock:
            sock.close()

    def close(self) -> None:
        """Disconnect only after the broker has acknowledged every event (a fast backfill would lose some)."""
        deadline = time.monotonic() + 120
        for info in self.pending:
            if not info.is_published():
                info.wait_for_publish(timeout=max(0.1, deadline - time.monotonic()))
        for client in self.clients.values():
            client.disconnect()
            client.loop_stop()


class AgentSender:
    """Through real hub agents (each with its own SQLite outbox under var/sim/<hub>)."""

    def __init__(self, settings: Settings, hubs: list[tuple[str, str]]) -> None:
        from seniorsafe.hub.agent import HubAgent
        from seniorsafe.hub.config import HubConfig

        self.stop = threading.Event()
        self.agents: dict[str, Any] = {}
        for hub_id, secret in hubs:
            agent = HubAgent(HubConfig(hub_id=hub_id, secret=secret, broker_host=settings.mqtt_host,
                                       broker_port=settings.mqtt_port, topic_root=settings.mqtt_topic_root,
                                       data_dir=Path("var/sim") / hub_id))
            threading.Thread(target=agent.run, args=(self.stop,), daemon=True).start()
            self.agents[hub_id] = agent

    def send(self, hub_id: str, event: Event) -> None:
        ts, sensor, value = event
        self.agents[hub_id].record(sensor, value, ts=ts.astimezone(UTC).isoformat())

    def go_offline(self, hub_id: str) -> None:
        sock = self.agents[hub_id].client.socket()
        if sock:
            sock.close()

    def close(self) -> None:
        self.stop.set()
        time.sleep(1)


class HttpSender:
    """The HTTP hub path: each event is POSTed to `/api/v1/hub/events` with the hub's credential (Basic auth),
    with a time-based increasing seq, as a hub without MQTT would send it. A refused event raises."""

    def __init__(self, api_url: str, hubs: list[tuple[str, str]], timeout: float = 30.0) -> None:
        import httpx

        self.clients = {hub_id: httpx.Client(base_url=api_url, auth=(hub_id, secret), timeout=timeout)
                        for hub_id, secret in hubs}
        self.last_seq: dict[str, int] = {}
        self.stored = 0

    def send(self, hub_id: str, event: Event) -> None:
        seq = max(time.time_ns() // 1000, self.last_seq.get(hub_id, 0) + 1)
        self.last_seq[hub_id] = seq
        ts, sensor, value = event
        r = self.clients[hub_id].post("/api/v1/hub/events",
                                      json=[{"sensor": sensor, "ts": ts.isoformat(), "value": value, "seq": seq}])
        r.raise_for_status()
        receipt = r.json()
        if receipt["rejected"]:
            raise RuntimeError(f"the ingest refused an event of {hub_id}: {receipt['rejected']}")
        self.stored += receipt["stored"]

    def go_offline(self, hub_id: str) -> None:
        log.info("hub %s goes silent (HTTP has no connection to drop)", hub_id)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


class PrintSender:
    def send(self, hub_id: str, event: Event) -> None:
        ts, sensor, value = event
        print(orjson.dumps({"hub": hub_id, "sensor": sensor, "ts": ts.isoformat(), "value": value}).decode())

    def go_offline(self, hub_id: str) -> None:
        print(orjson.dumps({"hub": hub_id, "offline": True}).decode())

    def close(self) -> None:
        pass


def _hubs(options: SimulationOptions, settings: Settings) -> list[tuple[str, str]]:
    if options.hubs:
        return list(options.hubs)
    if options.hubs_file:
        return [(h["hub_id"], h["secret"]) for h in orjson.loads(options.hubs_file.read_bytes())]
    if options.via == "print":
        return [(f"sim-hub-{i + 1:03d}", "") for i in range(options.residents)]
    return asyncio.run(demo_credentials(settings, options.residents))


def make_sender(options: SimulationOptions, settings: Settings, hubs: list[tuple[str, str]]) -> Any:
    if options.via == "http":
        if not options.api_url:
            raise ValueError("via http needs the api's URL (api_url)")
        return HttpSender(options.api_url, hubs)
    if options.via == "mqtt":
        return MqttSender(settings, hubs)
    if options.via == "agent":
        return AgentSender(settings, hubs)
    return PrintSender()


def run_simulation(options: SimulationOptions, settings: Settings | None = None) -> int:
    """Play the residents' days (and scenarios) through the chosen path; returns how many events were sent."""
    settings = settings or get_settings()
    hubs = _hubs(options, settings)[: options.residents]
    start = parse_start(options.start)
    end = start + timedelta(days=options.days)
    events = {hub_id: resident_events(i, start, end, options.seed) for i, (hub_id, _) in enumerate(hubs)}
    offline = apply_scenarios(events, options.scenarios, start, end, options.seed)
    timeline = sorted((ts, hub_id, (ts, sensor, value)) for hub_id, evs in events.items()
                      for ts, sensor, value in evs)
    sender = make_sender(options, settings, hubs)
    try:
        _play(sender, timeline, offline, start, options.speed)
    finally:
        sender.close()
    return len(timeline)


def _play(sender: Any, timeline: list[tuple[datetime, str, Event]], offline: list[tuple[str, datetime]],
          start: datetime, speed: float) -> None:
    wall0 = time.monotonic()
    pending_offline = sorted(offline, key=lambda o: o[1])
    with tqdm(total=len(timeline), unit="event", desc="simulating", mininterval=1.0) as bar:
        for ts, hub_id, event in timeline:
            if speed > 0:
                delay = wall0 + (ts - start).total_seconds() / speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            while pending_offline and pending_offline[0][1] <= ts:
                sender.go_offline(pending_offline.pop(0)[0])
            sender.send(hub_id, event)
            bar.update()
            bar.set_postfix_str(ts.astimezone(SEOUL).strftime("%a %H:%M"), refresh=False)
