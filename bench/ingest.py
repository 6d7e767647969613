"""Ingest benchmark: N simulated hubs publish one event per MQTT message (QoS 1) for a fixed time through a private
Mosquitto into K `seniorsafe ingest` processes; then waits for the backlog to drain, checks stored == published and
measures the raw COPY ceiling.

    .venv/bin/python bench/ingest.py --suite                                  # max-rate run + 2,000/s latency run
    .venv/bin/python bench/ingest.py --hubs 50 --duration 10 --rate 10000 --ingest-procs 2 --pub-procs 2
    .venv/bin/python bench/ingest.py --hubs 20 --duration 10 --rate 2000 --ingest-procs 1   # latency at 2,000/s

Publishers are bench/mqtt_load.py's minimal MQTT 3.1.1 client on raw sockets (pre-built packets, a bounded window
of unacknowledged PUBLISHes per connection) so that the measurement is about ingest, not about the publishers.
They share the machine's 2 cores with Mosquitto, PostgreSQL, Redis and the ingest processes: the JSON reports the
CPU each part used (`cpu_*`, in % of one core) and the publish rate actually reached.

Counting: `backlog_at_end` = published − stored when the publishers stopped (how far behind the ingest was);
the bench then waits (up to --drain-timeout) until every published event is stored; `lost` = published −
distinct stored after that wait, `drain_s` = how long it took. One JSON line per run: events_per_s (stream
entries / first→last XADD), publish_per_s, lost, backlog_at_end, duplicated, p50_ms, p99_ms (publish → committed
and on the stream), copy_ceiling_per_s; with --suite a last line {"suite": [...]} holds both runs.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
import redis

from cleanup import create_database, drop_run, insert_home
from mqtt_load import ROOT, MqttHub, connect_all, ingest_env, start_broker, start_ingest, stop_all, wait_acked
from seniorsafe.telemetry.broker import LocalBroker

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SENSOR_SPECS = (("pir-living", "motion", "living"), ("pir-kitchen", "motion", "kitchen"),
                ("pir-bedroom", "motion", "bedroom"), ("bed", "presence", "bedroom"),
                ("door-front", "door", "entrance"), ("fridge", "contact", "kitchen"))
SENSORS = tuple(sensor_id for sensor_id, _, _ in SENSOR_SPECS)


# ---------------------------------------------------------------- publisher (bench/mqtt_load.py's minimal client)


class Hub(MqttHub):
    """A hub that sends as many events as its window of unacknowledged PUBLISHes allows."""

    def __init__(self, hub_id: str, secret: str, port: int, window: int) -> None:
        super().__init__(hub_id, secret, port, ROOT)
        self.window = window
        self.seq = 0

    def send(self, count: int) -> int:
        count = min(count, self.window - self.inflight)
        if count <= 0:
            return 0
        now = datetime.now(UTC).isoformat()
        payloads = []
        for _ in range(count):
            self.seq += 1
            payloads.append(b'{"sensor":"%s","ts":"%s","value":%d,"seq":%d}' % (
                SENSORS[self.seq % len(SENSORS)].encode(), now.encode(), self.seq & 1, self.seq))
        return self.publish(payloads)


async def publisher_main(hubs: list[tuple[str, str]], port: int, rate: float, duration: float, window: int,
                         out: Any) -> None:
    conns = [Hub(h, s, port, window) for h, s in hubs]
    await connect_all(conns)
    start = time.monotonic()
    sent = 0
    turn = 0
    while (elapsed := time.monotonic() - start) < duration:
        # pace on the clock: whatever is due since the start, spread over the hubs (each bounded by its window)
        due = int(rate * elapsed) - sent if rate > 0 else window * len(conns)
        for _ in range(len(conns)):
            if due <= 0:
                break
            c = conns[turn % len(conns)]
            turn += 1
            n = c.send(min(due, max(1, due // len(conns) + 1)))
            sent += n
            due -= n
        await asyncio.sleep(0.002)
    sent_for = time.monotonic() - start
    await wait_acked(conns, 30.0)  # the last PUBACKs
    out.put(({c.hub_id: (c.seq, c.acked) for c in conns}, sent_for))
    for c in conns:
        c.close()


def publisher_process(hubs: list[tuple[str, str]], port: int, rate: float, duration: float, window: int,
                      out: Any) -> None:
    asyncio.run(publisher_main(hubs, port, rate, duration, window, out))


# ---------------------------------------------------------------- set-up


def seed(libpq: str, count: int) -> list[tuple[str, str]]:
    from seniorsafe.accounts.security import token_digest

    hubs = []
    with psycopg.connect(libpq, autocommit=True) as conn:
        org = uuid.uuid4()
        conn.execute("INSERT INTO organisations (id, name, settings) VALUES (%s, 'bench', '{}')", (org,))
        for i in range(count):
            hub_id, secret = f"bench-{i:04d}", uuid.uuid4().hex
            insert_home(conn, org, f"s{i}", hub_id, token_digest(secret), "Asia/Seoul", SENSOR_SPECS)
            hubs.append((hub_id, secret))
    return hubs


# ---------------------------------------------------------------- measurement


def count_distinct(libpq: str) -> tuple[int, int]:
    """(rows, distinct (hub, seq)) in sensor_events."""
    with psycopg.connect(libpq, autocommit=True) as conn:
        row = conn.execute("SELECT count(*), count(DISTINCT (hub_id, seq)) FROM sensor_events").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def wait_stored(libpq: str, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    stored = 0
    with psycopg.connect(libpq, autocommit=True) as conn:
        while time.monotonic() < deadline:
            stored = int(conn.execute("SELECT count(*) FROM sensor_events").fetchone()[0])  # type: ignore[index]
            if stored >= expected:
                break
            time.sleep(0.2)
    return stored


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (Linux /proc), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    return float(sum(parts) - idle), float(sum(parts))


def latencies(r: Any, key: str) -> tuple[list[float], int, float, float]:
    """Publish → on the stream, from each entry's id (Redis time at XADD) and the event's ts; duplicates."""
    lat: list[float] = []
    seen: set[tuple[bytes, bytes]] = set()
    dup = 0
    first = last = 0.0
    cursor = "-"
    while True:
        entries = r.xrange(key, min=cursor, count=50_000)
        if cursor != "-" and entries:
            entries = entries[1:]
        if not entries:
            break
        for entry_id, fields in entries:
            ident = (fields[b"hub"], fields[b"seq"])
            if ident in seen:
                dup += 1
                continue
            seen.add(ident)
            at = int(entry_id.split(b"-")[0]) / 1000
            first = at if not first else min(first, at)
            last = max(last, at)
            lat.append((at - float(fields[b"ts"])) * 1000)
        cursor = entries[-1][0].decode()
    return lat, dup, first, last


def copy_ceiling(libpq: str, rows: int) -> float:
    """psycopg binary COPY of the same rows into a plain copy of sensor_events (no index checks, no conflicts)."""
    with psycopg.connect(libpq) as conn:
        conn.execute("CREATE UNLOGGED TABLE copy_ceiling (LIKE sensor_events INCLUDING DEFAULTS)")
        data = conn.execute("SELECT ts, hub_id, seq, sensor_pk, home_id, kind::text, room::text, value, late "
                            "FROM sensor_events LIMIT %s", (rows,)).fetchall()
        if not data:
            return 0.0
        while len(data) < rows:
            data += data[: rows - len(data)]
        start = time.perf_counter()
        with conn.cursor().copy("COPY copy_ceiling (ts, hub_id, seq, sensor_pk, home_id, kind, room, value, late) "
                                "FROM STDIN (FORMAT BINARY)") as copy:
            # enum columns take their label as binary input (enum_recv), so text dumps work for them
            copy.set_types(["timestamptz", "varchar", "int8", "int8", "uuid", "text", "text", "float8", "bool"])
            for row in data:
                copy.write_row(row)
        conn.commit()
        return len(data) / (time.perf_counter() - start)


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * p))], 1)


def publish(hubs: list[tuple[str, str]], port: int, args: argparse.Namespace, rate: float, duration: float,
            on_tick: Any) -> tuple[dict[str, tuple[int, int]], float, list[int]]:
    queue: Any = mp.Queue()
    groups = [hubs[i::args.pub_procs] for i in range(args.pub_procs)]
    pubs = [mp.Process(target=publisher_process, args=(g, port, rate / args.pub_procs, duration, args.window,
                                                       queue)) for g in groups]
    for p in pubs:
        p.start()
    pids = [p.pid for p in pubs if p.pid]
    cpu = 0.0
    t0 = time.monotonic()
    while any(p.is_alive() for p in pubs) and time.monotonic() - t0 < duration + 40:
        cpu = max(cpu, cpu_seconds(pids))
        time.sleep(0.5)
        on_tick(time.monotonic() - t0)
    results: dict[str, tuple[int, int]] = {}
    sent_for = 0.0
    for _ in pubs:
        part, seconds = queue.get(timeout=60)
        results.update(part)
        sent_for = max(sent_for, seconds)
    for p in pubs:
        p.join()
    return results, sent_for, [round(cpu / max(sent_for, 1e-9) * 100)]


def run_once(args: argparse.Namespace, rate: float, duration: float) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    name = f"ss_bench_{run}"
    tmp = Path(tempfile.mkdtemp(prefix="ss-bench-"))
    url = create_database(name)
    libpq = url.replace("postgresql+asyncpg://", "postgresql://")
    prefix = f"ssbench:{run}:"
    r = redis.Redis.from_url(REDIS_URL)
    procs: list[subprocess.Popen[bytes]] = []
    broker: LocalBroker | None = None
    try:
        hubs = seed(libpq, args.hubs)
        broker = start_broker(tmp / "mosquitto", hubs)
        env = ingest_env({**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix},
                         broker)
        procs = start_ingest(env, args.ingest_procs, tmp)
        load = os.getloadavg()[0]
        print(f"bench: {args.hubs} hubs, {duration:g} s, rate {rate or 'max'}, {args.ingest_procs} ingest + "
              f"{args.pub_procs} publisher processes (load average before: {load:.2f}; logs in {tmp})", flush=True)
        skey = prefix + "stream:events"
        ingest_pids = [p.pid for p in procs]
        broker_pid = [broker.proc.pid] if broker.proc else []
        cpu0 = (cpu_seconds(ingest_pids), cpu_seconds(broker_pid), machine_busy(), time.monotonic())
        last_print = [0.0]

        def tick(t: float) -> None:
            if t - last_print[0] >= 2.0:
                last_print[0] = t
                print(f"  t={t:5.1f}s on stream: {r.xlen(skey)}", flush=True)

        results, sent_for, pub_cpu = publish(hubs, broker.port, args, rate, duration, tick)
        wall = time.monotonic() - cpu0[3]
        busy = machine_busy()
        cpu = {"cpu_ingest_pct": round((cpu_seconds(ingest_pids) - cpu0[0]) / wall * 100),
               "cpu_broker_pct": round((cpu_seconds(broker_pid) - cpu0[1]) / wall * 100),
               "cpu_publishers_pct": pub_cpu[0],
               "cpu_machine_pct": round((busy[0] - cpu0[2][0]) / max(busy[1] - cpu0[2][1], 1) * 100
                                        * (os.cpu_count() or 1))}
        published = sum(seq for seq, _ in results.values())
        acked = sum(a for _, a in results.values())
        backlog = published - count_distinct(libpq)[1]
        drain0 = time.monotonic()
        wait_stored(libpq, published, args.drain_timeout)
        drain = time.monotonic() - drain0
        stored, distinct = count_distinct(libpq)
        lat, dup, first, last = latencies(r, skey)
        ceiling = copy_ceiling(libpq, min(stored, 500_000))
        span = max(last - first, 1e-9)
        print(f"published {published} (acked by broker {acked}) in {sent_for:.1f} s, stored {stored}, "
              f"backlog at end {backlog}, drained in {drain:.1f} s, stream duplicates {dup}", flush=True)
        return {
            "events_per_s": round(len(lat) / span), "publish_per_s": round(published / max(sent_for, 1e-9)),
            "published": published, "stored": stored, "lost": published - distinct, "backlog_at_end": backlog,
            "drain_s": round(drain, 1), "duplicated": stored - distinct, "stream_redelivered": dup,
            "p50_ms": pct(lat, 0.50), "p99_ms": pct(lat, 0.99), "max_ms": pct(lat, 1.0),
            "copy_ceiling_per_s": round(ceiling), "hubs": args.hubs, "rate_target": rate,
            "ingest_procs": args.ingest_procs, "pub_procs": args.pub_procs, "duration_s": duration,
            "load_before": round(load, 2), **cpu}
    finally:
        stop_all(procs)
        if broker is not None:
            broker.stop()
        drop_run(name, prefix)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hubs", type=int, default=50)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=0.0, help="target events/s in total (0 = as fast as possible)")
    ap.add_argument("--ingest-procs", type=int, default=2, help="ingest processes sharing the subscription")
    ap.add_argument("--pub-procs", type=int, default=2)
    ap.add_argument("--window", type=int, default=200, help="unacknowledged PUBLISHes per hub connection")
    ap.add_argument("--drain-timeout", type=float, default=120.0, help="seconds to wait for the backlog to drain")
    ap.add_argument("--suite", action="store_true", help="two runs: --rate 10000 (or --rate if given) for "
                                                         "--duration, then 2,000/s for --duration")
    args = ap.parse_args()
    if not args.suite:
        print(orjson.dumps(run_once(args, args.rate, args.duration)).decode(), flush=True)
        return
    runs = []
    for rate in (args.rate or 10_000.0, 2_000.0):
        runs.append(run_once(args, rate, args.duration))
        print(orjson.dumps(runs[-1]).decode(), flush=True)
    print(orjson.dumps({"suite": runs}).decode(), flush=True)


if __name__ == "__main__":
    main()
