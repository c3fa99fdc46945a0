"""Schema migrations with Alembic, run programmatically on an async engine.

Revisions live in ``kratos/persistence/migrations/versions/`` as ``<NNNN>_<name>.py`` and form one line:
adding a migration is adding one file whose ``down_revision`` is the previous head.
Each run is one transaction (PostgreSQL and SQLite roll back a failed run entirely; MySQL commits DDL
as it goes) and, on PostgreSQL, holds an advisory lock so concurrent runs wait for each other.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

SCRIPT_LOCATION = "kratos.persistence:migrations"
_PG_LOCK_KEY = 0x4B7261746F73  # "Kratos"


class MigrationError(RuntimeError):
    """The database's migration state cannot be handled (unknown revision, broken foreign keys...)."""


@dataclass(frozen=True)
class MigrationStatus:
    """One revision and whether the database has it."""

    revision: str
    name: str
    applied: bool


def alembic_config() -> Config:
    """Return an Alembic config pointing at the packaged migrations (no ``alembic.ini`` needed)."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


@cache
def _scripts() -> tuple[Script, ...]:
    """All revisions, oldest first."""
    directory = ScriptDirectory.from_config(alembic_config())
    return tuple(reversed(list(directory.walk_revisions())))


def revisions() -> list[tuple[str, str]]:
    """``(revision, name)`` of every known migration, oldest first."""
    return [(script.revision, _name(script)) for script in _scripts()]


def _name(script: Script) -> str:
    stem = os.path.splitext(os.path.basename(script.path))[0]
    prefix = f"{script.revision}_"
    return stem[len(prefix) :] if stem.startswith(prefix) else stem


def _applied_count(connection: Connection) -> int:
    """How many of the known revisions the database has (they apply in order)."""
    heads = [str(head) for head in MigrationContext.configure(connection).get_current_heads()]
    if not heads:
        return 0
    known = [script.revision for script in _scripts()]
    if len(heads) > 1 or heads[0] not in known:
        raise MigrationError(
            f"the database is at revision {', '.join(heads)}, which this version does not know"
            " (was it migrated by a newer version?)"
        )
    return known.index(heads[0]) + 1


async def status(engine: AsyncEngine) -> list[MigrationStatus]:
    """Every known revision, oldest first, with whether it is applied."""
    async with engine.connect() as connection:
        applied = await connection.run_sync(_applied_count)
    return [
        MigrationStatus(revision, name, index < applied) for index, (revision, name) in enumerate(revisions())
    ]


async def pending(engine: AsyncEngine) -> list[str]:
    """List the revisions not applied yet, in the order they will run."""
    return [entry.revision for entry in await status(engine) if not entry.applied]


async def is_migrated(engine: AsyncEngine) -> bool:
    """Whether every known revision is applied."""
    return not await pending(engine)


async def upgrade(engine: AsyncEngine, steps: int | None = None) -> list[str]:
    """Apply the next ``steps`` pending revisions (all when ``None``); return those applied."""
    if steps is not None and steps < 0:
        raise ValueError("steps must not be negative")

    def plan(applied: int) -> tuple[list[Script], str]:
        chosen = list(_scripts()[applied:])[:steps]
        return chosen, chosen[-1].revision if chosen else ""

    return await _run(engine, plan, command.upgrade)


async def downgrade(engine: AsyncEngine, steps: int = 1) -> list[str]:
    """Revert the last ``steps`` applied revisions; return those reverted, newest first."""
    if steps < 0:
        raise ValueError("steps must not be negative")

    def plan(applied: int) -> tuple[list[Script], str]:
        chosen = list(reversed(_scripts()[:applied]))[:steps]
        target = chosen[-1].down_revision if chosen else None
        return chosen, target if isinstance(target, str) else "base"

    return await _run(engine, plan, command.downgrade)


async def _run(
    engine: AsyncEngine,
    plan: Callable[[int], tuple[list[Script], str]],
    action: Callable[[Config, str], None],
) -> list[str]:
    def run(connection: Connection) -> list[str]:
        with _sqlite_foreign_keys_off(connection), connection.begin():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
            chosen, target = plan(_applied_count(connection))
            if chosen:
                config = alembic_config()
                config.attributes["connection"] = connection
                action(config, target)
                _check_foreign_keys(connection)
            return [script.revision for script in chosen]

    async with engine.connect() as connection:
        return await connection.run_sync(run)


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite: batch migrations copy and drop tables, which must not cascade; checked before commit."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _check_foreign_keys(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise MigrationError(f"the migration left rows with dangling foreign keys: {broken[:5]}")
