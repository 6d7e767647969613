"""Seniors: list (risk, search, urgency, keyset pages), detail, updates, guardians, staff, photos."""

from __future__ import annotations

import io

import httpx
from PIL import Image
from sqlalchemy import update

from seniorsafe.deps import AppState
from seniorsafe.seniors.models import RiskLevel, Senior
from tests.conftest import Org


async def _set_risk(state: AppState, senior_id: str, level: RiskLevel) -> None:
    async with state.db.sessions() as session:
        await session.execute(update(Senior).where(Senior.id == senior_id).values(risk_level=level))
        await session.commit()


async def test_list_sorted_by_urgency_filtered_and_searched(client: httpx.AsyncClient, org: Org,
                                                            state: AppState) -> None:
    s = org.seniors
    await _set_risk(state, s[2]["id"], RiskLevel.danger)
    await _set_risk(state, s[1]["id"], RiskLevel.caution)
    await _set_risk(state, s[0]["id"], RiskLevel.safe)
    r = await client.get("/api/v1/seniors", headers=org.h(org.admin))
    assert [i["risk_level"] for i in r.json()["items"]] == ["danger", "caution", "safe"]
    r = await client.get("/api/v1/seniors?risk=danger&risk=caution", headers=org.h(org.admin))
    assert {i["id"] for i in r.json()["items"]} == {s[1]["id"], s[2]["id"]}
    r = await client.get("/api/v1/seniors", headers=org.h(org.admin), params={"q": "senior 1"})
    assert [i["id"] for i in r.json()["items"]] == [s[1]["id"]]
    r = await client.get("/api/v1/seniors", headers=org.h(org.admin), params={"q": "%"})
    assert r.json()["items"] == []  # wildcards are literal


async def test_new_senior_risk_is_unknown(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.get(f"/api/v1/seniors/{org.seniors[0]['id']}", headers=org.h(org.admin))
    assert r.json()["risk_level"] == "unknown"


async def test_keyset_pagination_walks_every_senior_once(client: httpx.AsyncClient, org: Org) -> None:
    for i in range(7):
        r = await client.post("/api/v1/seniors", headers=org.h(org.admin), json={"name": f"Page {i % 3}"})
        assert r.status_code == 201
    for sort in ("urgency", "name"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3, "sort": sort, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/v1/seniors", headers=org.h(org.admin), params=params)).json()
            seen += [i["id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 10
    bad = await client.get("/api/v1/seniors", headers=org.h(org.admin), params={"cursor": "garbage!!"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_staff_see_only_assigned_and_guardian_only_linked(client: httpx.AsyncClient, org: Org) -> None:
    ids = lambda r: {i["id"] for i in r.json()["items"]}  # noqa: E731
    assert ids(await client.get("/api/v1/seniors", headers=org.h(org.staff1))) == {org.seniors[0]["id"],
                                                                                  org.seniors[1]["id"]}
    assert ids(await client.get("/api/v1/seniors", headers=org.h(org.staff2))) == {org.seniors[2]["id"]}
    assert ids(await client.get("/api/v1/seniors", headers=org.h(org.guardian))) == {org.seniors[0]["id"]}


async def test_detail_has_health_guardians_staff(client: httpx.AsyncClient, org: Org) -> None:
    sid = org.seniors[0]["id"]
    r = await client.patch(f"/api/v1/seniors/{sid}", headers=org.h(org.staff1), json={
        "medications": [{"name": "amlodipine", "dose": "5 mg", "schedule": "morning"}], "mobility": "cane",
        "notes": "hard of hearing; knock loudly", "video_consent": True})
    assert r.status_code == 200, r.text
    d = (await client.get(f"/api/v1/seniors/{sid}", headers=org.h(org.guardian))).json()
    assert d["medications"][0]["name"] == "amlodipine" and d["mobility"] == "cane"
    assert d["health_conditions"] == ["hypertension"]
    assert d["guardians"][0]["relation"] == "daughter" and d["guardians"][0]["user_id"] == org.guardian["id"]
    assert [s["user_id"] for s in d["staff"]] == [org.staff1["id"]]


async def test_validation_errors_name_the_field(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.post("/api/v1/seniors", headers=org.h(org.admin), json={"name": "", "sex": "robot"})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"name", "sex"} <= fields
    r = await client.post("/api/v1/seniors", headers=org.h(org.admin), json={"name": "X",
                                                                             "staff_ids": [org.guardian["id"]]})
    assert r.status_code == 422 and "staff_ids" in r.text


async def test_guardians_and_assignments(client: httpx.AsyncClient, org: Org) -> None:
    sid = org.seniors[1]["id"]
    r = await client.post(f"/api/v1/seniors/{sid}/guardians", headers=org.h(org.staff1), json={
        "name": "Son", "relation": "son", "email": "son@example.org",
        "notification_preferences": {"channels": ["email", "sms"], "severities": ["danger", "caution"],
                                     "quiet_hours": ["22:00", "07:00"]}})
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    r = await client.post(f"/api/v1/seniors/{sid}/guardians", headers=org.h(org.staff1),
                          json={"name": "X", "user_id": org.staff2["id"]})
    assert r.status_code == 422  # only guardian users can be linked
    r = await client.patch(f"/api/v1/seniors/{sid}/guardians/{gid}", headers=org.h(org.staff1), json={"phone": "112"})
    assert r.json()["phone"] == "112"
    assert (await client.put(f"/api/v1/seniors/{sid}/staff/{org.staff2['id']}",
                             headers=org.h(org.admin))).status_code == 204
    staff = (await client.get(f"/api/v1/seniors/{sid}/staff", headers=org.h(org.staff2))).json()
    assert {s["user_id"] for s in staff} == {org.staff1["id"], org.staff2["id"]}
    assert (await client.delete(f"/api/v1/seniors/{sid}/staff/{org.staff2['id']}",
                                headers=org.h(org.admin))).status_code == 204
    assert (await client.get(f"/api/v1/seniors/{sid}", headers=org.h(org.staff2))).status_code == 404
    assert (await client.delete(f"/api/v1/seniors/{sid}/guardians/{gid}",
                                headers=org.h(org.staff1))).status_code == 204


def _image(fmt: str, size: tuple[int, int] = (1200, 900)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buf, fmt)
    return buf.getvalue()


async def test_photo_upload_validated_resized_stored(client: httpx.AsyncClient, org: Org, state: AppState) -> None:
    sid = org.seniors[0]["id"]
    url = f"/api/v1/seniors/{sid}/photo"
    r = await client.put(url, headers=org.h(org.staff1), files={"file": ("p.png", _image("PNG"), "image/png")})
    assert r.status_code == 204, r.text
    r = await client.get(url, headers=org.h(org.guardian))
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(r.content)) as img:
        assert img.format == "JPEG" and max(img.size) == state.settings.photo_max_side
    listed = (await client.get("/api/v1/seniors", headers=org.h(org.staff1))).json()["items"]
    assert any(i["id"] == sid and i["has_photo"] for i in listed)
    # Not an image, lying content type, wrong type, too large.
    r = await client.put(url, headers=org.h(org.staff1), files={"file": ("p.png", b"not an image", "image/png")})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    r = await client.put(url, headers=org.h(org.staff1), files={"file": ("p.png", _image("JPEG"), "image/png")})
    assert r.status_code == 415
    r = await client.put(url, headers=org.h(org.staff1), files={"file": ("p.gif", _image("GIF"), "image/gif")})
    assert r.status_code == 415
    big = b"\xff" * (state.settings.photo_max_bytes + 10)
    r = await client.put(url, headers=org.h(org.staff1), files={"file": ("p.jpg", big, "image/jpeg")})
    assert r.status_code == 413
    truncated = _image("PNG")[:400]
    r = await client.put(url, headers=org.h(org.staff1), files={"file": ("p.png", truncated, "image/png")})
    assert r.status_code == 422
    # The guardian cannot change it; deleting removes it.
    r = await client.put(url, headers=org.h(org.guardian), files={"file": ("p.png", _image("PNG"), "image/png")})
    assert r.status_code == 403
    assert (await client.delete(url, headers=org.h(org.staff1))).status_code == 204
    assert (await client.get(url, headers=org.h(org.staff1))).status_code == 404


async def test_delete_senior(client: httpx.AsyncClient, org: Org) -> None:
    sid = org.seniors[2]["id"]
    assert (await client.delete(f"/api/v1/seniors/{sid}", headers=org.h(org.staff2))).status_code == 403
    assert (await client.delete(f"/api/v1/seniors/{sid}", headers=org.h(org.admin))).status_code == 204
    assert (await client.get(f"/api/v1/seniors/{sid}", headers=org.h(org.admin))).status_code == 404


async def test_nul_characters_are_refused_not_a_server_error(client: httpx.AsyncClient, org: Org) -> None:
    body = '{"name": "A\\u0000B", "medications": [{"name": "x\\u0000"}]}'
    r = await client.post("/api/v1/seniors", headers={**org.h(org.admin), "content-type": "application/json"},
                          content=body)
    assert r.status_code == 422 and "U+0000" in r.json()["detail"]
    ok = await client.post("/api/v1/seniors", headers=org.h(org.admin), json={"name": "Plain name"})
    assert ok.status_code == 201


async def test_nul_in_query_parameters_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.get("/api/v1/seniors", headers=org.h(org.admin), params={"q": "a\x00b"})
    assert r.status_code == 422
    r = await client.get("/api/v1/audit", headers=org.h(org.admin), params={"action": "x\x00"})
    assert r.status_code == 422
