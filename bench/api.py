"""API read benchmark: 1,000 seniors in 2 organisations, 50 concurrent clients, senior list and detail.

Starts its own database and one api worker process, loads the data, then runs the load from a separate
process (the client must not share the server's core). Prints progress and one final JSON line:
{"rps": ..., "p50_ms": ..., "p99_ms": ..., ...}. Target: >= 1,000 req/s with p99 <= 50 ms on one worker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

import psycopg
from tqdm import tqdm

from cleanup import drop_run
from seniorsafe.accounts.security import hash_password
from seniorsafe.migrate import upgrade
from seniorsafe.processes import free_port

ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-password-1"


def load_data(dsn: str, seniors_per_org: int) -> list[str]:
    """Two organisations with an admin and 10 staff each; every senior assigned to one staff member."""
    password_hash = hash_password(PASSWORD)
    emails: list[str] = []
    risks = ["safe"] * 6 + ["caution"] * 2 + ["danger", "unknown"]
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for org_index in range(2):
            org_id = uuid.uuid4()
            cur.execute("INSERT INTO organisations (id, name, settings) VALUES (%s, %s, '{}')",
                        (org_id, f"Bench org {org_index}"))
            staff_ids = []
            for role, count in (("admin", 1), ("staff", 10)):
                for i in range(count):
                    user_id, email = uuid.uuid4(), f"{role}{i}-org{org_index}@bench.example.org"
                    cur.execute("INSERT INTO users (id, org_id, email, name, role, password_hash, is_active) "
                                "VALUES (%s, %s, %s, %s, %s, %s, true)",
                                (user_id, org_id, email, email, role, password_hash))
                    emails.append(email)
                    if role == "staff":
                        staff_ids.append(user_id)
            with cur.copy("COPY seniors (id, org_id, name, birth_date, sex, address, health_conditions, medications,"
                          " video_consent, risk_level, settings) FROM STDIN") as copy:
                senior_ids = []
                for i in range(seniors_per_org):
                    sid = uuid.uuid4()
                    senior_ids.append(sid)
                    copy.write_row((sid, org_id, f"Senior {org_index}-{i:04d}", "1940-05-01", "female",
                                    f"{i} Bench Street", '["hypertension"]', "[]", False, random.choice(risks), "{}"))
            with cur.copy("COPY staff_assignments (senior_id, user_id, is_primary) FROM STDIN") as copy:
                for i, sid in enumerate(senior_ids):
                    copy.write_row((sid, staff_ids[i % len(staff_ids)], True))
            with cur.copy("COPY guardians (id, senior_id, name, relation, notification_preferences, priority)"
                          " FROM STDIN") as copy:
                for sid in senior_ids:
                    copy.write_row((uuid.uuid4(), sid, "Family", "son", '{"channels": ["sms"]}', 1))
        conn.commit()
        cur.execute("ANALYZE")
    return emails


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "seniorsafe.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"], env=env)


async def _wait_ready(base: str) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        for _ in range(150):
            try:
                async with http.get(f"{base}/readyz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("api did not become ready")


async def _login_all(base: str, emails: list[str]) -> list[str]:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        tokens = []
        for email in emails:
            async with http.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}) as r:
                body = await r.json()
                if r.status != 200:
                    raise RuntimeError(f"login of {email} failed: {body}")
                tokens.append(body["access_token"])
        return tokens


async def _client_loop(base: str, tokens: list[str], seconds: float, clients: int, q: Any,
                       baseline: bool = False, rate: float = 0.0) -> None:
    """Closed loop (rate 0: each client sends its next request when the last one is answered), or open loop at
    `rate` requests/s in total: each client keeps its own schedule, and latency counts from the scheduled time,
    so a server that falls behind is charged for the wait (no coordinated omission)."""
    import aiohttp

    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {"list": [], "detail": []}
    errors = 0
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as http:
        deadline = time.perf_counter() + seconds

        async def one_client(i: int) -> None:
            nonlocal errors
            headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
            ids: list[str] = []
            interval = clients / rate if rate else 0.0
            scheduled = time.perf_counter() + (random.random() * interval)
            while time.perf_counter() < deadline:
                if interval:
                    await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
                detail = ids and random.random() < 0.5
                url = f"{base}/api/v1/seniors/{random.choice(ids)}" if detail else f"{base}/api/v1/seniors?limit=50"
                if baseline:
                    url, detail = f"{base}/healthz", True
                start = scheduled if interval else time.perf_counter()
                scheduled += interval
                async with http.get(url, headers=headers) as r:
                    body = await r.read()
                    latencies.append(time.perf_counter() - start)
                    by_kind["detail" if detail else "list"].append(latencies[-1])
                    if r.status != 200:
                        errors += 1
                    elif not detail:
                        ids = [item["id"] for item in json.loads(body)["items"]]

        await asyncio.gather(*(one_client(i) for i in range(clients)))
    q.put({"latencies": latencies, "errors": errors, "by_kind": by_kind})


def client_process(base: str, tokens: list[str], seconds: float, clients: int, q: Any, baseline: bool = False,
                   rate: float = 0.0) -> None:
    asyncio.run(_client_loop(base, tokens, seconds, clients, q, baseline, rate))


def run_load(base: str, tokens: list[str], seconds: float, clients: int, label: str,
             baseline: bool = False, rate: float = 0.0) -> dict[str, Any]:
    q: Any = mp.Queue()
    proc = mp.Process(target=client_process, args=(base, tokens, seconds, clients, q, baseline, rate))
    proc.start()
    with tqdm(total=int(seconds), desc=label, unit="s") as bar:
        while proc.is_alive() and bar.n < seconds:
            time.sleep(1)
            bar.update()
    result: dict[str, Any] = q.get()
    proc.join()
    return result


async def _first_pages(base: str, tokens: list[str]) -> list[list[str]]:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        pages = []
        for token in tokens:
            async with http.get(f"{base}/api/v1/seniors?limit=50", headers={"Authorization": f"Bearer {token}"}) as r:
                pages.append([item["id"] for item in (await r.json())["items"]])
        return pages


WRK_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "api_wrk.lua")
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def run_wrk(base: str, plan_file: str, seconds: float, clients: int, label: str,
            baseline: bool = False) -> dict[str, Any]:
    """The same mix driven by wrk (C, one thread): the load generator takes far less of the 2 cores."""
    env = {**os.environ, "WRK_BASELINE": "1" if baseline else "0"}
    cmd = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency", "-s", WRK_SCRIPT, base,
           "--", plan_file]
    with tqdm(total=1, desc=label, unit="run") as bar:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        bar.update()
    def ms(text: str) -> float:
        value = text.strip()
        unit = next(u for u in ("us", "ms", "s") if value.endswith(u))
        return float(value[:-len(unit)]) * UNITS[unit]
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    errors = 0
    for line in out.splitlines():
        if "Non-2xx" in line or "Socket errors" in line:
            errors += sum(int(x.strip(",")) for x in line.split() if x.strip(",").isdigit())
    return {"rps": float(lines["Requests/sec:"][1]), "p50_ms": ms(lines["50%"][1]), "p99_ms": ms(lines["99%"][1]),
            "requests": int(next(line.split()[0] for line in out.splitlines() if "requests in" in line)),
            "errors": errors}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seniors", type=int, default=1000)
    parser.add_argument("--client", choices=["wrk", "aiohttp"], default="aiohttp",
                        help="load generator: the Python aiohttp client (closed loop, then open loop at --rate) or wrk "
                             "(C, closed loop only; Debian package)")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests/s offered in the open-loop run")
    parser.add_argument("--warm-up", type=float, default=5.0,
                        help="seconds of the same load before measuring (fills the read cache: ~1,100 pages here)")
    args = parser.parse_args()

    name = f"ss_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    server = None
    try:
        with tqdm(total=4, desc="setup", unit="step") as bar:
            upgrade(dsn.replace("postgresql://", "postgresql+asyncpg://"))
            bar.update()
            emails = load_data(dsn, args.seniors // 2)
            bar.update()
            port = free_port()
            env = {**os.environ, "DATABASE_URL": dsn.replace("postgresql://", "postgresql+asyncpg://"),
                   "REDIS_PREFIX": f"ssbench:{name}:", "JWT_SECRET": uuid.uuid4().hex * 2,
                   "LOGIN_IP_MAX_ATTEMPTS": "100000", "ENVIRONMENT": "test"}
            server = start_server(env, port)
            base = f"http://127.0.0.1:{port}"
            asyncio.run(_wait_ready(base))
            bar.update()
            tokens = asyncio.run(_login_all(base, emails))
            bar.update()
        if args.client == "wrk":
            print(json.dumps(wrk_figures(base, tokens, args)))
            return
        run_load(base, tokens, args.warm_up, args.clients, "warm-up")
        # The same clients against /healthz (no auth, no database) in the same run: a baseline for a noisy machine.
        baseline = run_load(base, tokens, max(args.seconds / 4, 3.0), args.clients, "baseline /healthz", baseline=True)
        result = run_load(base, tokens, args.seconds, args.clients, "load")
        at_rate = run_load(base, tokens, args.seconds, args.clients, f"load at {args.rate:g}/s", rate=args.rate)
        lat = result["latencies"]
        baseline_rps = len(baseline["latencies"]) / max(args.seconds / 4, 3.0)
        rps = len(lat) / args.seconds
        print(json.dumps({
            "rps": round(rps, 1), "p50_ms": round(percentile(lat, 50) * 1000, 2),
            "p99_ms": round(percentile(lat, 99) * 1000, 2), "requests": len(lat), "errors": result["errors"],
            **{f"{kind}_p99_ms": round(percentile(values, 99) * 1000, 2)
               for kind, values in result["by_kind"].items() if values},
            "clients": args.clients, "seniors": args.seniors, "seconds": args.seconds, "warm_up_s": args.warm_up,
            "workers": 1, "baseline_healthz_rps": round(baseline_rps, 1),
            "baseline_healthz_p99_ms": round(percentile(baseline["latencies"], 99) * 1000, 2),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "ratio_vs_healthz": round(rps / baseline_rps, 3) if baseline_rps else None,
            # the target's question: at 1,000 requests/s offered by the same 50 clients, how slow is the slowest 1 %
            "at_rate_rps_offered": args.rate, "at_rate_rps_served": round(len(at_rate["latencies"]) / args.seconds, 1),
            "at_rate_p50_ms": round(percentile(at_rate["latencies"], 50) * 1000, 2),
            "at_rate_p99_ms": round(percentile(at_rate["latencies"], 99) * 1000, 2),
            "at_rate_errors": at_rate["errors"],
        }))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        drop_run(name, f"ssbench:{name}:")


def wrk_figures(base: str, tokens: list[str], args: argparse.Namespace) -> dict[str, Any]:
    pages = asyncio.run(_first_pages(base, tokens))
    with tempfile.NamedTemporaryFile("w", suffix=".plan", delete=False) as plan:
        for token, ids in zip(tokens, pages, strict=True):
            plan.write(" ".join([token, *ids]) + "\n")
    try:
        run_wrk(base, plan.name, args.warm_up, args.clients, "warm-up")
        baseline = run_wrk(base, plan.name, max(args.seconds / 4, 3.0), args.clients, "baseline /healthz", True)
        result = run_wrk(base, plan.name, args.seconds, args.clients, "load")
    finally:
        os.unlink(plan.name)
    return {**result, "client": "wrk", "clients": args.clients, "seniors": args.seniors, "seconds": args.seconds,
            "warm_up_s": args.warm_up, "workers": 1, "baseline_healthz_rps": baseline["rps"],
            "baseline_healthz_p99_ms": baseline["p99_ms"], "load_average_1m": round(os.getloadavg()[0], 2),
            "ratio_vs_healthz": round(result["rps"] / baseline["rps"], 3) if baseline["rps"] else None}


if __name__ == "__main__":
    main()
