"""Seniors, their guardians and their responsible staff. Every read is scoped in the query."""

from __future__ import annotations

import base64
import binascii
import io
import uuid
from typing import Any

import orjson
from PIL import Image, UnidentifiedImageError
from sqlalchemy import (
    ClauseElement,
    ColumnElement,
    Integer,
    Select,
    String,
    Uuid,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.models import Role, User
from seniorsafe.accounts.security import Principal
from seniorsafe.audit.service import record
from seniorsafe.config import Settings
from seniorsafe.db import Database, Precompiled
from seniorsafe.errors import Invalid, NotFound, PayloadTooLarge, UnsupportedMedia
from seniorsafe.homes.models import Home
from seniorsafe.readcache import ReadCache
from seniorsafe.responses import dumps
from seniorsafe.seniors.models import RISK_RANK, Guardian, RiskLevel, Senior, StaffAssignment
from seniorsafe.seniors.schemas import GuardianIn, GuardianUpdate, SeniorCreate, SeniorUpdate
from seniorsafe.storage import ObjectNotFound, Storage

# ---------------------------------------------------------------- scoping


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """The WHERE clause that limits `Senior` rows to what this caller may see."""
    return _visibility(principal.role, principal.org_id, principal.user_id)


def _visibility(role: Role, org: Any, user: Any) -> ColumnElement[bool]:
    same_org = Senior.org_id == org
    if role is Role.admin:
        return same_org
    if role is Role.staff:
        assigned = exists().where(StaffAssignment.senior_id == Senior.id, StaffAssignment.user_id == user)
        return and_(same_org, assigned)
    linked = exists().where(Guardian.senior_id == Senior.id, Guardian.user_id == user)
    return and_(same_org, linked)


def _visible_to_viewer(role: Role) -> ColumnElement[bool]:
    """visible_to with the caller as bind parameters (`viewer_org`, `viewer_user`), for precompiled queries."""
    return _visibility(role, bindparam("viewer_org", type_=Uuid), bindparam("viewer_user", type_=Uuid))


def _viewer(principal: Principal) -> dict[str, Any]:
    return {"viewer_org": principal.org_id, "viewer_user": principal.user_id}


def visible_senior_ids(principal: Principal) -> Select[uuid.UUID]:
    return select(Senior.id).where(visible_to(principal))


async def get_visible_senior(session: AsyncSession, principal: Principal, senior_id: uuid.UUID,
                             *, for_update: bool = False) -> Senior:
    query = select(Senior).where(Senior.id == senior_id, visible_to(principal))
    if for_update:
        query = query.with_for_update()
    senior = await session.scalar(query)
    if senior is None:
        raise NotFound(f"senior {senior_id} not found")
    return senior


# ---------------------------------------------------------------- list with keyset pagination

SUMMARY_COLUMNS = (Senior.id, Senior.name, Senior.birth_date, Senior.sex, Senior.address, Senior.risk_level,
                   Senior.risk_changed_at, Senior.risk_rank, Senior.photo_key)


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> list[Any]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if sort == "urgency":
            rank, name, ident = values
            return [int(rank), str(name), uuid.UUID(ident)]
        name, ident = values
        return [str(name), uuid.UUID(ident)]
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise Invalid("cursor is not valid for this listing",
                      extra={"errors": [{"field": "cursor", "message": "malformed cursor"}]}) from exc


_LIST_QUERIES: dict[tuple[Role, str, bool, bool, bool], Precompiled] = {}


def _list_query(role: Role, sort: str, by_risk: bool, by_name: bool, after: bool) -> Precompiled:
    """The list statement of one shape, built once with bind parameters."""
    key = (role, sort, by_risk, by_name, after)
    if key not in _LIST_QUERIES:
        _LIST_QUERIES[key] = Precompiled(lambda: _build_list_query(*key))
    return _LIST_QUERIES[key]


def _build_list_query(role: Role, sort: str, by_risk: bool, by_name: bool, after: bool) -> ClauseElement:
    query = select(*SUMMARY_COLUMNS).where(_visible_to_viewer(role))
    if by_risk:
        risk_levels = ARRAY(Senior.__table__.c.risk_level.type)
        query = query.where(Senior.risk_level == any_(bindparam("risks", type_=risk_levels)))
    if by_name:
        query = query.where(Senior.name.ilike(bindparam("pattern", type_=String), escape="\\"))
    after_name = tuple_(Senior.name, Senior.id) > tuple_(bindparam("c_name", type_=String),
                                                         bindparam("c_id", type_=Uuid))
    if sort == "urgency":
        if after:
            rank = bindparam("c_rank", type_=Integer)
            query = query.where(or_(Senior.risk_rank < rank, and_(Senior.risk_rank == rank, after_name)))
        query = query.order_by(Senior.risk_rank.desc(), Senior.name, Senior.id)
    else:
        if after:
            query = query.where(after_name)
        query = query.order_by(Senior.name, Senior.id)
    return query.limit(bindparam("lim", type_=Integer))


async def list_seniors(
    session: AsyncSession, principal: Principal, *, risk: list[RiskLevel] | None, q: str | None, sort: str,
    limit: int, cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    params: dict[str, Any] = {**_viewer(principal), "lim": limit + 1}
    if risk:
        params["risks"] = [r.value for r in risk]
    if q:
        params["pattern"] = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if cursor:
        keys = decode_cursor(cursor, sort)
        params.update(zip(("c_rank", "c_name", "c_id") if sort == "urgency" else ("c_name", "c_id"), keys,
                          strict=True))
    query = _list_query(principal.role, sort, bool(risk), bool(q), bool(cursor))
    rows = await query.fetch(session, params)
    items = [summary_dict(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        keys = [last["risk_rank"], last["name"], str(last["id"])] if sort == "urgency" else [last["name"],
                                                                                            str(last["id"])]
        next_cursor = encode_cursor(keys)
    return items, next_cursor


def _cache_scope(principal: Principal) -> tuple[str, uuid.UUID]:
    """Who shares cached reads: an organisation's admins see the same; staff and guardians each their own."""
    return principal.role.value, principal.org_id if principal.is_admin else principal.user_id


async def list_seniors_json(
    db: Database, reads: ReadCache, principal: Principal, *, risk: list[RiskLevel] | None, q: str | None,
    sort: str, limit: int, cursor: str | None,
) -> bytes:
    """The list page as JSON, from the read cache when nothing it shows has changed since it was rendered."""
    async def render() -> bytes:
        async with db.sessions() as session:
            items, next_cursor = await list_seniors(session, principal, risk=risk, q=q, sort=sort, limit=limit,
                                                    cursor=cursor)
        return dumps({"items": items, "next_cursor": next_cursor})

    key = ("list", *_cache_scope(principal), tuple(sorted(risk or ())), q, sort, limit, cursor)
    return await reads.get_or_render(principal.org_id, key, render)


def summary_dict(row: Any) -> dict[str, Any]:
    """A list item from a row (a mapping: asyncpg record or ORM object's attributes)."""
    return {
        "id": row["id"], "name": row["name"], "birth_date": row["birth_date"], "sex": row["sex"],
        "address": row["address"], "risk_level": row["risk_level"], "risk_changed_at": row["risk_changed_at"],
        "has_photo": row["photo_key"] is not None,
    }


# ---------------------------------------------------------------- detail, create, update, delete


DETAIL_COLUMNS = (*SUMMARY_COLUMNS, Senior.phone, Senior.health_conditions, Senior.medications, Senior.mobility,
                  Senior.notes, Senior.video_consent, Senior.created_at, Senior.updated_at)


def _guardians_json() -> Any:
    row = func.json_build_object(
        "id", Guardian.id, "senior_id", Guardian.senior_id, "name", Guardian.name, "relation", Guardian.relation,
        "phone", Guardian.phone, "email", Guardian.email, "notification_preferences",
        Guardian.notification_preferences, "user_id", Guardian.user_id, "priority", Guardian.priority)
    agg = func.coalesce(func.json_agg(aggregate_order_by(row, Guardian.priority, Guardian.name)), text("'[]'"))
    return select(agg).where(Guardian.senior_id == Senior.id).scalar_subquery()


def _staff_json() -> Any:
    row = func.json_build_object("user_id", User.id, "name", User.name, "phone", User.phone, "email", User.email,
                                 "is_primary", StaffAssignment.is_primary)
    agg = func.coalesce(func.json_agg(aggregate_order_by(row, StaffAssignment.is_primary.desc(), User.name)),
                        text("'[]'"))
    return (select(agg).select_from(StaffAssignment).join(User, User.id == StaffAssignment.user_id)
            .where(StaffAssignment.senior_id == Senior.id).scalar_subquery())


_DETAIL_QUERIES: dict[Role, Precompiled] = {}


def _build_detail_query(role: Role) -> ClauseElement:
    home_id = select(Home.id).where(Home.senior_id == Senior.id).scalar_subquery()
    return (select(*DETAIL_COLUMNS, _guardians_json().label("guardians"), _staff_json().label("staff"),
                   home_id.label("home_id"))
            .where(Senior.id == bindparam("senior_id", type_=Uuid), _visible_to_viewer(role)))


async def senior_detail(session: AsyncSession, principal: Principal, senior_id: uuid.UUID) -> dict[str, Any]:
    """Profile, guardians, staff and home of one senior in a single round trip."""
    query = _DETAIL_QUERIES.setdefault(principal.role, Precompiled(lambda: _build_detail_query(principal.role)))
    rows = await query.fetch(session, {**_viewer(principal), "senior_id": senior_id})
    if not rows:
        raise NotFound(f"senior {senior_id} not found")
    row = rows[0]
    data = summary_dict(row)
    data.update({key: row[key] for key in ("phone", "health_conditions", "medications", "mobility", "notes",
                                           "video_consent", "created_at", "updated_at", "guardians", "staff",
                                           "home_id")})
    return data


async def senior_detail_json(db: Database, reads: ReadCache, principal: Principal, senior_id: uuid.UUID) -> bytes:
    """senior_detail as JSON, from the read cache when nothing it shows has changed since it was rendered."""
    async def render() -> bytes:
        async with db.sessions() as session:
            return dumps(await senior_detail(session, principal, senior_id))

    return await reads.get_or_render(principal.org_id, ("detail", *_cache_scope(principal), senior_id), render)


async def _check_staff_members(session: AsyncSession, principal: Principal, user_ids: list[uuid.UUID]) -> None:
    if not user_ids:
        return
    found = set(await session.scalars(select(User.id).where(
        User.id.in_(user_ids), User.org_id == principal.org_id, User.role.in_([Role.staff, Role.admin]),
        User.is_active.is_(True))))
    missing = [str(u) for u in user_ids if u not in found]
    if missing:
        raise Invalid(f"not active staff of this organisation: {', '.join(missing)}",
                      extra={"errors": [{"field": "staff_ids", "message": "unknown staff member"}]})


async def create_senior(session: AsyncSession, principal: Principal, data: SeniorCreate,
                        ip: str | None) -> Senior:
    await _check_staff_members(session, principal, data.staff_ids)
    fields = data.model_dump(exclude={"staff_ids"})
    senior = Senior(org_id=principal.org_id, risk_level=RiskLevel.unknown, settings={}, **fields)
    session.add(senior)
    await session.flush()
    for i, staff_id in enumerate(dict.fromkeys(data.staff_ids)):
        session.add(StaffAssignment(senior_id=senior.id, user_id=staff_id, is_primary=i == 0))
    record(session, action="senior.created", entity="senior", entity_id=senior.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip)
    await session.commit()
    return senior


async def update_senior(session: AsyncSession, principal: Principal, senior_id: uuid.UUID, data: SeniorUpdate,
                        ip: str | None) -> Senior:
    senior = await get_visible_senior(session, principal, senior_id, for_update=True)
    changes = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        setattr(senior, field, value)
    record(session, action="senior.updated", entity="senior", entity_id=senior.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip, fields=sorted(changes))
    await session.commit()
    await session.refresh(senior)
    return senior


async def delete_senior(session: AsyncSession, storage: Storage, principal: Principal, senior_id: uuid.UUID,
                        ip: str | None) -> None:
    senior = await get_visible_senior(session, principal, senior_id, for_update=True)
    photo = senior.photo_key
    await session.delete(senior)
    record(session, action="senior.deleted", entity="senior", entity_id=senior_id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip, name=senior.name)
    await session.commit()
    if photo:
        await storage.delete(photo)


# ---------------------------------------------------------------- photos

PHOTO_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
MAX_PIXELS = 40_000_000


def normalise_photo(raw: bytes, content_type: str | None, settings: Settings) -> bytes:
    """Check that the upload is a real image of an accepted type, and return a resized JPEG."""
    if len(raw) > settings.photo_max_bytes:
        raise PayloadTooLarge(f"photo is larger than {settings.photo_max_bytes // 1024} KiB")
    if not raw:
        raise Invalid("photo file is empty", extra={"errors": [{"field": "file", "message": "empty file"}]})
    if content_type not in PHOTO_TYPES:
        raise UnsupportedMedia(f"photo must be one of {', '.join(PHOTO_TYPES)}; got {content_type}")
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            if probe.format != PHOTO_TYPES[content_type]:
                raise UnsupportedMedia(f"file content is {probe.format}, not {content_type}")
            if probe.width * probe.height > MAX_PIXELS:
                raise PayloadTooLarge("photo has too many pixels")
            probe.verify()
        with Image.open(io.BytesIO(raw)) as decoded:
            decoded.load()
            image = decoded.convert("RGB")
        image.thumbnail((settings.photo_max_side, settings.photo_max_side))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85, optimize=True)
        return out.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise Invalid("photo could not be decoded as an image",
                      extra={"errors": [{"field": "file", "message": "not a decodable image"}]}) from exc


async def set_photo(session: AsyncSession, storage: Storage, settings: Settings, principal: Principal,
                    senior_id: uuid.UUID, raw: bytes, content_type: str | None, ip: str | None) -> None:
    senior = await get_visible_senior(session, principal, senior_id, for_update=True)
    jpeg = normalise_photo(raw, content_type, settings)
    key = f"photos/{senior.id}/{uuid.uuid4().hex}.jpg"
    await storage.put(key, jpeg, "image/jpeg")
    old, senior.photo_key = senior.photo_key, key
    record(session, action="senior.photo_set", entity="senior", entity_id=senior.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip, bytes=len(jpeg))
    await session.commit()
    if old:
        await storage.delete(old)


async def get_photo(session: AsyncSession, storage: Storage, principal: Principal, senior_id: uuid.UUID) -> bytes:
    senior = await get_visible_senior(session, principal, senior_id)
    if not senior.photo_key:
        raise NotFound("this senior has no photo")
    try:
        return await storage.get(senior.photo_key)
    except ObjectNotFound as exc:
        raise NotFound("the photo is missing from storage") from exc


async def delete_photo(session: AsyncSession, storage: Storage, principal: Principal, senior_id: uuid.UUID,
                       ip: str | None) -> None:
    senior = await get_visible_senior(session, principal, senior_id, for_update=True)
    old, senior.photo_key = senior.photo_key, None
    record(session, action="senior.photo_deleted", entity="senior", entity_id=senior.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip)
    await session.commit()
    if old:
        await storage.delete(old)


# ---------------------------------------------------------------- guardians


async def list_guardians_of(session: AsyncSession, senior_id: uuid.UUID) -> list[Guardian]:
    return list(await session.scalars(
        select(Guardian).where(Guardian.senior_id == senior_id).order_by(Guardian.priority, Guardian.name)))


async def list_guardians(session: AsyncSession, principal: Principal, senior_id: uuid.UUID) -> list[Guardian]:
    senior = await get_visible_senior(session, principal, senior_id)
    return await list_guardians_of(session, senior.id)


async def _check_guardian_user(session: AsyncSession, principal: Principal, user_id: uuid.UUID | None) -> None:
    if user_id is None:
        return
    ok = await session.scalar(select(User.id).where(User.id == user_id, User.org_id == principal.org_id,
                                                    User.role == Role.guardian))
    if ok is None:
        raise Invalid("user_id must be a guardian user of this organisation",
                      extra={"errors": [{"field": "user_id", "message": "not a guardian user"}]})


async def _get_guardian(session: AsyncSession, principal: Principal, senior_id: uuid.UUID,
                        guardian_id: uuid.UUID) -> Guardian:
    senior = await get_visible_senior(session, principal, senior_id)
    guardian = await session.scalar(select(Guardian).where(Guardian.id == guardian_id,
                                                           Guardian.senior_id == senior.id))
    if guardian is None:
        raise NotFound(f"guardian {guardian_id} not found")
    return guardian


async def add_guardian(session: AsyncSession, principal: Principal, senior_id: uuid.UUID, data: GuardianIn,
                       ip: str | None) -> Guardian:
    senior = await get_visible_senior(session, principal, senior_id)
    await _check_guardian_user(session, principal, data.user_id)
    guardian = Guardian(senior_id=senior.id, **data.model_dump(exclude={"notification_preferences"}))
    guardian.notification_preferences = data.notification_preferences.model_dump(mode="json")
    session.add(guardian)
    await session.flush()
    record(session, action="guardian.created", entity="guardian", entity_id=guardian.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip, senior_id=senior.id)
    await session.commit()
    return guardian


async def update_guardian(session: AsyncSession, principal: Principal, senior_id: uuid.UUID,
                          guardian_id: uuid.UUID, data: GuardianUpdate, ip: str | None) -> Guardian:
    guardian = await _get_guardian(session, principal, senior_id, guardian_id)
    changes = data.model_dump(exclude_unset=True)
    if "user_id" in changes:
        await _check_guardian_user(session, principal, changes["user_id"])
    if data.notification_preferences is not None:
        changes["notification_preferences"] = data.notification_preferences.model_dump(mode="json")
    for field, value in changes.items():
        setattr(guardian, field, value)
    record(session, action="guardian.updated", entity="guardian", entity_id=guardian.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip, fields=sorted(changes))
    await session.commit()
    return guardian


async def remove_guardian(session: AsyncSession, principal: Principal, senior_id: uuid.UUID,
                          guardian_id: uuid.UUID, ip: str | None) -> None:
    guardian = await _get_guardian(session, principal, senior_id, guardian_id)
    await session.delete(guardian)
    record(session, action="guardian.deleted", entity="guardian", entity_id=guardian_id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip, senior_id=senior_id)
    await session.commit()


# ---------------------------------------------------------------- staff assignments


async def list_staff_of(session: AsyncSession, senior_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(User.id, User.name, User.phone, User.email, StaffAssignment.is_primary)
        .join(StaffAssignment, StaffAssignment.user_id == User.id)
        .where(StaffAssignment.senior_id == senior_id)
        .order_by(StaffAssignment.is_primary.desc(), User.name))
    return [{"user_id": r.id, "name": r.name, "phone": r.phone, "email": r.email, "is_primary": r.is_primary}
            for r in rows]


async def list_staff(session: AsyncSession, principal: Principal, senior_id: uuid.UUID) -> list[dict[str, Any]]:
    senior = await get_visible_senior(session, principal, senior_id)
    return await list_staff_of(session, senior.id)


async def assign_staff(session: AsyncSession, principal: Principal, senior_id: uuid.UUID, user_id: uuid.UUID,
                       is_primary: bool, ip: str | None) -> None:
    senior = await get_visible_senior(session, principal, senior_id)
    await _check_staff_members(session, principal, [user_id])
    existing = await session.get(StaffAssignment, (senior.id, user_id))
    if existing is None:
        session.add(StaffAssignment(senior_id=senior.id, user_id=user_id, is_primary=is_primary))
    else:
        existing.is_primary = is_primary
    record(session, action="assignment.set", entity="senior", entity_id=senior.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip, user_id=user_id, is_primary=is_primary)
    await session.commit()


async def unassign_staff(session: AsyncSession, principal: Principal, senior_id: uuid.UUID, user_id: uuid.UUID,
                         ip: str | None) -> None:
    senior = await get_visible_senior(session, principal, senior_id)
    result = await session.execute(delete(StaffAssignment).where(StaffAssignment.senior_id == senior.id,
                                                                 StaffAssignment.user_id == user_id))
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound(f"user {user_id} is not assigned to this senior")
    record(session, action="assignment.removed", entity="senior", entity_id=senior.id, org_id=principal.org_id,
           actor_id=principal.user_id, ip=ip, user_id=user_id)
    await session.commit()


def risk_rank(level: RiskLevel) -> int:
    return RISK_RANK[level]
