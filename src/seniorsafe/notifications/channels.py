"""Delivery channels: email over SMTP, Web Push (VAPID), SMS/voice through an HTTP provider.

Each channel's `send` raises DeliveryError (temporary: retried) or PermanentFailure (given up at once).
"""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import httpx
import orjson

from seniorsafe.config import Settings


class DeliveryError(Exception):
    """Temporary failure: retried with backoff."""


class PermanentFailure(DeliveryError):
    """The address is gone or refused for good (e.g. an expired push subscription)."""


@dataclass(frozen=True)
class Message:
    id: int
    channel: str
    address: str
    subject: str
    body: str
    link: str | None
    purpose: str
    alert_id: str | None
    push: dict[str, Any] | None = None  # subscription info for Web Push


class Channel(Protocol):
    name: str

    async def send(self, message: Message) -> None: ...


class EmailChannel:
    name = "email"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _build(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.settings.smtp_from
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["X-SeniorSafe-Delivery"] = str(message.id)
        text = message.body + (f"\n\nOpen: {message.link}\n" if message.link else "\n")
        mail.set_content(text)
        return mail

    def _send_sync(self, mail: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.smtp_host or "localhost", s.smtp_port, timeout=10) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username and s.smtp_password:
                smtp.login(s.smtp_username, s.smtp_password)
            smtp.send_message(mail)

    async def send(self, message: Message) -> None:
        try:
            await asyncio.to_thread(self._send_sync, self._build(message))
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"smtp: {type(exc).__name__}: {exc}") from exc


class SmsChannel:
    """POST {sms_provider_url} with {"type": "sms"|"voice", "to", "text", "reference"}; Bearer sms_provider_key."""

    def __init__(self, settings: Settings, kind: str = "sms") -> None:
        self.settings = settings
        self.name = kind

    async def send(self, message: Message) -> None:
        text = message.body + (f" {message.link}" if message.link and self.name == "sms" else "")
        headers = {"Authorization": f"Bearer {self.settings.sms_provider_key}"} if self.settings.sms_provider_key \
            else {}
        body = {"type": self.name, "to": message.address, "text": text, "reference": f"delivery-{message.id}"}
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(self.settings.sms_provider_url or "", json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        if response.status_code in (400, 401, 403, 404, 422):
            raise PermanentFailure(f"{self.name}: provider refused ({response.status_code}): {response.text[:200]}")
        if response.status_code >= 300:
            raise DeliveryError(f"{self.name}: provider answered {response.status_code}")


class PushChannel:
    """Web Push with VAPID (RFC 8030/8291/8292) through pywebpush."""

    name = "push"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: Message) -> None:
        from pywebpush import WebPushException, webpush_async

        if not message.push:
            raise PermanentFailure("the push subscription no longer exists")
        payload = orjson.dumps({"title": message.subject, "body": message.body, "url": message.link,
                                "alert_id": message.alert_id, "purpose": message.purpose}).decode()
        try:
            await webpush_async(message.push, payload, vapid_private_key=self.settings.vapid_private_key,
                                vapid_claims={"sub": self.settings.vapid_subject}, ttl=3600, timeout=10)
        except WebPushException as exc:
            status = exc.response.status if exc.response is not None and hasattr(exc.response, "status") else None
            if status in (404, 410):
                raise PermanentFailure(f"push subscription expired ({status})") from exc
            raise DeliveryError(f"push: {exc}") from exc
        except Exception as exc:  # network errors from aiohttp
            raise DeliveryError(f"push: {type(exc).__name__}: {exc}") from exc


def make_channels(settings: Settings) -> dict[str, Channel]:
    return {"email": EmailChannel(settings), "sms": SmsChannel(settings, "sms"),
            "voice": SmsChannel(settings, "voice"), "push": PushChannel(settings)}
