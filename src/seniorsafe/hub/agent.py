"""The hub agent: sensor sources → SQLite outbox → backend broker (QoS 1), deleting an event only on PUBACK.

Threads: paho's network threads (backend, local Zigbee2MQTT/robot broker) and the stdin reader only put things
on queues; one main thread owns the outbox and decides what to send:
- live: one event per message as soon as it is sensed;
- backlog (more than `backlog_batch` events waiting, e.g. after an outage): batches of events per message, in
  seq order, at most `backlog_rate` messages per second, at most `inflight` unacknowledged.
After a reconnect everything unacknowledged is sent again from the oldest: the backend deduplicates on seq.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt

from seniorsafe.hub.config import HubConfig
from seniorsafe.hub.outbox import Outbox
from seniorsafe.hub.sources import RobotRelay, start_stdin, start_zigbee

log = logging.getLogger(__name__)

Reading = tuple[str, str, float, int | None]  # sensor, ts (RFC 3339), value, battery


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class HubAgent:
    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.outbox = Outbox(config.data_dir / "outbox.sqlite3")
        self.readings: queue.SimpleQueue[Reading] = queue.SimpleQueue()
        self.acks: queue.SimpleQueue[tuple[int, int, bool]] = queue.SimpleQueue()
        self.generation = 0
        self.connected = threading.Event()
        self.in_flight: dict[int, list[int]] = {}
        self.last_sent = 0
        self.sent_generation = -1
        self.stats = {"sent": 0, "acked": 0}
        self._tokens = 0.0
        self._token_at = time.monotonic()
        self._last_heartbeat = 0.0
        self._started = time.monotonic()
        self.robot: RobotRelay | None = None
        self.client = self._make_client()

    # ------------------------------------------------------------ input

    def record(self, sensor: str, value: float | bool, ts: str | None = None, battery: int | None = None) -> None:
        """Thread-safe: a source sensed something."""
        self.readings.put((sensor, ts or now_rfc3339(), float(value), battery))

    # ------------------------------------------------------------ backend connection (paho thread)

    def _make_client(self) -> mqtt.Client:
        c = self.config
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hub-{c.hub_id}",
                             protocol=mqtt.MQTTProtocolVersion.MQTTv5)
        client.username_pw_set(c.hub_id, c.secret)
        client.will_set(c.topic("state"), orjson.dumps({"state": "offline"}), qos=1, retain=True)
        if c.tls:
            client.tls_set()
        client.max_inflight_messages_set(c.inflight + 10)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("backend refused the hub's connection: %s", reason)
            return
        self.generation += 1
        client.publish(self.config.topic("state"), orjson.dumps({"state": "online", "ts": now_rfc3339()}), qos=1,
                       retain=True)
        client.subscribe(self.config.topic("robot/commands"), qos=1)
        self.connected.set()
        log.info("connected to the backend broker")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connected.clear()
        log.warning("lost the backend broker: %s", reason)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        self.acks.put((self.generation, mid, not reason.is_failure))

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic.endswith("/robot/commands") and self.robot is not None:
            self.robot.to_robot(bytes(msg.payload))

    def publish_upstream(self, channel: str, payload: bytes) -> None:
        """For relays: publish under this hub's prefix (not through the outbox)."""
        self.client.publish(self.config.topic(channel), payload, qos=1)

    # ------------------------------------------------------------ main thread

    def start(self) -> None:
        c = self.config
        self.client.connect_async(c.broker_host, c.broker_port, keepalive=30, clean_start=True)
        self.client.loop_start()
        if c.zigbee:
            start_zigbee(c.zigbee, self.record)
        if c.robot:
            self.robot = RobotRelay(c.robot, self.publish_upstream)
        if c.stdin:
            start_stdin(sys.stdin, self.record)

    def run(self, stop: threading.Event) -> None:
        self.start()
        try:
            while not stop.is_set():
                self.step()
                stop.wait(0.005)
        finally:
            self.close()

    def step(self) -> None:
        self._store_readings()
        self._apply_acks()
        if self.connected.is_set():
            if self.sent_generation != self.generation:  # (re)connected: resend all unacknowledged, in order
                self.sent_generation, self.last_sent = self.generation, 0
                self.in_flight.clear()
            self._send()
            self._heartbeat()

    def _store_readings(self) -> None:
        batch: list[Reading] = []
        while len(batch) < 5000:
            try:
                batch.append(self.readings.get_nowait())
            except queue.Empty:
                break
        if batch:
            self.outbox.add_many(batch)

    def _apply_acks(self) -> None:
        done: list[int] = []
        while True:
            try:
                generation, mid, ok = self.acks.get_nowait()
            except queue.Empty:
                break
            seqs = self.in_flight.pop(mid, None) if generation == self.generation else None
            if seqs and ok:
                done.extend(seqs)
            elif seqs:
                log.error("backend refused events %d..%d (will retry after reconnecting)", seqs[0], seqs[-1])
        if done:
            self.outbox.ack(done)
            self.stats["acked"] += len(done)

    def _send(self) -> None:
        room = self.config.inflight - len(self.in_flight)
        if room <= 0:
            return
        batch = self.config.backlog_batch
        rows = self.outbox.pending(self.last_sent, room * batch)
        backlog = len(rows) > batch
        while rows and room > 0:
            if backlog and not self._take_token():
                break
            chunk, rows = (rows[:batch], rows[batch:]) if backlog else (rows[:1], rows[1:])
            payload = chunk[0][1] if len(chunk) == 1 else b"[" + b",".join(p for _, p in chunk) + b"]"
            info = self.client.publish(self.config.topic("events"), payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                break
            self.in_flight[info.mid] = [seq for seq, _ in chunk]
            self.last_sent = chunk[-1][0]
            self.stats["sent"] += len(chunk)
            room -= 1

    def _take_token(self) -> bool:
        now = time.monotonic()
        rate = self.config.backlog_rate
        self._tokens = min(rate, self._tokens + (now - self._token_at) * rate)
        self._token_at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if now - self._last_heartbeat >= self.config.heartbeat_seconds:
            self._last_heartbeat = now
            body = {"ts": now_rfc3339(), "backlog": self.outbox.count(), "uptime": round(now - self._started)}
            self.client.publish(self.config.topic("heartbeat"), orjson.dumps(body), qos=1)

    def close(self) -> None:
        if self.connected.is_set():
            self.client.publish(self.config.topic("state"), orjson.dumps({"state": "offline"}), qos=1,
                                retain=True).wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()
        if self.robot:
            self.robot.close()
        self.outbox.close()


def run_agent_from_file(path: Path) -> None:
    import signal

    config = HubConfig.model_validate_json(path.read_bytes())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    HubAgent(config).run(stop)
