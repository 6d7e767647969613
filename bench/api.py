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
import socket
import subprocess
import sys
import time
import uuid
from typing import Any

import psycopg
from tqdm import tqdm

from seniorsafe.accounts.security import hash_password
from seniorsafe.migrate import upgrade

ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
                       baseline: bool = False) -> None:
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
            while time.perf_counter() < deadline:
                detail = ids and random.random() < 0.5
                url = f"{base}/api/v1/seniors/{random.choice(ids)}" if detail else f"{base}/api/v1/seniors?limit=50"
                if baseline:
                    url, detail = f"{base}/healthz", True
                start = time.perf_counter()
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


def client_process(base: str, tokens: list[str], seconds: float, clients: int, q: Any, baseline: bool = False) -> None:
    asyncio.run(_client_loop(base, tokens, seconds, clients, q, baseline))


def run_load(base: str, tokens: list[str], seconds: float, clients: int, label: str,
             baseline: bool = False) -> dict[str, Any]:
    q: Any = mp.Queue()
    proc = mp.Process(target=client_process, args=(base, tokens, seconds, clients, q, baseline))
    proc.start()
    with tqdm(total=int(seconds), desc=label, unit="s") as bar:
        while proc.is_alive() and bar.n < seconds:
            time.sleep(1)
            bar.update()
    result: dict[str, Any] = q.get()
    proc.join()
    return result


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seniors", type=int, default=1000)
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
        run_load(base, tokens, args.warm_up, args.clients, "warm-up")
        # The same clients against /healthz (no auth, no database) in the same run: a baseline for a noisy machine.
        baseline = run_load(base, tokens, max(args.seconds / 4, 3.0), args.clients, "baseline /healthz", baseline=True)
        result = run_load(base, tokens, args.seconds, args.clients, "load")
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
        }))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
