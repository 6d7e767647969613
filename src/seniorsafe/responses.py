"""Fast JSON responses for hot read paths (the response_model still documents the shape)."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from fastapi.responses import Response


def _fallback(value: Any) -> Any:
    if isinstance(value, uuid.UUID):  # asyncpg returns its own UUID subclass
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=_fallback)


def fast_json(data: Any, status_code: int = 200) -> Response:
    return Response(dumps(data), status_code=status_code, media_type="application/json")
