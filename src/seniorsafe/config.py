"""The one settings object. Every value comes from the environment (prefix-free names) or `.env`."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"


class Settings(BaseSettings):
    """Configuration for every process. See docs/operations.md for the reference."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        "development", description="production refuses default or missing secrets"
    )
    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/seniorsafe",
        description="SQLAlchemy URL of PostgreSQL (asyncpg driver)",
    )
    db_pool_size: int = Field(20, description="connections kept open per process (requests beyond it wait)")
    db_max_overflow: int = Field(5, description="extra short-lived connections per process under bursts")
    read_cache_entries: int = Field(20_000, description="rendered seniors list/detail responses kept per api "
                                    "process (dropped on any committed change; 0 turns the cache off)")
    read_cache_ttl_seconds: float = Field(30.0, description="upper bound on the age of a cached read response")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis for stream, pub/sub, caches")
    redis_prefix: str = Field("ss:", description="prefix of every Redis key and channel of this deployment")
    mqtt_host: str = Field("127.0.0.1", description="MQTT broker host")
    mqtt_port: int = Field(1883, description="MQTT broker port")
    mqtt_username: str | None = Field(None, description="backend's MQTT user")
    mqtt_password: str | None = Field(None, description="backend's MQTT password")
    mqtt_topic_root: str = Field("seniorsafe/v1", description="root of every MQTT topic")

    jwt_secret: str = Field(DEV_JWT_SECRET, description="HMAC secret for access tokens (required in production)")
    access_token_minutes: int = Field(15, description="access token lifetime")
    refresh_token_days: int = Field(14, description="refresh token lifetime")
    login_max_attempts: int = Field(5, description="failed logins per account within the window")
    login_ip_max_attempts: int = Field(30, description="failed logins per client IP within the window")
    login_window_seconds: int = Field(900, description="rate-limit window for failed logins")

    storage_backend: Literal["local", "s3"] = Field("local", description="object storage kind")
    storage_dir: Path = Field(Path("var/objects"), description="folder for the local object storage")
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint (None = AWS)")
    s3_bucket: str = Field("seniorsafe", description="bucket for photos, snapshots and models")
    s3_access_key: str | None = Field(None, description="S3 access key")
    s3_secret_key: str | None = Field(None, description="S3 secret key")
    s3_region: str = Field("us-east-1", description="S3 region")

    photo_max_bytes: int = Field(5 * 1024 * 1024, description="largest accepted profile photo upload")
    photo_max_side: int = Field(512, description="profile photos are resized to fit this square")

    public_url: str = Field("http://127.0.0.1:8000", description="where people open the dashboard")
    cors_origins: list[str] = Field(default_factory=list, description="extra origins allowed by CORS")
    log_json: bool = Field(False, description="structured JSON logs")
    metrics_port: int | None = Field(None, description="worker processes (ingest, detect, train, robots, workflow) "
                                     "serve GET /metrics on this port when set")
    metrics_host: str = Field("127.0.0.1", description="address of the worker processes' metrics endpoint")
    metrics_token: str | None = Field(None, description="bearer token required by GET /metrics "
                                      "(None: open; then keep it on the internal network)")

    # live gateway (Socket.IO) and the alert workflow
    realtime_redis_channel: str = Field("socketio", description="Socket.IO fan-out channel (under redis_prefix)")
    realtime_session_check_seconds: float = Field(15.0, description="how often live sessions are re-checked "
                                                  "for logout/expiry")
    workflow_worker_in_api: bool = Field(True, description="run escalation, device-health and notification "
                                         "delivery inside the api (one replica at a time, Redis lock)")
    workflow_tick_seconds: float = Field(2.0, description="escalation / notification worker period")

    # notifications
    smtp_host: str | None = Field(None, description="SMTP server for email notifications (None = email off)")
    smtp_port: int = Field(25, description="SMTP port")
    smtp_username: str | None = Field(None, description="SMTP user")
    smtp_password: str | None = Field(None, description="SMTP password")
    smtp_starttls: bool = Field(False, description="upgrade the SMTP connection with STARTTLS")
    smtp_from: str = Field("Senior Safe Things <alerts@localhost>", description="sender of notification emails")
    vapid_private_key: str | None = Field(None, description="Web Push VAPID private key (PEM or base64url)")
    vapid_public_key: str | None = Field(None, description="Web Push VAPID public key (base64url, for browsers)")
    vapid_subject: str = Field("mailto:alerts@localhost", description="VAPID 'sub' claim (mailto: or https:)")
    sms_provider_url: str | None = Field(None, description="SMS/voice provider HTTP endpoint (None = SMS off)")
    sms_provider_key: str | None = Field(None, description="SMS/voice provider API key (Bearer)")
    notification_max_attempts: int = Field(6, description="delivery attempts before a notification is given up")
    notification_retry_seconds: float = Field(15.0, description="first retry delay; doubles on every attempt")

    turn_urls: list[str] = Field(default_factory=list, description="our STUN/TURN URLs (coturn), e.g. "
                                 "turn:turn.example.org:3478?transport=udp; empty = host candidates only")
    turn_secret: str | None = Field(None, description="coturn static-auth-secret (REST credentials; required in "
                                    "production)")
    turn_ttl_seconds: int = Field(3600, description="lifetime of a TURN credential")
    robot_ack_timeout_seconds: float = Field(5.0, description="resend a robot command not acknowledged in time")
    robot_max_attempts: int = Field(3, description="sends of a robot command before it times out")
    robot_offline_seconds: float = Field(120.0, description="no robot status for this long = robot offline")
    robot_low_battery_percent: int = Field(20, description="battery at or below this opens robot_low_battery")

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.environment == "production":
            if self.jwt_secret == DEV_JWT_SECRET or len(self.jwt_secret) < 32:
                raise ValueError("JWT_SECRET must be set to a random value of at least 32 characters")
            if not self.turn_secret or len(self.turn_secret) < 32:
                raise ValueError("TURN_SECRET (coturn static-auth-secret, at least 32 characters) is required")
            if self.storage_backend == "s3" and not (self.s3_access_key and self.s3_secret_key):
                raise ValueError("S3_ACCESS_KEY and S3_SECRET_KEY are required for S3 storage")
            if not self.mqtt_password or len(self.mqtt_password) < 16:
                raise ValueError("MQTT_PASSWORD (the backend's broker account, at least 16 characters) is required")
            defaults = {n: f.default for n, f in type(self).model_fields.items()}
            for name in ("database_url", "redis_url"):
                if getattr(self, name) == defaults[name]:
                    raise ValueError(f"{name.upper()} must be set explicitly in production (with its password)")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()


def random_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def reference_markdown() -> str:
    """The configuration reference table for docs/operations.md, generated from the Settings fields."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if name in SECRET_FIELDS:
            shown = "(secret; required in production)"
        else:
            shown = f"`{default}`" if default not in (None, "", []) else ""
        lines.append(f"| `{name.upper()}` | {shown} | {field.description or ''} |")
    return "\n".join(lines) + "\n"


SECRET_FIELDS = frozenset({"jwt_secret", "turn_secret", "mqtt_password", "s3_secret_key", "s3_access_key",
                           "metrics_token"})
