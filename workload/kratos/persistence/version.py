"""Whether a database is fully migrated, answered without loading Alembic (it costs ~10 MiB per process)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

# The newest revision in migrations/versions/; test_migrations.py fails when a new migration forgets it.
HEAD_REVISION = "0006"
VERSION_TABLE = "alembic_version"


def _versions(connection: Connection) -> set[str]:
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return set()
    rows = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))  # noqa: S608 - a constant
    return {str(row[0]) for row in rows}


async def is_migrated(engine: AsyncEngine) -> bool:
    """Whether the database is at the newest revision this build knows."""
    async with engine.connect() as connection:
        return await connection.run_sync(_versions) == {HEAD_REVISION}
