"""The hub agent's configuration file (JSON), e.g.

{"hub_id": "demo-hub-001", "secret": "...", "broker_host": "mqtt.example.org", "broker_port": 1883,
 "data_dir": "/var/lib/seniorsafe-hub",
 "zigbee": {"host": "127.0.0.1", "port": 1883, "base_topic": "zigbee2mqtt",
            "devices": {"bedroom_motion": {"occupancy": "pir-bedroom"}, "front_door": {"contact": "door-front"}}},
 "stdin": false}
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

Z2M_FIELDS = ("occupancy", "contact", "water_leak", "smoke", "action", "battery")


class ZigbeeConfig(BaseModel):
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    base_topic: str = "zigbee2mqtt"
    devices: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="friendly_name → {payload field → our sensor id}")


class RobotRelayConfig(BaseModel):
    """Robot commands/status between the backend and the robot, through a local MQTT broker."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    local_prefix: str = "seniorsafe/robot"


class HubConfig(BaseModel):
    hub_id: str
    secret: str
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    topic_root: str = "seniorsafe/v1"
    tls: bool = False
    data_dir: Path = Path("var/hub")
    heartbeat_seconds: float = 30.0
    inflight: int = Field(20, ge=1, le=1000, description="unacknowledged messages at once")
    backlog_rate: float = Field(50.0, gt=0, description="messages per second while sending a backlog")
    backlog_batch: int = Field(50, ge=1, le=1000, description="events per message while sending a backlog")
    zigbee: ZigbeeConfig | None = None
    robot: RobotRelayConfig | None = None
    stdin: bool = False

    def topic(self, channel: str) -> str:
        return f"{self.topic_root}/hubs/{self.hub_id}/{channel}"
