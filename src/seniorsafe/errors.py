"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error a caller can act on. Raised by services; rendered as problem details."""

    status = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers


class NotFound(Problem):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(Problem):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class Forbidden(Problem):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class Unauthorized(Problem):
    status = 401
    title = "Unauthorized"
    type_slug = "unauthorized"

    def __init__(self, detail: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class TooManyRequests(Problem):
    status = 429
    title = "Too many requests"
    type_slug = "rate-limited"


class Invalid(Problem):
    status = 422
    title = "Invalid input"
    type_slug = "validation"


class PayloadTooLarge(Problem):
    status = 413
    title = "Payload too large"
    type_slug = "payload-too-large"


class UnsupportedMedia(Problem):
    status = 415
    title = "Unsupported media type"
    type_slug = "unsupported-media-type"


def problem_response(
    status: int, title: str, detail: str, *, slug: str, instance: str | None = None,
    extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[0] if loc else "request")


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, slug=exc.type_slug,
                                instance=request.url.path, extra=exc.extra, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_name(e.get("loc", ())), "message": e.get("msg", "invalid"), "type": e.get("type")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(422, "Invalid input", detail, slug="validation",
                                instance=request.url.path, extra={"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized"}.get(exc.status_code, "Error")
        return problem_response(exc.status_code, title, str(exc.detail), slug=f"http-{exc.status_code}",
                                instance=request.url.path, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "Internal error", "an unexpected error occurred; it has been logged",
                                slug="internal", instance=request.url.path)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"},
                                                       "type": {"type": ["string", "null"]}}},
        },
    },
}

_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
PROBLEM_STATUSES = {
    "400": "Bad request", "401": "Not signed in, or the token is invalid", "403": "Not allowed for this role",
    "404": "Not found, or not visible to the caller", "409": "Conflicts with existing data",
    "413": "Payload too large", "415": "Unsupported media type", "422": "Invalid input (fields named in errors)",
    "429": "Rate limited",
}


def document_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """Declare problem-details responses on every operation (replacing FastAPI's default 422 shape)."""
    openapi.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    schemas = openapi["components"]["schemas"]
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for path_item in openapi.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, description in PROBLEM_STATUSES.items():
                responses[status] = {"description": description, "content": _PROBLEM_CONTENT}
    return openapi
