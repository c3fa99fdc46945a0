"""Child rows as one JSON array column, so a parent and its children come back in one row.

Each database spells JSON aggregation differently; values come back as JSON scalars (UUIDs and times as
text in the database's own format), which :func:`parse_uuid` and :func:`parse_time` read back.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

_FUNCTIONS = {
    "postgresql": ("json_agg", "json_build_object"),
    "sqlite": ("json_group_array", "json_object"),
    "mysql": ("json_arrayagg", "json_object"),
}


def json_array(
    dialect: str, columns: Mapping[str, sa.ColumnElement[Any]], where: sa.ColumnElement[bool]
) -> sa.ScalarSelect[Any]:
    """``(SELECT <array of objects with these keys> WHERE where)``: NULL when there is no row.

    The keys are SQL literals, not bound parameters: the statement then has only the caller's parameters.
    """
    aggregate, build = _FUNCTIONS[dialect]
    pairs: list[Any] = []
    for key, column in columns.items():
        if not key.isidentifier():
            raise ValueError(f"JSON keys must be identifiers, got {key!r}")
        pairs.extend((sa.literal_column(f"'{key}'"), column))
    return (
        sa.select(getattr(sa.func, aggregate)(getattr(sa.func, build)(*pairs))).where(where).scalar_subquery()
    )


def rows(value: Any) -> list[dict[str, Any]]:
    """The objects of an aggregated column (drivers hand over text or decoded JSON)."""
    if value is None:
        return []
    if isinstance(value, str | bytes):
        value = orjson.loads(value)
    return value


def parse_uuid(value: str) -> uuid.UUID:
    """A UUID as any database renders it (with or without dashes)."""
    return uuid.UUID(value)


def parse_time(value: str) -> datetime:
    """A stored UTC timestamp rendered as text (``T`` or space, with or without an offset)."""
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
