"""Alembic environment: runs on the connection handed over by :mod:`kratos.persistence.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from kratos.persistence.tables import metadata


def _run(connection: Connection) -> None:
    """Run the migrations inside the caller's transaction (batch mode lets SQLite alter tables)."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("run migrations with `kratos migrate sql` or kratos.persistence.migrate")
_run(_connection)
