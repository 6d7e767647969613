"""Per-hub broker credentials with Mosquitto's dynamic security plugin.

- A hub's MQTT username is its id and its password the secret issued by homes.service (register/rotate).
- Each hub has a role `hub-{id}` that may publish and subscribe only under `{root}/hubs/{id}/#`.
- The backend account (Settings.mqtt_username) may use all of `{root}/#` and administer dynamic security.
- The secret is hashed exactly as the plugin hashes it (PBKDF2-HMAC-SHA512) and kept in hub_broker_accounts,
  so `seniorsafe broker dynsec-config` can rebuild the broker's whole state from the database.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import secrets
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.config import Settings, get_settings
from seniorsafe.telemetry.models import HubBrokerAccount

log = logging.getLogger(__name__)

ITERATIONS = 101          # the plugin's default
SALT_BYTES = 12
CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = CONTROL_TOPIC + "/response"
BACKEND_ROLE = "seniorsafe-backend"
ADMIN_ROLE = "dynsec-admin"
TIMEOUT = 3.0


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> tuple[str, str, int]:
    """(hash, salt) base64-encoded as in dynamic-security.json."""
    salt = salt or secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return base64.b64encode(digest).decode(), base64.b64encode(salt).decode(), iterations


def hub_role(hub_id: str) -> str:
    return f"hub-{hub_id}"


def hub_acls(root: str, hub_id: str) -> list[dict[str, Any]]:
    prefix = f"{root}/hubs/{hub_id}/#"
    return [{"acltype": "publishClientSend", "topic": prefix, "priority": 0, "allow": True},
            {"acltype": "subscribePattern", "topic": prefix, "priority": 0, "allow": True}]


def backend_roles(root: str) -> list[dict[str, Any]]:
    backend = [{"acltype": t, "topic": topic, "priority": 0, "allow": True}
               for t in ("publishClientSend", "subscribePattern")
               for topic in (f"{root}/#", f"$share/+/{root}/#")]
    admin = [{"acltype": t, "topic": "$CONTROL/dynamic-security/#", "priority": 0, "allow": True}
             for t in ("publishClientSend", "publishClientReceive", "subscribePattern")]
    return [{"rolename": BACKEND_ROLE, "acls": backend}, {"rolename": ADMIN_ROLE, "acls": admin}]


def _client(username: str, pw: tuple[str, str, int], roles: list[str], enabled: bool = True) -> dict[str, Any]:
    entry: dict[str, Any] = {"username": username, "password": pw[0], "salt": pw[1], "iterations": pw[2],
                             "roles": [{"rolename": r} for r in roles]}
    if not enabled:
        entry["disabled"] = True
    return entry


def build_config(root: str, backend_user: str, backend_password: str,
                 hubs: list[tuple[str, str, str, int, bool]]) -> dict[str, Any]:
    """The plugin's whole state: backend account, and one account + role per hub (id, hash, salt, iter, enabled)."""
    clients = [_client(backend_user, hash_password(backend_password), [BACKEND_ROLE, ADMIN_ROLE])]
    roles = backend_roles(root)
    for hub_id, pw_hash, salt, iterations, enabled in hubs:
        clients.append(_client(hub_id, (pw_hash, salt, iterations), [hub_role(hub_id)], enabled))
        roles.append({"rolename": hub_role(hub_id), "acls": hub_acls(root, hub_id)})
    return {"defaultACLAccess": {"publishClientSend": False, "publishClientReceive": True, "subscribe": False,
                                 "unsubscribe": True},
            "clients": clients, "groups": [], "roles": roles}


async def config_from_database(session: AsyncSession, settings: Settings) -> dict[str, Any]:
    if not (settings.mqtt_username and settings.mqtt_password):
        raise ValueError("MQTT_USERNAME and MQTT_PASSWORD (the backend's broker account) must be set")
    rows = (await session.scalars(select(HubBrokerAccount).order_by(HubBrokerAccount.hub_id))).all()
    hubs = [(r.hub_id, r.password_hash, r.salt, int(r.iterations), r.enabled) for r in rows]
    return build_config(settings.mqtt_topic_root, settings.mqtt_username, settings.mqtt_password, hubs)


# ---------------------------------------------------------------- live control of a running broker


class DynsecError(Exception):
    pass


def control(settings: Settings, commands: list[dict[str, Any]], timeout: float = TIMEOUT) -> list[dict[str, Any]]:
    """Send commands to $CONTROL/dynamic-security/v1 as the backend account; return the plugin's responses."""
    import paho.mqtt.client as mqtt

    correlation = uuid.uuid4().hex
    for i, command in enumerate(commands):
        command["correlationData"] = f"{correlation}-{i}"
    done = threading.Event()
    responses: dict[str, dict[str, Any]] = {}

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            done.set()
            return
        client.subscribe(RESPONSE_TOPIC, qos=1)

    def on_subscribe(client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        client.publish(CONTROL_TOPIC, orjson.dumps({"commands": commands}), qos=1)

    def on_message(client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        for resp in orjson.loads(msg.payload).get("responses", []):
            if str(resp.get("correlationData", "")).startswith(correlation):
                responses[resp["correlationData"]] = resp
        if len(responses) == len(commands):
            done.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"dynsec-{correlation[:12]}",
                         protocol=mqtt.MQTTProtocolVersion.MQTTv5)
    client.username_pw_set(settings.mqtt_username, settings.mqtt_password)
    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    client.connect_timeout = timeout
    try:
        client.connect(settings.mqtt_host, settings.mqtt_port, keepalive=30)
        client.loop_start()
        if not done.wait(timeout) or len(responses) < len(commands):
            raise DynsecError("no answer from the broker's dynamic security plugin")
    except OSError as exc:
        raise DynsecError(f"broker unreachable: {exc}") from exc
    finally:
        client.disconnect()
        client.loop_stop()
    return [responses[c["correlationData"]] for c in commands]


def _ok(resp: dict[str, Any], *tolerated: str) -> None:
    error = resp.get("error")
    if error and not any(t in error for t in tolerated):
        raise DynsecError(f"{resp.get('command')}: {error}")


def upsert_hub(settings: Settings, hub_id: str, secret: str) -> None:
    """Create or update the hub's account and role; the new secret replaces the old one."""
    root = settings.mqtt_topic_root
    role = control(settings, [{"command": "createRole", "rolename": hub_role(hub_id),
                               "acls": hub_acls(root, hub_id)}])
    _ok(role[0], "already exists")
    created = control(settings, [{"command": "createClient", "username": hub_id, "password": secret,
                                  "roles": [{"rolename": hub_role(hub_id)}]}])
    if created[0].get("error"):
        _ok(created[0], "already exists")
        for resp in control(settings, [
            {"command": "setClientPassword", "username": hub_id, "password": secret},
            {"command": "enableClient", "username": hub_id},
        ]):
            _ok(resp, "already")


def disable_hub(settings: Settings, hub_id: str) -> None:
    """Revoked: the account is disabled and its connections are closed by the broker at once."""
    _ok(control(settings, [{"command": "disableClient", "username": hub_id}])[0], "not found")


def delete_hub(settings: Settings, hub_id: str) -> None:
    for resp in control(settings, [{"command": "deleteClient", "username": hub_id},
                                   {"command": "deleteRole", "rolename": hub_role(hub_id)}]):
        _ok(resp, "not found")


# ---------------------------------------------------------------- hooks called by homes.service

_settings_override: Settings | None = None
_pending: set[asyncio.Task[None]] = set()


def configure(settings: Settings | None) -> None:
    """Use these settings for the hooks (tests); by default the process's get_settings()."""
    global _settings_override
    _settings_override = settings


def _settings() -> Settings:
    return _settings_override or get_settings()


def _enabled(settings: Settings) -> bool:
    return bool(settings.mqtt_username and settings.mqtt_password) and os.environ.get("SENIORSAFE_DYNSEC") != "off"


def _in_background(fn: Any, *args: Any) -> None:
    async def run() -> None:
        try:
            await asyncio.to_thread(fn, *args)
        except DynsecError as exc:
            log.warning("broker account of hub %s not updated (%s); run `seniorsafe broker dynsec-config` "
                        "to rebuild the broker's accounts from the database", args[1], exc)

    task = asyncio.get_running_loop().create_task(run())
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def drain() -> None:
    """Wait until every broker update started by the hooks has finished."""
    while _pending:
        await asyncio.gather(*list(_pending), return_exceptions=True)


async def on_hub_credential(session: AsyncSession, hub_id: str, secret: str) -> None:
    """A hub was registered or its credential rotated (called after the commit)."""
    pw_hash, salt, iterations = hash_password(secret)
    account = await session.get(HubBrokerAccount, hub_id)
    if account is None:
        account = HubBrokerAccount(hub_id=hub_id)
        session.add(account)
    account.password_hash, account.salt, account.iterations = pw_hash, salt, iterations
    account.enabled, account.updated_at = True, datetime.now(UTC)
    await session.commit()
    settings = _settings()
    if _enabled(settings):
        _in_background(upsert_hub, settings, hub_id, secret)


async def on_hub_revoked(session: AsyncSession, hub_id: str) -> None:
    account = await session.get(HubBrokerAccount, hub_id)
    if account is not None:
        account.enabled, account.updated_at = False, datetime.now(UTC)
        await session.commit()
    settings = _settings()
    if _enabled(settings):
        _in_background(disable_hub, settings, hub_id)


async def on_hub_deleted(hub_id: str) -> None:
    settings = _settings()
    if _enabled(settings):
        _in_background(delete_hub, settings, hub_id)
