"""Where the hub's readings come from (Zigbee2MQTT, JSON lines on stdin) and the robot relay."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import IO, Any

import orjson
import paho.mqtt.client as mqtt

from seniorsafe.hub.config import RobotRelayConfig, ZigbeeConfig

log = logging.getLogger(__name__)

Record = Callable[..., None]


def z2m_readings(payload: dict[str, Any], mapping: dict[str, str]) -> list[tuple[str, float, int | None]]:
    """Map one Zigbee2MQTT device message to (sensor, value, battery) readings.

    occupancy/water_leak/smoke: true → 1; contact: true means *closed* → 0 (our doors report 1 = open);
    action: any non-empty action (single, double, hold, ...) → 1 (a button press); battery (percent) rides along
    with the device's readings."""
    battery = payload.get("battery")
    battery = round(battery) if isinstance(battery, int | float) and not isinstance(battery, bool) else None
    out: list[tuple[str, float, int | None]] = []
    for field, sensor in mapping.items():
        if field == "battery" or field not in payload:
            continue
        raw = payload[field]
        if field == "contact" and isinstance(raw, bool):
            out.append((sensor, 0.0 if raw else 1.0, battery))
        elif field == "action":
            if isinstance(raw, str) and raw and not raw.endswith("release"):
                out.append((sensor, 1.0, battery))
        elif isinstance(raw, bool):
            out.append((sensor, 1.0 if raw else 0.0, battery))
        elif isinstance(raw, int | float):
            out.append((sensor, float(raw), battery))
    return out


def start_zigbee(config: ZigbeeConfig, record: Record) -> mqtt.Client:
    """Subscribe to the local Zigbee2MQTT broker; mapped device messages become readings."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="seniorsafe-hub-z2m")
    if config.username:
        client.username_pw_set(config.username, config.password)

    def on_connect(c: mqtt.Client, u: Any, flags: Any, reason: Any, props: Any) -> None:
        c.subscribe(f"{config.base_topic}/+", qos=1)

    def on_message(c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        name = msg.topic.rsplit("/", 1)[-1]
        mapping = config.devices.get(name)
        if mapping is None:
            return
        try:
            payload = orjson.loads(msg.payload)
        except orjson.JSONDecodeError:
            log.warning("ignored a non-JSON Zigbee2MQTT message on %s", msg.topic)
            return
        if isinstance(payload, dict):
            for sensor, value, battery in z2m_readings(payload, mapping):
                record(sensor, value, battery=battery)

    client.on_connect, client.on_message = on_connect, on_message
    client.connect_async(config.host, config.port)
    client.loop_start()
    return client


def start_stdin(stream: IO[str], record: Record) -> threading.Thread:
    """JSON lines: {"sensor": "pir-living", "value": true, "ts": "...optional...", "battery": 90}."""

    def read() -> None:
        for line in stream:
            line = line.strip()
            if not line:
                continue
            try:
                obj = orjson.loads(line)
                record(str(obj["sensor"]), obj["value"], obj.get("ts"), obj.get("battery"))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                log.warning("ignored stdin line %r: %s", line[:100], exc)

    thread = threading.Thread(target=read, name="stdin-source", daemon=True)
    thread.start()
    return thread


class RobotRelay:
    """Backend `.../robot/commands` → local `{prefix}/commands`; local `{prefix}/status|acks` → backend
    `.../robot/status|acks`. Payloads pass through unchanged (the robot protocol is defined by the robots issue)."""

    def __init__(self, config: RobotRelayConfig, upstream: Callable[[str, bytes], None]) -> None:
        self.config = config
        self.upstream = upstream
        self.local = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="seniorsafe-hub-robot-relay")
        if config.username:
            self.local.username_pw_set(config.username, config.password)
        self.local.on_connect = self._on_connect
        self.local.on_message = self._on_message
        self.local.connect_async(config.host, config.port)
        self.local.loop_start()

    def _on_connect(self, c: mqtt.Client, u: Any, flags: Any, reason: Any, props: Any) -> None:
        c.subscribe([(f"{self.config.local_prefix}/status", 1), (f"{self.config.local_prefix}/acks", 1)])

    def _on_message(self, c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        channel = msg.topic.rsplit("/", 1)[-1]
        self.upstream(f"robot/{channel}", bytes(msg.payload))

    def to_robot(self, payload: bytes) -> None:
        self.local.publish(f"{self.config.local_prefix}/commands", payload, qos=1)

    def close(self) -> None:
        self.local.disconnect()
        self.local.loop_stop()
