"""Values of rows read by asyncpg itself (see :class:`~kratos.persistence.database.Prepared`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson


def json_value(value: Any) -> Any:
    """A JSON column of a prepared statement's row: text from asyncpg, already decoded elsewhere."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def utc_value(value: datetime) -> datetime:
    """A timestamp column of a prepared statement's row (naive UTC from asyncpg), timezone-aware."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
