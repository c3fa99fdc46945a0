"""Statements of the hot path, compiled once and run on PostgreSQL by asyncpg itself."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

if TYPE_CHECKING:
    from kratos.persistence.database import Database


class Prepared:
    """A statement compiled once, run in one round trip, without SQLAlchemy's execution layer on PostgreSQL.

    Its parameters are positional, in the order of its ``bindparam``s. On PostgreSQL it runs on a pooled
    asyncpg connection itself (see :meth:`Database.native`), which keeps it prepared; the columns' bind
    processing (time zones, JSON) is applied here, and rows come as asyncpg decodes them (naive UTC
    timestamps, JSON as text). Elsewhere it runs through SQLAlchemy, types processed both ways.

    A write runs as one statement: without BEGIN/COMMIT on PostgreSQL, in its own transaction elsewhere.
    """

    def __init__(self, db: Database, statement: sa.Executable) -> None:
        self.db = db
        self.statement = statement
        dialect = db.engine.dialect
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        self.names: tuple[str, ...] = tuple(compiled.positiontup or compiled.params)
        self.native = db.url.dialect == "postgres"
        self.sql = str(compiled)
        processors = (compiled.binds[name].type.bind_processor(dialect) for name in self.names)
        self._processors: tuple[Callable[[Any], Any] | None, ...] = tuple(processors)

    def _args(self, args: Iterable[Any]) -> list[Any]:
        return [value if p is None else p(value) for p, value in zip(self._processors, args, strict=True)]

    async def first(self, *args: Any) -> Mapping[str, Any] | None:
        """The first row of a read (as a mapping by column label), or None."""
        if not self.native:
            async with self.db.read() as conn:
                row = (await conn.execute(self.statement, dict(zip(self.names, args, strict=True)))).first()
            return row._mapping if row is not None else None  # type: ignore[return-value]
        async with self.db.native() as connection:
            return await connection.fetchrow(self.sql, *self._args(args))

    async def execute(self, **params: Any) -> int:
        """Run a write with its parameters by name; how many rows it changed (with a CTE: the main one's)."""
        if not self.native:
            async with self.db.transaction() as conn:
                result = await conn.execute(self.statement, params)
            return result.rowcount
        async with self.db.native() as connection:
            status: str = await connection.execute(self.sql, *self._args(params[name] for name in self.names))
        return int(status.rsplit(" ", 1)[-1])  # "UPDATE 1", "INSERT 0 1"


def json_value(value: Any) -> Any:
    """A JSON column of a :class:`Prepared` row: text from asyncpg, already decoded elsewhere."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def utc_value(value: datetime) -> datetime:
    """A timestamp column of a :class:`Prepared` row (naive UTC from asyncpg), timezone-aware."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
