"""After commit: the detector's Redis Stream, the live state cache and the per-senior live channel.

Stream `Bus.key("stream", "events")`, one entry per committed event, fields (all strings):
  hub, seq, sensor, sensor_pk, kind, room, home, senior, org, ts (epoch seconds, UTC, with fraction),
  value, late ("1" = older than the sensor's latest state or delivered long after it happened),
  redelivered ("1" = may already be on the stream: consumers dedupe by (hub, seq)).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from seniorsafe.bus import Bus

STREAM_MAXLEN = 2_000_000  # approximate; the database is the full history

# Set a sensor's cached state only when the new reading is newer (several ingest processes race).
STATE_CAS = """
for i = 1, #KEYS do
  local field = ARGV[3 * i - 2]
  local ts = tonumber(ARGV[3 * i - 1])
  local cur = redis.call('HGET', KEYS[i], field)
  if (not cur) or tonumber(cjson.decode(cur)['ts']) < ts then
    redis.call('HSET', KEYS[i], field, ARGV[3 * i])
  end
end
return 0
"""


def stream_key(bus: Bus) -> str:
    return bus.key("stream", "events")


def state_key(bus: Bus, home_id: object) -> str:
    return bus.key("state", "home", home_id)


def activity_channel(senior_id: object) -> str:
    return f"senior:{senior_id}:activity"


def health_channel(org_id: object) -> str:
    return f"org:{org_id}:device_health"


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def _flat(fields: dict[Any, Any]) -> list[Any]:
    return [x for pair in fields.items() for x in pair]


class LiveFanout:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._cas = bus.redis.register_script(STATE_CAS)

    async def emit(self, stream: list[dict[Any, Any]], states: list[tuple[str, str, float, bytes]],
                   live: list[tuple[str, dict[str, Any]]], metrics: dict[str, int]) -> None:
        """One pipelined round trip: stream entries, live notifications, metric counters; then the state CAS."""
        skey = stream_key(self.bus)
        xadd = ("XADD", skey, "MAXLEN", "~", STREAM_MAXLEN, "*")
        commands: list[tuple[Any, ...]] = [(*xadd, *_flat(fields)) for fields in stream]
        commands += [("PUBLISH", self.bus.key("pub", channel), orjson.dumps(message)) for channel, message in live]
        mkey = self.bus.key("metrics", "ingest")
        commands += [("HINCRBY", mkey, name, count) for name, count in metrics.items() if count]
        await self.bus.pipelined(commands)
        if states:
            keys = [k for k, _, _, _ in states]
            args: list[Any] = []
            for _, field, ts, state in states:
                args.extend((field, repr(ts), state))
            await self._cas(keys=keys, args=args)

    async def publish_health(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        for channel, payload in items:
            await self.bus.publish(channel, payload)
