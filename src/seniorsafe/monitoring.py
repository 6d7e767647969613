"""Operations: structured JSON logs for every process, and Prometheus metrics of the whole installation.

`GET /metrics` on the api (any replica) exports what operators watch, read from the shared state so every
replica answers the same: ingest counters and dead letters (kept in Redis by every ingest process), the
detector's stream lag, open alerts and the oldest unacknowledged one, notification failures, hubs offline.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from sqlalchemy import text

from seniorsafe.config import Settings
from seniorsafe.deps import AppState
from seniorsafe.telemetry.live import stream_key


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


async def render_metrics(state: AppState) -> str:
    started = time.perf_counter()
    lines = [*await _ingest_metrics(state), *await _stream_metrics(state), *await _database_metrics(state)]
    lines += ["# TYPE seniorsafe_metrics_scrape_seconds gauge",
              _line("seniorsafe_metrics_scrape_seconds", round(time.perf_counter() - started, 6))]
    return "\n".join(lines) + "\n"
