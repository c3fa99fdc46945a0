"""Portable column types: UTC timestamps, JSON (JSONB on PostgreSQL) and UUIDs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Uuid
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["JSONType", "UTCDateTime", "Uuid"]


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and always read back as a timezone-aware UTC ``datetime``.

    Binding a naive ``datetime`` raises ``ValueError``: its time zone would be a guess.
    MySQL gets ``DATETIME(6)`` so microseconds survive as on the other databases.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Microsecond precision on MySQL; a plain ``TIMESTAMP``/``DATETIME`` elsewhere."""
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC and drop the time zone."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"UTCDateTime needs a timezone-aware datetime, got naive {value.isoformat()}")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Mark the stored UTC value as UTC."""
        if value is None:
            return None
        if value.tzinfo is not None:
            return value.astimezone(UTC)
        return value.replace(tzinfo=UTC)


class JSONType(TypeDecorator[Any]):
    """JSON everywhere, ``JSONB`` on PostgreSQL. Python ``None`` is SQL ``NULL`` (not JSON ``null``)."""

    impl = JSON
    cache_ok = True

    def __init__(self, none_as_null: bool = True) -> None:
        super().__init__(none_as_null=none_as_null)
        self.none_as_null = none_as_null

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """``JSONB`` on PostgreSQL."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB(none_as_null=self.none_as_null))
        return dialect.type_descriptor(JSON(none_as_null=self.none_as_null))
