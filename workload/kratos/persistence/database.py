"""The database handle: one async engine per process, built from a Kratos DSN."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

import orjson
import sqlalchemy as sa
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolProxiedConnection, QueuePool
from sqlalchemy.util.concurrency import greenlet_spawn

from kratos.persistence import version
from kratos.persistence.dsn import DatabaseURL, parse_dsn


class DatabaseAway(Exception):
    """The database is away for now: it refuses connections, shuts down or starts up, or a connection broke.

    Raised from the driver's error by :meth:`Database.read` and :meth:`Database.transaction`.
    """


LANE_SECONDS = 30.0
"""How long the hot path keeps a connection checked out before the pool gets it back (to recycle it)."""

# Lost or refused connections and pool timeouts: the same request may well succeed later (503, not 500).
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    DatabaseAway,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    OSError,
)
# SQLSTATE classes of a server that is away: 08 connection exception (the connection is gone), 53 insufficient
# resources (too many connections), 57 operator intervention (shutting down, starting up, restarting).
_UNAVAILABLE_SQLSTATES = frozenset({"08", "53", "57"})


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is away (a 503: the request may succeed later), not a bug (a 500).

    A restart surfaces as a mix of errors that SQLAlchemy wraps in its generic ``DBAPIError``:
    ``AdminShutdownError`` (57P01) and ``CannotConnectNowError`` (57P03) from the server,
    ``ConnectionDoesNotExistError`` (08003) and ``InternalClientError`` from asyncpg on a broken connection.
    """
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    asyncpg = sys.modules.get("asyncpg")  # loaded only when a PostgreSQL engine is in use
    seen: BaseException | None = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    while seen is not None:
        sqlstate = getattr(seen, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate[:2] in _UNAVAILABLE_SQLSTATES:
            return True
        if asyncpg is not None and isinstance(seen, asyncpg.exceptions.InternalClientError):
            return True
        seen = seen.__cause__
    return False


def _raise_if_away(exc: sa_exc.DBAPIError) -> None:
    if not isinstance(exc, UNAVAILABLE_ERRORS) and unavailable(exc):
        raise DatabaseAway(str(exc.orig)) from exc


def _dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()  # asyncpg hands out its own UUID type


def create_engine(url: DatabaseURL) -> AsyncEngine:
    """Build the async engine for ``url``.

    SQLite gets its pragmas (foreign keys, WAL, ...) on every connection and real transactions: the
    driver's implicit BEGIN is turned off and SQLAlchemy emits ``url.begin`` itself, so reads and DDL
    are transactional too.
    """
    engine = create_async_engine(
        url.url, json_serializer=_dumps, json_deserializer=orjson.loads, **url.engine_kwargs
    )
    if url.dialect == "sqlite":
        _configure_sqlite(engine, url)
    return engine


_BEGIN = "kratos_sqlite_begin"  # execution option: the statement that opens a SQLite transaction


def _configure_sqlite(engine: AsyncEngine, url: DatabaseURL) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for statement in url.on_connect:
                cursor.execute(statement)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get(_BEGIN, url.begin))


def _pool_capacity(engine: AsyncEngine) -> int:
    """How many connections the engine's pool can hand out at once (1 for the single ``memory`` one)."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return 1
    overflow: int = getattr(pool, "_max_overflow", 0)  # QueuePool has no public accessor for it
    return max(1, pool.size() + max(0, overflow))


class Database:
    """Owns the engine; open with :meth:`open`, close with :meth:`close` (or ``async with``)."""

    def __init__(self, url: DatabaseURL, engine: AsyncEngine) -> None:
        self.url = url
        self.engine = engine
        # Reads that need no transaction skip BEGIN/ROLLBACK round trips; SQLite keeps its own handling.
        self.reader = (
            engine if url.dialect == "sqlite" else engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        # Requests queue here, first come first served, for one of the pool's connections: the pool's own
        # queue lets newcomers overtake waiters, which under load leaves a few requests waiting seconds.
        self._capacity = _pool_capacity(engine)
        self._slots = asyncio.Semaphore(self._capacity)
        # PostgreSQL connections kept checked out between prepared statements (with when they were taken), so
        # the hot path skips the pool's checkout and return; handed back whenever the pool runs out.
        self._lane: list[tuple[PoolProxiedConnection, float]] = []
        self._isolated: dict[str, AsyncEngine] = {}  # engines of other isolation levels, sharing the pool
        # SQLite write transactions take the write lock at BEGIN: a deferred one that read first fails at
        # once (SQLITE_BUSY, no busy_timeout) when another connection wrote meanwhile. Reads stay deferred.
        self._writer = (
            engine.execution_options(**{_BEGIN: "BEGIN IMMEDIATE"})
            if url.dialect == "sqlite" and url.begin == "BEGIN"
            else engine
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads, without a transaction where the database allows."""
        try:
            async with self._slots:
                await self._room()
                async with self.reader.connect() as connection:
                    yield connection
        except sa_exc.DBAPIError as exc:
            _raise_if_away(exc)
            raise

    @asynccontextmanager
    async def transaction(self, isolation_level: str | None = None) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction, committed when the block ends without an error.

        ``isolation_level`` (e.g. "READ COMMITTED") overrides the database's default for this transaction.
        """
        engine = self._writer
        if isolation_level is not None:
            engine = self._isolated.get(isolation_level) or self._isolated.setdefault(
                isolation_level, engine.execution_options(isolation_level=isolation_level)
            )
        try:
            async with self._slots:
                await self._room()
                async with engine.begin() as connection:
                    yield connection
        except sa_exc.DBAPIError as exc:
            _raise_if_away(exc)
            raise

    async def _room(self) -> None:
        """Hand the pool back kept connections until it has one to give (the caller holds a slot)."""
        while self._lane and self.engine.pool.checkedout() >= self._capacity:  # type: ignore[attr-defined]
            await greenlet_spawn(self._lane.pop()[0].close)

    @asynccontextmanager
    async def native(self) -> AsyncIterator[Any]:
        """A PostgreSQL connection's asyncpg connection itself, for one statement without a transaction.

        Kept checked out afterwards for the next caller, up to ``LANE_SECONDS``; a lost one is discarded
        with every other kept one, and the error raised as :class:`DatabaseAway`.
        """
        try:
            async with self._slots:
                fairy, since = self._lane.pop() if self._lane else (await self.reader.raw_connection(), 0.0)
                since = since or time.monotonic()
                try:
                    yield fairy.driver_connection
                except BaseException as exc:
                    if not isinstance(exc, Exception) or _lost(exc):  # cancelled mid-query, or broken
                        fairy.invalidate(exc if isinstance(exc, Exception) else None)
                        await greenlet_spawn(fairy.close)
                        await self._drain(invalidate=True)
                        raise
                    self._keep(fairy, since)
                    raise
                if time.monotonic() - since > LANE_SECONDS:  # let the pool recycle and count it
                    await greenlet_spawn(fairy.close)
                else:
                    self._keep(fairy, since)
        except sa_exc.DBAPIError as exc:  # from the pool, opening a connection
            _raise_if_away(exc)
            raise
        except Exception as exc:
            if _lost(exc) and not isinstance(exc, UNAVAILABLE_ERRORS):
                raise DatabaseAway(str(exc)) from exc
            raise

    def _keep(self, fairy: PoolProxiedConnection, since: float) -> None:
        self._lane.append((fairy, since))

    async def _drain(self, *, invalidate: bool = False) -> None:
        """Hand every kept connection back (``invalidate``: after a lost one, they are as suspect)."""
        while self._lane:
            fairy, _ = self._lane.pop()
            if invalidate:
                fairy.invalidate()
            await greenlet_spawn(fairy.close)

    def prepare(self, statement: sa.Executable) -> Prepared:
        """``statement`` compiled once, for the hot path (see :class:`Prepared`)."""
        return Prepared(self, statement)

    @classmethod
    async def open(cls, dsn: str) -> Database:
        """Parse ``dsn`` and create the engine (connections are made lazily)."""
        url = parse_dsn(dsn)
        return cls(url, create_engine(url))

    async def ping(self, timeout: float | None = None) -> None:
        """Run ``SELECT 1``; raise when the database does not answer (within ``timeout`` seconds)."""
        async with asyncio.timeout(timeout):
            await self._drain()  # the pool may be all kept by the hot path
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

    async def is_migrated(self) -> bool:
        """Whether every known migration is applied."""
        return await version.is_migrated(self.engine)

    async def migrate_if_memory(self) -> None:
        """Create the schema of an in-memory database, which starts empty on every run."""
        if self.url.is_memory:
            from kratos.persistence import migrate  # Alembic is loaded only where migrations run

            await migrate.upgrade(self.engine)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._drain()
        await self.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"Database({self.url.redacted()!r})"


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


def _lost(exc: BaseException) -> bool:
    """Whether an error of the asyncpg connection itself says the database or the connection is away."""
    if unavailable(exc):
        return True
    asyncpg = sys.modules.get("asyncpg")
    return (
        asyncpg is not None
        and isinstance(exc, asyncpg.InterfaceError)  # "connection is closed", ...
        and not isinstance(exc, asyncpg.DataError)  # a parameter of the wrong type: a bug
    )
