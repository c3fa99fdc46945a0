from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, func, insert, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from kratos.persistence import migrate
from kratos.persistence.database import Database
from kratos.persistence.migrate import MigrationStatus
from kratos.persistence.tables import (
    identities,
    identity_credential_identifiers,
    identity_credentials,
    identity_verifiable_addresses,
    metadata,
)

T = TypeVar("T")
TABLES = {
    "identities",
    "identity_credentials",
    "identity_credential_identifiers",
    "identity_verifiable_addresses",
    "identity_recovery_addresses",
    "sessions",
    "session_devices",
    "selfservice_flows",
    "selfservice_codes",
    "selfservice_errors",
    "courier_messages",
    "courier_message_dispatches",
}


@pytest.fixture(params=["sqlite", "memory", "postgres", "mysql"])
def dsn(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/kratos.sqlite?_fk=true&mode=rwc"
    if request.param == "memory":
        return "memory"
    return request.getfixturevalue(f"{request.param}_dsn")


def with_db(dsn: str, work: Callable[[Database], Awaitable[T]]) -> T:
    async def main() -> T:
        async with await Database.open(dsn) as db:
            return await work(db)

    return asyncio.run(main())


async def table_names(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


def now() -> datetime:
    return datetime.now(UTC)


def identity_row(**values: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "schema_id": "default",
        "traits": {"email": "a@example.com"},
        "created_at": now(),
        "updated_at": now(),
        **values,
    }


REVISIONS = [
    ("0001", "identities"),
    ("0002", "sessions_and_flows"),
    ("0003", "courier"),
    ("0004", "recovery_and_verification"),
    ("0005", "login_and_registration_codes"),
    ("0006", "session_token_exchanges"),
]


def test_up_status_and_down(dsn: str) -> None:
    ids = [revision for revision, _ in REVISIONS]

    async def work(db: Database) -> None:
        assert await migrate.status(db.engine) == [MigrationStatus(*n, applied=False) for n in REVISIONS]
        assert await migrate.pending(db.engine) == ids
        assert not await db.is_migrated()

        assert await migrate.upgrade(db.engine) == ids
        assert await table_names(db) >= TABLES
        assert await migrate.status(db.engine) == [MigrationStatus(*n, applied=True) for n in REVISIONS]
        assert await db.is_migrated()
        assert await migrate.upgrade(db.engine) == []  # re-running is a no-op

        for revision in reversed(ids):
            assert await migrate.downgrade(db.engine) == [revision]
        assert not TABLES & await table_names(db)
        assert await migrate.pending(db.engine) == ids
        assert await migrate.downgrade(db.engine, steps=len(ids) + 1) == []

        for revision in ids:
            assert await migrate.upgrade(db.engine, steps=1) == [revision]
        assert await migrate.upgrade(db.engine, steps=1) == []

    with_db(dsn, work)


def test_migrated_schema_matches_the_tables_module(dsn: str) -> None:
    def compare(conn: Connection) -> list[Any]:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)

    def names(conn: Connection) -> dict[str, set[str]]:
        inspector = inspect(conn)
        found: dict[str, set[str]] = {}
        for table in TABLES:
            found[table] = {c["name"] or "" for c in inspector.get_unique_constraints(table)}
            found[table] |= {i["name"] or "" for i in inspector.get_indexes(table) if not i.get("unique")}
            found[table] |= {fk["name"] or "" for fk in inspector.get_foreign_keys(table)}
        return found

    async def work(db: Database) -> tuple[list[Any], dict[str, set[str]]]:
        await migrate.upgrade(db.engine)
        async with db.engine.connect() as conn:
            return await conn.run_sync(compare), await conn.run_sync(names)

    differences, found = with_db(dsn, work)
    assert differences == []
    for table in TABLES:
        constraints = metadata.tables[table].constraints
        declared = {str(c.name) for c in constraints if not str(c.name).startswith(("pk_", "ck_"))}
        declared |= {str(i.name) for i in metadata.tables[table].indexes}
        assert found[table] == declared, table


def test_constraints_cascades_and_types(dsn: str) -> None:
    identity = identity_row(
        created_at=datetime(2024, 5, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    )
    credential_id = uuid.uuid4()

    async def work(db: Database) -> None:
        await migrate.upgrade(db.engine)
        async with db.engine.begin() as conn:
            await conn.execute(insert(identities).values(identity))
            await conn.execute(
                insert(identity_credentials).values(
                    id=credential_id, identity_id=identity["id"], type="password",
                    config={"hashed_password": "$2a$..."}, created_at=now(), updated_at=now(),
                )
            )  # fmt: skip
            await conn.execute(
                insert(identity_credential_identifiers).values(
                    id=uuid.uuid4(), identity_credential_id=credential_id, identity_id=identity["id"],
                    type="password", identifier="a@example.com", created_at=now(), updated_at=now(),
                )
            )  # fmt: skip
            await conn.execute(
                insert(identity_verifiable_addresses).values(
                    id=uuid.uuid4(), identity_id=identity["id"], via="email", value="a@example.com",
                    verified=False, status="pending", created_at=now(), updated_at=now(),
                )
            )  # fmt: skip

        async with db.engine.connect() as conn:
            row = (await conn.execute(select(identities))).one()
        assert row.state == "active"  # server default
        assert row.traits == {"email": "a@example.com"}
        assert row.metadata_public is None
        assert row.created_at == datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
        assert row.created_at.tzinfo is UTC

        async with db.engine.connect() as conn:  # None is stored as SQL NULL, not JSON null
            nulls = await conn.scalar(select(func.count()).where(identities.c.metadata_public.is_(None)))
            version = await conn.scalar(select(identity_credentials.c.version))
        assert nulls == 1
        assert version == 0

        with pytest.raises(IntegrityError):  # UNIQUE(type, identifier)
            async with db.engine.begin() as conn:
                await conn.execute(
                    insert(identity_credential_identifiers).values(
                        id=uuid.uuid4(), identity_credential_id=credential_id, identity_id=identity["id"],
                        type="password", identifier="a@example.com", created_at=now(), updated_at=now(),
                    )
                )  # fmt: skip
        # external_id must not be empty (MariaDB reports CHECK violations as an OperationalError)
        with pytest.raises((IntegrityError, OperationalError)):
            async with db.engine.begin() as conn:
                await conn.execute(insert(identities).values(identity_row(external_id="")))
        with pytest.raises(IntegrityError):  # foreign key to identities
            async with db.engine.begin() as conn:
                await conn.execute(
                    insert(identity_credentials).values(
                        id=uuid.uuid4(), identity_id=uuid.uuid4(), type="password", config={},
                        created_at=now(), updated_at=now(),
                    )
                )  # fmt: skip
        with pytest.raises(StatementError, match="timezone-aware"):
            async with db.engine.begin() as conn:
                await conn.execute(insert(identities).values(identity_row(created_at=datetime(2024, 1, 1))))

        async with db.engine.begin() as conn:
            await conn.execute(delete(identities).where(identities.c.id == identity["id"]))
        async with db.engine.connect() as conn:
            for table in (
                identity_credentials,
                identity_credential_identifiers,
                identity_verifiable_addresses,
            ):
                assert await conn.scalar(select(func.count()).select_from(table)) == 0, table.name

    with_db(dsn, work)


def test_memory_database_is_migrated_on_the_engine_the_server_uses() -> None:
    async def work(db: Database) -> set[str]:
        assert not await db.is_migrated()
        await db.migrate_if_memory()
        assert await db.is_migrated()
        return await table_names(db)

    assert with_db("memory", work) >= TABLES


def test_migrate_if_memory_leaves_files_alone(tmp_path: Path) -> None:
    async def work(db: Database) -> bool:
        await db.migrate_if_memory()
        return await db.is_migrated()

    assert not with_db(f"sqlite://{tmp_path}/db.sqlite", work)


def test_sqlite_file_pragmas(tmp_path: Path) -> None:
    async def work(db: Database) -> tuple[Any, ...]:
        async with db.engine.connect() as conn:
            return tuple(
                [
                    await conn.scalar(text(f"PRAGMA {name}"))
                    for name in ("foreign_keys", "journal_mode", "synchronous")
                ]
            )

    assert with_db(f"sqlite://{tmp_path}/db.sqlite?_fk=true", work) == (1, "wal", 1)


def test_sqlite_transactions_are_real(tmp_path: Path) -> None:
    """DDL and reads run inside BEGIN, so a failed migration-style block rolls back entirely."""

    async def work(db: Database) -> set[str]:
        async def fail() -> None:
            async with db.engine.begin() as conn:
                await conn.execute(text("CREATE TABLE scratch (id INTEGER)"))
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            await fail()
        return await table_names(db)

    assert "scratch" not in with_db(f"sqlite://{tmp_path}/db.sqlite", work)


def test_ping_and_unreachable_database(postgres_dsn: str) -> None:
    async def ping(db: Database) -> None:
        await db.ping(timeout=10)

    with_db(postgres_dsn, ping)
    with pytest.raises(OSError, match="Connect call failed"):
        with_db("postgres://postgres@127.0.0.1:1/none?sslmode=disable", ping)


def test_unknown_revision_in_database_is_reported(tmp_path: Path) -> None:
    async def work(db: Database) -> None:
        await migrate.upgrade(db.engine)
        async with db.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(migrate.MigrationError, match="9999"):
            await migrate.status(db.engine)

    with_db(f"sqlite://{tmp_path}/db.sqlite", work)


def test_the_quick_migration_check_knows_the_newest_revision() -> None:
    from kratos.persistence import migrate, version

    assert migrate.revisions()[-1][0] == version.HEAD_REVISION
