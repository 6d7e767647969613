"""Operations: structured JSON logs for every process, and Prometheus metrics of the whole installation.

`GET /metrics` on the api (any replica) exports what operators watch, read from the shared state so every
replica answers the same: ingest counters and dead letters (kept in Redis by every ingest process), the
detector's stream lag, open alerts and the oldest unacknowledged one, notification failures, hubs offline.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
import sys
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from sqlalchemy import text

from seniorsafe import collector
from seniorsafe.config import Settings, get_settings
from seniorsafe.deps import AppState
from seniorsafe.robots.service import check_outcome_counts
from seniorsafe.telemetry.live import stream_key

T = TypeVar("T")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"ts": round(record.created, 3), "level": record.levelname, "logger": record.name,
                                 "message": record.getMessage()}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: Settings, level: str = "INFO") -> None:
    """One log line per record: JSON when LOG_JSON is set, readable text otherwise."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_json else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def _line(name: str, value: float, labels: dict[str, str] | None = None) -> str:
    if labels:
        inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
        return f"{name}{{{inner}}} {value}"
    return f"{name} {value}"


async def _ingest_metrics(state: AppState) -> list[str]:
    raw = await state.bus.redis.hgetall(state.bus.key("metrics", "ingest"))
    lines = ["# TYPE seniorsafe_ingest_total counter"]
    for key, value in sorted(raw.items()):
        name = key.decode() if isinstance(key, bytes) else str(key)
        lines.append(_line("seniorsafe_ingest_total", float(value), {"what": name}))
    return lines


async def _stream_metrics(state: AppState) -> list[str]:
    lines = ["# TYPE seniorsafe_stream_length gauge", "# TYPE seniorsafe_stream_lag gauge",
             "# TYPE seniorsafe_stream_pending gauge"]
    key = stream_key(state.bus)
    if not await state.bus.redis.exists(key):
        return lines
    lines.append(_line("seniorsafe_stream_length", float(await state.bus.redis.xlen(key))))
    for group in await state.bus.redis.xinfo_groups(key):
        name = group["name"].decode() if isinstance(group["name"], bytes) else str(group["name"])
        lines.append(_line("seniorsafe_stream_pending", float(group.get("pending") or 0), {"group": name}))
        lag = group.get("lag")
        if lag is not None:
            lines.append(_line("seniorsafe_stream_lag", float(lag), {"group": name}))
    return lines


SQL_METRICS = {
    "seniorsafe_alerts_open": "SELECT severity::text, category, count(*) FROM alerts WHERE closed_at IS NULL "
                              "GROUP BY 1, 2",
    "seniorsafe_alert_unacknowledged_oldest_seconds": "SELECT coalesce(extract(epoch FROM now() - min(opened_at)), 0) "
                                                      "FROM alerts WHERE closed_at IS NULL AND acknowledged_at IS NULL",
    "seniorsafe_notification_deliveries": "SELECT status, count(*) FROM notification_deliveries GROUP BY 1",
    "seniorsafe_hubs": "SELECT connectivity::text, count(*) FROM hubs WHERE status = 'active' GROUP BY 1",
    "seniorsafe_alert_latency_seconds_p50_24h": "SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY "
                                               "(details->>'latency_s')::float), 0) FROM alert_events WHERE "
                                               "type = 'detected' AND at > now() - interval '24 hours'",
    "seniorsafe_alert_latency_seconds_p99_24h": "SELECT coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY "
                                               "(details->>'latency_s')::float), 0) FROM alert_events WHERE "
                                               "type = 'detected' AND at > now() - interval '24 hours'",
    "seniorsafe_dead_letters_24h": "SELECT count(*) FROM ingest_dead_letters WHERE received_at > now() - "
                                   "interval '24 hours'",
}


async def _database_metrics(state: AppState) -> list[str]:
    lines: list[str] = []
    async with state.db.engine.connect() as conn:
        for name, sql in SQL_METRICS.items():
            lines.append(f"# TYPE {name} gauge")
            for row in (await conn.execute(text(sql))).all():
                *labels, value = row
                keys = {"seniorsafe_alerts_open": ("severity", "category"),
                        "seniorsafe_notification_deliveries": ("status",),
                        "seniorsafe_hubs": ("connectivity",)}.get(name, ())
                lines.append(_line(name, float(value or 0), dict(zip(keys, map(str, labels), strict=True))))
    return lines


async def _robot_metrics(state: AppState) -> list[str]:
    """The robot's safety checks of the last 7 days by why it went and what it found: responded / all early checks
    is the answer rate the early check's page count depends on (docs/robot.md)."""
    async with state.db.sessions() as session:
        rows = await check_outcome_counts(session, None, 7)
    return ["# TYPE seniorsafe_robot_checks_7d gauge",
            *(_line("seniorsafe_robot_checks_7d", n, {"source": src, "outcome": out}) for src, out, n in rows)]


async def render_metrics(state: AppState) -> str:
    started = time.perf_counter()
    lines = [*await _ingest_metrics(state), *await _stream_metrics(state), *await _database_metrics(state),
             *await _robot_metrics(state)]
    lines += ["# TYPE seniorsafe_metrics_scrape_seconds gauge",
              _line("seniorsafe_metrics_scrape_seconds", round(time.perf_counter() - started, 6))]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- a metrics endpoint on every worker process


def _process_lines(service: str, started: float) -> list[str]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    try:
        rss_pages = int(open("/proc/self/statm").read().split()[1])  # noqa: SIM115 - procfs, tiny
        rss = rss_pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        rss = 0
    labels = {"service": service}
    return ["# TYPE seniorsafe_service_up gauge", _line("seniorsafe_service_up", 1, labels),
            "# TYPE process_cpu_seconds_total counter",
            _line("process_cpu_seconds_total", round(usage.ru_utime + usage.ru_stime, 3), labels),
            "# TYPE process_resident_memory_bytes gauge", _line("process_resident_memory_bytes", rss, labels),
            "# TYPE process_start_time_seconds gauge", _line("process_start_time_seconds", round(started, 3), labels)]


async def _serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: AppState, service: str,
                     started: float) -> None:
    try:
        request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        if not request.startswith(b"GET /metrics"):
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        else:
            body = ("\n".join(_process_lines(service, started)) + "\n" + await render_metrics(state)).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
    except (TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
        logging.getLogger(__name__).debug("metrics request dropped: %s", exc)
    finally:
        writer.close()


async def _run_with_metrics(main: Coroutine[Any, Any, T], service: str) -> T:
    settings = get_settings()
    if not settings.metrics_port:
        return await main
    from seniorsafe.app import build_state

    state, started = build_state(settings), time.time()
    server = await asyncio.start_server(lambda r, w: _serve_one(r, w, state, service, started),
                                        settings.metrics_host, settings.metrics_port)
    logging.getLogger(__name__).info("%s metrics on http://%s:%s/metrics", service, settings.metrics_host,
                                     settings.metrics_port)
    try:
        return await main
    finally:
        server.close()
        await state.bus.close()
        await state.db.dispose()


def run_service(main: Coroutine[Any, Any, T], service: str) -> T:
    """asyncio.run for a worker process, with its /metrics endpoint when METRICS_PORT is set."""
    collector.settle()
    return asyncio.run(_run_with_metrics(main, service))
