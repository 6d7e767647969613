"""Live gateway benchmark: K Socket.IO dashboard clients, sensor events through the real ingest (HTTP or MQTT).

Starts its own database, an api process that holds every dashboard socket (ONE uvicorn worker), the ingest, the
detector (`seniorsafe detect`), a load generator and client processes. The ingest depends on --source:
  http (default)  a second api process takes the hubs' `POST /api/v1/hub/events` (two replicas behind a proxy);
  mqtt            the production path: a private Mosquitto with a dynamic-security account per hub, the generator
                  connects as every hub with its own credential and publishes QoS 1 to
                  `seniorsafe/v1/hubs/{hub_id}/events`, one event per message (the buttons too), and
                  --ingest-procs `seniorsafe ingest` processes (MQTT 5 shared subscription) commit and publish on
                  the bus (broker and ingest set-up shared with bench/ingest.py, see bench/mqtt_load.py);
  bus             telemetry's live messages straight on Redis (the gateway alone; buttons still go by HTTP).
Each client watches one senior (`senior.watch`); events are spread over the hubs at --rate events/s, --batch
events per hub turn. Every --press-every seconds an emergency button is pressed in a new home: the detector
raises the alert, the dashboards receive `alert.opened`.

Measures event → dashboard (`sensor.activity` receipt minus the event's hub timestamp) and decisive event →
alert on dashboard (button timestamp → `alert.opened` receipt). Progress on stderr; last line on stdout:
{"clients", "event_to_dashboard_p50_ms", "event_to_dashboard_p99_ms", "button_to_alert_p99_ms", ...,
"events_stored", "events_late", "cpu_percent": {part: % of one core during the load}, "loadavg_1m_before",
"loadavg_1m_after"}. Late events (older than the sensor's last reading) are stored but never sent live, so
activity_deliveries = events_stored − events_late. Targets: 2,000 clients on one api worker, 2,000 events/s in,
event → dashboard p99 <= 100 ms, button → alert p99 <= 250 ms.

2026-11-26, 2,000 clients, 20 s, quiet machine (load average 1.8–3.0 with the benchmark itself):
  mqtt, 2 ingest procs  1,970 ev/s in, 0 unacked, 0 late; event → dashboard p50 17–18 ms, p99 27–31 ms (6 runs;
                        a 120 s run: 29.8 ms); button → alert p50 30 ms, p99 44–49 ms
  http                  1,964 ev/s in; p50 22 ms, p99 59–60 ms; button → alert p99 50–56 ms
  bus                   p50 2.1 ms, p99 8.8 ms
Runs while other work shares the 2 cores (a CI run with Chromium: load 5–8) have had p99 over a second: compare
`loadavg_1m_*` between runs. The slowest 100 ms windows (stderr) tell a stall of the whole path (neighbouring
windows) from a thin tail; docs/performance.md tells the three stalls found that way.

The client processes (--client-procs, default 2) decode with orjson and stop when the main process says the
load is over (results are drained while the generator runs, so a slow start cannot deadlock the queue). On 2
shared cores each client process used ~10 % of a core at 2,000 events/s: the clients are not the tail here;
compare `cpu_percent` and the load average between runs. With --source mqtt the generator connects every hub
before the load starts (not measured); the broker's and ingest processes' CPU is in `cpu_percent`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import multiprocessing as mp
import os
import queue
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from cleanup import drop_run
from mqtt_load import MqttHub, connect_all, ingest_env, start_broker, start_ingest, stop_all, wait_acked
from seniorsafe.accounts.models import Role
from seniorsafe.accounts.security import Principal, hash_password, issue_access_token, token_digest
from seniorsafe.config import Settings
from seniorsafe.migrate import upgrade
from seniorsafe.processes import free_port
from seniorsafe.seed import DEMO_SENSORS

ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)


# ---------------------------------------------------------------- data


def load_data(dsn: str, homes: int, staff: int) -> tuple[uuid.UUID, list[uuid.UUID], list[tuple[str, str, str]]]:
    """One organisation, `staff` care workers, `homes` seniors (senior i assigned to worker i % staff), each
    with a home, a hub and the demo sensors."""
    org_id = uuid.uuid4()
    staff_ids = [uuid.uuid4() for _ in range(staff)]
    hubs: list[tuple[str, str, str]] = []  # (hub_id, secret, senior_id)
    password = hash_password("bench-password-1")
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO organisations (id, name, settings) VALUES (%s, 'Bench', '{}')", (org_id,))
        for n, user_id in enumerate(staff_ids):
            cur.execute("INSERT INTO users (id, org_id, email, name, role, password_hash, is_active) "
                        "VALUES (%s, %s, %s, %s, 'staff', %s, true)",
                        (user_id, org_id, f"staff{n}@bench.example.org", f"Staff {n}", password))
        for i in range(homes):
            senior, home, hub, secret = uuid.uuid4(), uuid.uuid4(), f"bench-hub-{i:05d}", uuid.uuid4().hex
            cur.execute("INSERT INTO seniors (id, org_id, name, health_conditions, medications, video_consent, "
                        "risk_level, settings) VALUES (%s, %s, %s, '[]', '[]', false, 'safe', '{}')",
                        (senior, org_id, f"Senior {i:05d}"))
            cur.execute("INSERT INTO homes (id, org_id, senior_id, timezone, rooms) VALUES (%s, %s, %s, "
                        "'Asia/Seoul', '[]')", (home, org_id, senior))
            cur.execute("INSERT INTO hubs (id, org_id, home_id, name, status, connectivity, credential_hash) "
                        "VALUES (%s, %s, %s, 'hub', 'active', 'online', %s)",
                        (hub, org_id, home, token_digest(secret)))
            for sensor_id, kind, room, label in DEMO_SENSORS:
                cur.execute("INSERT INTO sensors (org_id, home_id, hub_id, sensor_id, kind, room, label, config) "
                            "VALUES (%s, %s, %s, %s, %s, %s, %s, '{}')",
                            (org_id, home, hub, sensor_id, kind.value, room.value, label))
            cur.execute("INSERT INTO staff_assignments (senior_id, user_id, is_primary) VALUES (%s, %s, true)",
                        (senior, staff_ids[i % staff]))
            hubs.append((hub, secret, str(senior)))
        conn.commit()
    return org_id, staff_ids, hubs


# ---------------------------------------------------------------- clients


async def _clients(url: str, tokens: list[str], watch: list[str], stop: Any, q: Any, progress: Any) -> None:
    import socketio

    activity: list[float] = []
    arrivals: list[float] = []
    alerts: list[tuple[str, float]] = []
    connected = 0

    from seniorsafe.realtime.server import OrjsonCodec

    def make(i: int) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False, json=OrjsonCodec)  # the stdlib json would be our own tail

        async def on_activity(data: dict[str, Any]) -> None:
            ts = datetime.fromisoformat(data["data"]["ts"].replace("Z", "+00:00")).timestamp()
            now = time.time()
            activity.append((now - ts) * 1000)
            arrivals.append(now)

        async def on_alert(data: dict[str, Any]) -> None:
            if data["data"]["kind"] == "emergency_button":
                alerts.append((data["senior_id"], time.time()))

        sio.on("sensor.activity", on_activity)
        sio.on("alert.opened", on_alert)
        return sio

    socks = [make(i) for i in range(len(tokens))]

    async def connect(i: int) -> None:
        nonlocal connected
        await socks[i].connect(url, auth={"token": tokens[i]}, transports=["websocket"], wait_timeout=30)
        await socks[i].call("senior.watch", {"senior_id": watch[i]}, timeout=30)
        connected += 1

    for start in range(0, len(socks), 50):
        await asyncio.gather(*(connect(i) for i in range(start, min(start + 50, len(socks)))))
        progress.value = connected
    # Browsers are separate machines: this process's own garbage collection (a gen-2 pass over 1,000 sockets
    # took ~180 ms) must not be measured as gateway latency. Everything alive now is kept out of the collector.
    gc.collect()
    gc.freeze()
    progress.value = -connected  # negative: all connected, start measuring
    while not stop.is_set():  # the main process says when the load (and its tail) is over
        await asyncio.sleep(0.5)
        progress.value = -max(1, len(activity))
    q.put({"activity": activity, "arrivals": arrivals, "alerts": alerts, "connected": connected})
    for s in socks:
        with contextlib.suppress(Exception):
            await s.disconnect()


def client_process(url: str, tokens: list[str], watch: list[str], stop: Any, q: Any, progress: Any) -> None:
    asyncio.run(_clients(url, tokens, watch, stop, q, progress))


# ---------------------------------------------------------------- load generator


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


async def _generate(url: str, hubs: list[tuple[str, str, str]], args: argparse.Namespace, redis_prefix: str,
                    q: Any, mqtt_port: int, ready: Any) -> None:
    """Sensor events at args.rate (HTTP ingest with a bounded in-flight window, MQTT QoS 1 with each hub's
    credential, or straight onto the bus)."""
    import aiohttp
    import redis.asyncio as aioredis

    mq: dict[str, MqttHub] = {}
    if args.source == "mqtt":  # one connection per hub, as the hubs' agents hold them
        mq = {h: MqttHub(h, secret, mqtt_port) for h, secret, _ in hubs}
        await connect_all(list(mq.values()))
    ready.set()
    seq = {h: 0 for h, _, _ in hubs}
    presses: list[tuple[str, float]] = []
    sent = errors = 0
    window = asyncio.Semaphore(args.inflight)
    bus = aioredis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    per_tick = 10
    tick = args.batch * per_tick / args.rate
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.inflight + 4)) as http:

        async def post(hub: str, secret: str, events: list[dict[str, Any]]) -> None:
            nonlocal errors
            try:
                async with http.post(f"{url}/api/v1/hub/events", json=events,
                                     auth=aiohttp.BasicAuth(hub, secret)) as r:
                    errors += r.status >= 300
                    await r.read()
            except aiohttp.ClientError:
                errors += 1
            finally:
                window.release()

        async def send(hub: str, secret: str, senior: str, events: list[dict[str, Any]]) -> None:
            if args.source == "mqtt":  # one event per message, as real sensors
                mq[hub].publish(json.dumps(e, separators=(",", ":")).encode() for e in events)
                return
            if args.source == "bus":  # what telemetry publishes after its commit (telemetry/live.py)
                pipe = bus.pipeline(transaction=False)
                for e in events:
                    pipe.publish(f"{redis_prefix}pub:senior:{senior}:activity", json.dumps(
                        {"senior_id": senior, "hub_id": hub, "sensor": e["sensor"], "kind": "motion",
                         "room": "living", "value": e["value"], "ts": e["ts"], "seq": e["seq"]}))
                await pipe.execute()
                return
            await window.acquire()
            asyncio.get_running_loop().create_task(post(hub, secret, events))

        start = time.monotonic()
        next_press, pressed, cursor, value = start + 1.0, 0, 0, True
        while time.monotonic() - start < args.seconds:
            began = time.monotonic()
            for _ in range(per_tick):
                hub, secret, senior = hubs[cursor % len(hubs)]
                cursor += 1
                events = []
                now = time.time()
                for j in range(args.batch):
                    seq[hub] += 1
                    events.append({"sensor": "pir-living", "ts": _iso(now - (args.batch - 1 - j) * 0.00001),
                                   "value": value, "seq": seq[hub]})
                value = not value
                await send(hub, secret, senior, events)
                sent += args.batch
            if args.press_every > 0 and time.monotonic() >= next_press and pressed < len(hubs):
                hub, secret, senior = hubs[-1 - pressed]
                pressed += 1
                seq[hub] += 1
                ts = time.time()
                presses.append((senior, ts))
                press = {"sensor": "button", "ts": _iso(ts), "value": True, "seq": seq[hub]}
                if args.source == "mqtt":
                    mq[hub].publish([json.dumps(press, separators=(",", ":")).encode()])
                else:
                    await window.acquire()
                    asyncio.get_running_loop().create_task(post(hub, secret, [press]))
                next_press += args.press_every
            await asyncio.sleep(max(0.0, tick - (time.monotonic() - began)))
        elapsed = time.monotonic() - start
        for _ in range(args.inflight):
            await window.acquire()
        if mq:  # the last PUBACKs; a PUBLISH never acknowledged counts as an error
            await wait_acked(list(mq.values()), 30.0)
            errors += sum(max(0, h.inflight) for h in mq.values())
            for h in mq.values():
                h.close()
    await bus.aclose()
    q.put({"sent": sent, "errors": errors, "rate": sent / elapsed, "presses": presses})


def generator_process(url: str, hubs: list[tuple[str, str, str]], args: argparse.Namespace, redis_prefix: str,
                      q: Any, mqtt_port: int, ready: Any) -> None:
    asyncio.run(_generate(url, hubs, args, redis_prefix, q, mqtt_port, ready))


# ---------------------------------------------------------------- processes


def start_api(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "seniorsafe.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"], env=env)


def wait_ready(base: str) -> None:
    import httpx

    for _ in range(150):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{base} did not become ready")


def run(args: argparse.Namespace, dsn: str, name: str) -> dict[str, Any]:
    procs: list[subprocess.Popen[bytes]] = []
    broker = None
    try:
        upgrade(dsn.replace("postgresql://", "postgresql+asyncpg://"))
        org_id, staff_ids, hubs = load_data(dsn, args.homes, args.staff)
        log(f"setup: {len(hubs)} homes loaded")
        secret = uuid.uuid4().hex * 2
        env = {**os.environ, "DATABASE_URL": dsn.replace("postgresql://", "postgresql+asyncpg://"),
               "REDIS_PREFIX": f"ssbench:{name}:", "JWT_SECRET": secret, "ENVIRONMENT": "test",
               "WORKFLOW_WORKER_IN_API": "false", "ACCESS_TOKEN_MINUTES": "120"}
        gw_port, ingest_port = free_port(), free_port()
        procs.append(start_api(env, gw_port))
        parts: dict[str, int | None] = {"gateway": procs[0].pid}
        gw, ingest = f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{ingest_port}"
        mqtt_port = 0
        if args.source == "mqtt":  # hubs -> Mosquitto (dynsec account per hub) -> `seniorsafe ingest` x K
            tmp = Path(tempfile.mkdtemp(prefix="ss-bench-rt-"))
            broker = start_broker(tmp / "mosquitto", [(h, s) for h, s, _ in hubs])
            mqtt_port = broker.port
            parts["broker"] = broker.proc.pid if broker.proc else None
            ingesters = start_ingest(ingest_env(env, broker), args.ingest_procs, tmp)
            procs += ingesters
            parts.update({f"ingest_{i}": p.pid for i, p in enumerate(ingesters)})
            log(f"setup: broker on {broker.port}, {args.ingest_procs} ingest processes subscribed (logs in {tmp})")
        else:
            procs.append(start_api(env, ingest_port))
            parts["ingest_api"] = procs[-1].pid
        detector = None
        if args.detector:
            detector = subprocess.Popen([sys.executable, "-m", "seniorsafe.cli", "detect", "--tick", "0.5",
                                         "--history-hours", "0"], env=env, stdout=subprocess.DEVNULL)
            procs.append(detector)
            parts["detector"] = detector.pid
        wait_ready(gw)
        if args.source != "mqtt":
            wait_ready(ingest)
        settings = Settings(jwt_secret=secret, access_token_minutes=120)
        tokens = [issue_access_token(settings, Principal(u, org_id, Role.staff, uuid.uuid4()))[0] for u in staff_ids]
        watched = max(1, min(args.watched, len(hubs)))

        def plan(i: int) -> tuple[str, str]:  # client i: a tab of worker i % staff, watching one of their seniors
            senior = hubs[(i % watched) % len(hubs)][2]
            return tokens[(i % watched) % len(tokens)], senior

        q: Any = mp.Queue()
        stop = mp.Event()
        clients: list[mp.Process] = []
        progress = [mp.Value("i", 0) for _ in range(args.client_procs)]
        per = [list(range(i, args.clients, args.client_procs)) for i in range(args.client_procs)]
        for p, idx in zip(progress, per, strict=True):
            proc = mp.Process(target=client_process, args=(
                gw, [plan(i)[0] for i in idx], [plan(i)[1] for i in idx], stop, q, p))
            proc.start()
            clients.append(proc)
        t0 = time.monotonic()
        while not all(p.value < 0 for p in progress):
            log(f"connecting: {sum(abs(p.value) for p in progress)}/{args.clients} clients")
            time.sleep(1)
            if time.monotonic() - t0 > 300:
                raise RuntimeError("clients did not connect within 5 minutes")
        log(f"all {args.clients} clients connected in {time.monotonic() - t0:.1f}s; sending {args.rate:.0f} ev/s")
        ready = mp.Event()
        gen = mp.Process(target=generator_process, args=(ingest, hubs, args, env["REDIS_PREFIX"], q, mqtt_port,
                                                         ready))
        gen.start()
        if not ready.wait(180):  # mqtt: every hub connected (not part of the measured load)
            raise RuntimeError("the generator's hubs did not connect within 3 minutes")
        load_before = os.getloadavg()
        parts.update({"generator": gen.pid, **{f"clients_{i}": c.pid for i, c in enumerate(clients)}})
        cpu = CpuMeter(parts)
        t1 = time.monotonic()
        results: list[dict[str, Any]] = []
        while gen.is_alive():  # drain the queue meanwhile: a full pipe would keep the generator from exiting
            with contextlib.suppress(queue.Empty):
                results.append(q.get(timeout=1))
            cpu.sample()
            log(f"load {time.monotonic() - t1:4.0f}s: received so far ~{sum(-p.value for p in progress)}")
        time.sleep(1.0)  # deliveries still in flight
        used = cpu.read()
        stop.set()
        while len(results) < len(clients) + 1:
            results.append(q.get(timeout=120))
        for proc in [*clients, gen]:
            proc.join(timeout=30)
        with psycopg.connect(dsn) as conn:  # late events (older than the sensor's last reading) are not sent live
            row = conn.execute("SELECT count(*), count(*) FILTER (WHERE late) FROM sensor_events").fetchone()
        stored = {"events_stored": row[0], "events_late": row[1]} if row else {}
        return {**summarise(args, results, detector is not None), **stored, "cpu_percent": used,
                "loadavg_1m_before": round(load_before[0], 2), "loadavg_1m_after": round(os.getloadavg()[0], 2)}
    finally:
        stop_all(procs)
        if broker is not None:
            broker.stop()


class CpuMeter:
    """CPU used by each part of the benchmark during the load phase, in % of one core (Linux /proc)."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self.start = {name: self._cpu(pid) for name, pid in self.pids.items()}
        self.t0 = time.monotonic()
        self.last: dict[str, tuple[float, float]] = {}

    @staticmethod
    def _cpu(pid: int) -> float:
        """utime + stime of the process and its waited-for children, in seconds (NaN if unreadable)."""
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return float("nan")

    def sample(self) -> None:
        """Remember the latest reading of each live process (the generator exits before the end)."""
        now = time.monotonic()
        for name, pid in self.pids.items():
            value = self._cpu(pid)
            if value == value:  # not NaN
                self.last[name] = (value, now)

    def read(self) -> dict[str, float]:
        self.sample()
        return {name: round(100 * (cpu - self.start[name]) / max(1e-6, at - self.t0), 1)
                for name, (cpu, at) in self.last.items()}


def report_worst_moments(samples: list[tuple[float, float]], top: int = 5) -> None:
    """Where the tail comes from: the slowest delivery per 100 ms of event time, the worst few on stderr (one
    stall of the whole path shows as neighbouring windows; scattered windows mean a thin, spread tail)."""
    worst: dict[int, float] = {}
    for sent_at, latency in samples:
        slot = int(sent_at * 10)
        worst[slot] = max(worst.get(slot, 0.0), latency)
    if not worst:
        return
    first = min(worst)
    for slot, latency in sorted(worst.items(), key=lambda kv: -kv[1])[:top]:
        log(f"slowest deliveries: events sent at +{(slot - first) / 10:5.1f}s took up to {latency:7.1f} ms")
    over = sum(1 for v in worst.values() if v > 100)
    log(f"100 ms windows with a delivery over 100 ms: {over} of {len(worst)}")


def summarise(args: argparse.Namespace, results: list[dict[str, Any]], detector: bool) -> dict[str, Any]:
    gen = next(r for r in results if "sent" in r)
    clients = [r for r in results if "activity" in r]
    activity = [v for r in clients for v in r["activity"]]
    pressed = dict(gen["presses"])
    button = [(at - pressed[s]) * 1000 for r in clients for s, at in r["alerts"] if s in pressed]
    report_worst_moments([(at - lat / 1000, lat) for r in clients for at, lat in zip(r["arrivals"], r["activity"],
                                                                                     strict=True)])
    return {
        "clients": sum(r["connected"] for r in clients),
        "api_workers_for_sockets": 1,
        "events_per_s_sent": round(gen["rate"], 1),
        "ingest_errors": gen["errors"],
        "activity_deliveries": len(activity),
        "event_to_dashboard_p50_ms": percentile(activity, 50),
        "event_to_dashboard_p99_ms": percentile(activity, 99),
        "button_presses": len(pressed),
        "button_alert_deliveries": len(button),
        "button_to_alert_p50_ms": percentile(button, 50) if detector else None,
        "button_to_alert_p99_ms": percentile(button, 99) if detector else None,
        "source": args.source,
        **({"ingest_procs": args.ingest_procs, "mqtt_messages_per_event": 1} if args.source == "mqtt" else {}),
        "watched_seniors": args.watched,
        "staff": args.staff,
        "homes": args.homes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--client-procs", type=int, default=2, help="processes that hold the client sockets")
    parser.add_argument("--rate", type=float, default=2000.0, help="sensor events per second (all homes)")
    parser.add_argument("--batch", type=int, default=10, help="events per ingest request (mqtt: per hub turn, "
                        "one message each)")
    parser.add_argument("--homes", type=int, default=2000)
    parser.add_argument("--staff", type=int, default=100, help="care workers (each client is a tab of one)")
    parser.add_argument("--watched", type=int, default=2000, help="distinct seniors watched by the clients")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--press-every", type=float, default=0.5, help="seconds between emergency buttons")
    parser.add_argument("--no-detector", dest="detector", action="store_false")
    parser.add_argument("--source", choices=["http", "mqtt", "bus"], default="http",
                        help="http: hubs' HTTP ingest (end to end); mqtt: hubs publish QoS 1 to a private Mosquitto, "
                             "`seniorsafe ingest` processes commit (the production path); bus: telemetry's live "
                             "messages straight on Redis (the gateway alone); buttons always go through an ingest "
                             "(MQTT with --source mqtt, else HTTP) and the detector")
    parser.add_argument("--ingest-procs", type=int, default=2, help="`seniorsafe ingest` processes (--source mqtt)")
    parser.add_argument("--inflight", type=int, default=16, help="concurrent ingest requests")
    args = parser.parse_args()
    name = f"ss_bench_rt_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        result = run(args, dsn, name)
    finally:
        drop_run(name, f"ssbench:{name}:")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
