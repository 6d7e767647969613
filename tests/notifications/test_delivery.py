"""Notifications over real protocols: SMTP (aiosmtpd), SMS/voice HTTP provider, Web Push with VAPID."""

from __future__ import annotations

import base64
import os
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from seniorsafe.alerts import escalation
from seniorsafe.alerts.models import Severity
from seniorsafe.deps import AppState
from seniorsafe.notifications.models import Delivery
from seniorsafe.notifications.service import held_until
from seniorsafe.notifications.worker import dispatch_due
from seniorsafe.processes import free_port
from tests.conftest import Org
from tests.notifications.conftest import FakeHttp, Smtp, with_settings
from tests.realtime.conftest import open_alert, unique_kind


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def deliveries(state: AppState, alert_id: uuid.UUID) -> list[Delivery]:
    async with state.db.sessions() as session:
        return list(await session.scalars(select(Delivery).where(Delivery.alert_id == alert_id)
                                          .order_by(Delivery.id)))


async def set_levels(client: httpx.AsyncClient, org: Org, levels: list[str]) -> None:
    r = await client.put("/api/v1/organisation/escalation", headers=org.h(org.admin), json={"levels": levels})
    assert r.status_code == 200, r.text


async def test_email_goes_out_over_smtp_with_a_link(nt_org: Org, state: AppState, smtp: Smtp) -> None:
    smtp.start()
    st = with_settings(state, smtp_host="127.0.0.1", smtp_port=smtp.port)
    alert = await open_alert(state, nt_org, 0, unique_kind())
    await escalation.tick(st, alert.opened_at)  # nobody is connected: the notification still goes out
    await dispatch_due(st, alert.opened_at + timedelta(seconds=1))
    mails = [m for m in smtp.box.messages if str(alert.id) in m["data"]]
    assert len(mails) == 1 and mails[0]["to"] == [nt_org.staff1["email"]]
    assert "[DANGER]" in mails[0]["data"] and f"{st.settings.public_url}/alerts/{alert.id}" in mails[0]["data"]
    [d] = await deliveries(st, alert.id)
    assert (d.channel, d.status, d.attempts) == ("email", "sent", 1)


async def test_failed_delivery_retries_with_backoff(nt_org: Org, state: AppState, smtp: Smtp) -> None:
    st = with_settings(state, smtp_host="127.0.0.1", smtp_port=smtp.port, notification_retry_seconds=15)
    alert = await open_alert(state, nt_org, 1, unique_kind())
    t0 = alert.opened_at
    await escalation.tick(st, t0)
    await dispatch_due(st, t0)  # the SMTP server is down
    [d] = await deliveries(st, alert.id)
    assert (d.status, d.attempts) == ("pending", 1) and d.last_error and "smtp" in d.last_error
    assert d.next_attempt_at == t0 + timedelta(seconds=15)
    await dispatch_due(st, t0 + timedelta(seconds=10))
    assert (await deliveries(st, alert.id))[0].attempts == 1  # not due yet
    await dispatch_due(st, t0 + timedelta(seconds=16))
    [d] = await deliveries(st, alert.id)
    assert (d.status, d.attempts) == ("pending", 2) and d.next_attempt_at == t0 + timedelta(seconds=46)
    smtp.start()
    await dispatch_due(st, t0 + timedelta(seconds=47))
    [d] = await deliveries(st, alert.id)
    assert (d.status, d.attempts, d.last_error) == ("sent", 3, None)
    assert any(str(alert.id) in m["data"] for m in smtp.box.messages)


async def test_gives_up_after_max_attempts(nt_org: Org, state: AppState) -> None:
    st = with_settings(state, smtp_host="127.0.0.1", smtp_port=free_port(), notification_max_attempts=2,
                       notification_retry_seconds=1)
    alert = await open_alert(state, nt_org, 1, unique_kind())
    await escalation.tick(st, alert.opened_at)
    for s in (0, 2, 10):
        await dispatch_due(st, alert.opened_at + timedelta(seconds=s))
    [d] = await deliveries(st, alert.id)
    assert (d.status, d.attempts) == ("failed", 2)


async def test_guardian_sms_only_for_own_relative_then_closing_message(
    nt_org: Org, state: AppState, client: httpx.AsyncClient, fake_http: FakeHttp
) -> None:
    await set_levels(client, nt_org, ["guardians", "assigned_staff"])
    try:
        st = with_settings(state, sms_provider_url=f"{fake_http.url}/v1/messages", sms_provider_key="sms-key")
        fake_http.statuses = [503]
        mine = await open_alert(state, nt_org, 0, unique_kind())  # the guardian's mother
        other = await open_alert(state, nt_org, 1, unique_kind())  # not the guardian's relative
        now = datetime.now(UTC)
        await escalation.tick(st, now)
        await dispatch_due(st, now)
        await dispatch_due(st, now + timedelta(seconds=16))
        sent = [orjson.loads(r["body"]) for r in fake_http.requests]
        for_mine = [b for b in sent if str(mine.id) in b["text"]]
        assert len(for_mine) == 2  # the 503, then the retry
        assert for_mine[0]["to"] == "010-1234-5678" and for_mine[0]["type"] == "sms"
        assert f"{st.settings.public_url}/alerts/{mine.id}" in for_mine[0]["text"]
        assert all(r["headers"]["Authorization"] == "Bearer sms-key" for r in fake_http.requests)
        assert not [b for b in sent if str(other.id) in b["text"]]
        rows = await deliveries(st, mine.id)
        assert [(d.guardian_id is not None, d.status, d.attempts) for d in rows] == [(True, "sent", 2)]
        r = await client.post(f"/api/v1/alerts/{mine.id}/resolve", headers=nt_org.h(nt_org.staff1),
                              json={"outcome": "resident_fine"})
        assert r.status_code == 200
        await dispatch_due(st, datetime.now(UTC) + timedelta(seconds=1))
        closing = [orjson.loads(r["body"]) for r in fake_http.requests][-1]
        assert closing["to"] == "010-1234-5678" and "status checked — all well" in closing["text"]
        assert str(mine.id) in closing["text"]  # the link
    finally:
        await set_levels(client, nt_org, ["assigned_staff", "all_staff", "admins", "guardians"])


def _keypair() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return key, raw


async def test_web_push_is_encrypted_and_vapid_signed(
    nt_org: Org, state: AppState, client: httpx.AsyncClient, fake_http: FakeHttp
) -> None:
    import http_ece

    vapid, vapid_pub = _keypair()
    vapid_der = vapid.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    browser, browser_pub = _keypair()
    auth_secret = os.urandom(16)
    sub = {"endpoint": f"{fake_http.url}/push/{uuid.uuid4().hex}", "keys": {"p256dh": b64(browser_pub),
                                                                             "auth": b64(auth_secret)}}
    r = await client.post("/api/v1/me/push-subscriptions", headers=nt_org.h(nt_org.staff2), json=sub)
    assert r.status_code == 201, r.text
    st = with_settings(state, vapid_private_key=b64(vapid_der), vapid_subject="mailto:ops@example.org")
    alert = await open_alert(state, nt_org, 2, unique_kind())  # staff2's senior
    await escalation.tick(st, alert.opened_at)
    await dispatch_due(st, alert.opened_at + timedelta(seconds=1))
    [req] = [q for q in fake_http.requests if q["path"] == sub["endpoint"].split(fake_http.url)[1]]
    headers = {k.lower(): v for k, v in req["headers"].items()}
    assert headers["content-encoding"] == "aes128gcm" and int(headers["ttl"]) > 0
    scheme, _, params = headers["authorization"].partition(" ")
    fields = dict(p.split("=", 1) for p in params.split(","))
    assert scheme == "vapid" and fields["k"] == b64(vapid_pub)
    claims = jwt.decode(fields["t"], vapid.public_key(), algorithms=["ES256"], audience=fake_http.url)
    assert claims["sub"] == "mailto:ops@example.org" and claims["exp"] > datetime.now(UTC).timestamp()
    plain = http_ece.decrypt(req["body"], private_key=browser, auth_secret=auth_secret, version="aes128gcm")
    payload = orjson.loads(plain)
    assert payload["alert_id"] == str(alert.id) and payload["url"].endswith(f"/alerts/{alert.id}")
    [d] = await deliveries(st, alert.id)
    assert (d.channel, d.status) == ("push", "sent")
    # the browser unsubscribed: the push service answers 410 → given up at once
    fake_http.default = 410
    again = await open_alert(state, nt_org, 2, unique_kind())
    await escalation.tick(st, again.opened_at)
    await dispatch_due(st, again.opened_at + timedelta(seconds=1))
    [d] = await deliveries(st, again.id)
    assert d.status == "failed" and d.last_error and "expired" in d.last_error
    r = await client.get("/api/v1/me/push-subscriptions", headers=nt_org.h(nt_org.staff2))
    [mine] = r.json()
    assert (await client.delete(f"/api/v1/me/push-subscriptions/{mine['id']}",
                                headers=nt_org.h(nt_org.staff1))).status_code == 404
    assert (await client.delete(f"/api/v1/me/push-subscriptions/{mine['id']}",
                                headers=nt_org.h(nt_org.staff2))).status_code == 204


def test_quiet_hours_hold_cautions_never_danger() -> None:
    prefs = {"quiet_hours": ["22:00", "07:00"]}
    night = datetime(2026, 3, 1, 14, 30, tzinfo=UTC)  # 23:30 in Seoul
    held = held_until(prefs, Severity.caution, night, "Asia/Seoul")
    assert held is not None and held.astimezone(UTC) == datetime(2026, 3, 1, 22, 0, tzinfo=UTC)  # 07:00 Seoul
    assert held_until(prefs, Severity.danger, night, "Asia/Seoul") is None
    assert held_until(prefs, Severity.caution, datetime(2026, 3, 1, 3, 0, tzinfo=UTC), "Asia/Seoul") is None


async def test_my_notification_preferences(nt_org: Org, client: httpx.AsyncClient) -> None:
    h = nt_org.h(nt_org.staff1)
    assert (await client.get("/api/v1/me/notification-preferences", headers=h)).json()["channels"] == [
        "email", "push", "sms"]
    body = {"channels": ["email"], "severities": ["danger"], "quiet_hours": ["23:00", "06:00"]}
    assert (await client.put("/api/v1/me/notification-preferences", headers=h, json=body)).status_code == 200
    assert (await client.get("/api/v1/me/notification-preferences", headers=h)).json() == body
    assert (await client.put("/api/v1/me/notification-preferences", headers=h,
                             json={"channels": ["pigeon"]})).status_code == 422
    await client.put("/api/v1/me/notification-preferences", headers=h,
                     json={"channels": ["email", "push", "sms"], "severities": ["caution", "danger"]})


async def test_auto_cleared_alert_still_closes_the_loop_for_guardians(
    nt_org: Org, state: AppState, client: httpx.AsyncClient, fake_http: FakeHttp
) -> None:
    from seniorsafe.alerts.escalation import closing_sweep_once

    await set_levels(client, nt_org, ["guardians", "assigned_staff"])
    try:
        st = with_settings(state, sms_provider_url=f"{fake_http.url}/v1/messages")
        k = unique_kind()
        alert = await open_alert(state, nt_org, 0, k, severity="danger")
        now = datetime.now(UTC)
        await escalation.tick(st, now)
        await dispatch_due(st, now)
        await open_alert(state, nt_org, 0, k, action="close")  # activity resumed: the detector closes it
        assert await closing_sweep_once(st) == 1
        assert await closing_sweep_once(st) == 0  # once only
        await dispatch_due(st, datetime.now(UTC) + timedelta(seconds=1))
        texts = [orjson.loads(r["body"])["text"] for r in fake_http.requests]
        assert any("returned to normal" in t and str(alert.id) in t for t in texts)
    finally:
        await set_levels(client, nt_org, ["assigned_staff", "all_staff", "admins", "guardians"])
