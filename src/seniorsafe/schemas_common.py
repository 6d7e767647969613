"""Pieces shared by the request schemas of every domain."""

from __future__ import annotations

from typing import Any


def reject_null(value: Any) -> Any:
    """For partial updates: a field may be omitted, but where the column cannot be empty it may not be null."""
    if value is None:
        raise ValueError("may be omitted but not null")
    return value
