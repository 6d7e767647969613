"""Every event is on the hub's disk (SQLite) from the moment it is sensed until the backend acknowledged it.

`seq` is the table's AUTOINCREMENT key: strictly increasing and never reused, even after rows are deleted or
the agent restarts, so the backend can deduplicate on (hub, seq)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sensor TEXT NOT NULL,
    ts TEXT NOT NULL,
    value REAL NOT NULL,
    battery INTEGER
);
"""


class Outbox:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()  # the agent's main thread writes; status readers may look from elsewhere
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def add_many(self, events: list[tuple[str, str, float, int | None]]) -> list[int]:
        """Store (sensor, ts, value, battery) events durably; return their seqs."""
        seqs = []
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for event in events:
                    cur = self.db.execute("INSERT INTO outbox (sensor, ts, value, battery) VALUES (?, ?, ?, ?)",
                                          event)
                    seqs.append(int(cur.lastrowid or 0))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return seqs

    def pending(self, after: int, limit: int) -> list[tuple[int, bytes]]:
        """(seq, JSON event) of unacknowledged events after `after`, oldest first."""
        with self.lock:
            rows = self.db.execute("SELECT seq, sensor, ts, value, battery FROM outbox WHERE seq > ? ORDER BY seq "
                                   "LIMIT ?", (after, limit)).fetchall()
        return [(seq, _encode(seq, sensor, ts, value, battery)) for seq, sensor, ts, value, battery in rows]

    def ack(self, seqs: list[int]) -> None:
        if seqs:
            with self.lock:
                self.db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])

    def count(self) -> int:
        with self.lock:
            return int(self.db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        with self.lock:
            self.db.close()


def _encode(seq: int, sensor: str, ts: str, value: float, battery: int | None) -> bytes:
    event: dict[str, object] = {"sensor": sensor, "ts": ts, "value": value, "seq": seq}
    if battery is not None:
        event["battery"] = battery
    return orjson.dumps(event)
