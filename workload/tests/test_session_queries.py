"""The session repository: whoami is one statement, its answer from the row is the session's own JSON."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from kratos.identity.model import Identity, RecoveryAddress, VerifiableAddress
from kratos.persistence import migrate
from kratos.persistence.database import Database, DatabaseAway
from kratos.persistence.identities import IdentityRepository
from kratos.persistence.sessions import SessionRepository
from kratos.persistence.tables import identities
from kratos.schema import schema_url
from kratos.session.model import AuthenticationMethod, Device, Session
from kratos.session.tokens import token_hash

BASE = "http://127.0.0.1:4433/"
OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS


@contextmanager
def count_statements(db: Database) -> Iterator[list[str]]:
    """Every statement sent, through SQLAlchemy or (on PostgreSQL) straight on an asyncpg connection."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "ROLLBACK", "COMMIT", "PRAGMA")):
            statements.append(statement)

    def log_query(query: Any) -> None:
        statements.append(query.query)

    def on_checkout(dbapi_connection: Any, *_args: Any) -> None:
        if db.url.dialect == "postgres":
            dbapi_connection.driver_connection.add_query_logger(log_query)

    def on_return(dbapi_connection: Any, *_args: Any) -> None:
        if db.url.dialect == "postgres" and dbapi_connection is not None:
            dbapi_connection.driver_connection.remove_query_logger(log_query)

    kept = [fairy.dbapi_connection for fairy, _ in db._lane]  # checked out already, for the hot path
    for connection in kept:
        on_checkout(connection)
    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    event.listen(db.engine.sync_engine.pool, "checkout", on_checkout)
    event.listen(db.engine.sync_engine.pool, "checkin", on_return)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
        event.remove(db.engine.sync_engine.pool, "checkout", on_checkout)
        event.remove(db.engine.sync_engine.pool, "checkin", on_return)
        for connection in [*kept, *(fairy.dbapi_connection for fairy, _ in db._lane)]:
            on_return(connection)


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def dsn(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/sessions.sqlite"
    return request.getfixturevalue(f"{request.param}_dsn")


def rich_identity() -> Identity:
    """An identity with every field whoami shows set, and two addresses of each kind."""
    early = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return Identity(
        schema_id="default",
        traits={"email": "ada@example.com", "name": {"first": "Ada", "last": "L"}},
        metadata_public={"plan": "pro", "n": [1, 2]},
        metadata_admin={"secret": "never in whoami"},
        external_id="ext-42",
        verifiable_addresses=[
            VerifiableAddress(value="ada@example.com", via="email"),
            VerifiableAddress(
                value="a@example.org",
                via="email",
                verified=True,
                status="completed",
                verified_at=datetime(2026, 1, 3, tzinfo=UTC),
                created_at=early,
                updated_at=early,
            ),
        ],
        recovery_addresses=[
            RecoveryAddress(value="ada@example.com", via="email"),
            RecoveryAddress(value="a@example.org", via="email", created_at=early, updated_at=early),
        ],
    )


@asynccontextmanager
async def migrated(dsn: str) -> AsyncIterator[tuple[Database, SessionRepository]]:
    """A migrated database with the session repository over it, closed afterwards."""
    async with await Database.open(dsn) as db:
        await migrate.upgrade(db.engine)
        yield db, SessionRepository(db)


def new_session(identity: Identity, **fields: Any) -> Session:
    now = datetime.now(UTC)
    defaults: dict[str, Any] = {
        "identity_id": identity.id,
        "expires_at": now + timedelta(hours=1),
        "authentication_methods": [AuthenticationMethod("password", "aal1", now)],
        "devices": [Device("127.0.0.1", "pytest"), Device(None, None, "Berlin")],
    }
    return Session(**{**defaults, **fields})


def test_whoami_is_one_statement_and_the_same_json_as_the_session(dsn: str) -> None:
    async def scenario() -> None:
        async with migrated(dsn) as (db, repository):
            await IdentityRepository(db).create_many([identity := rich_identity()])
            session = new_session(identity)
            await repository.create(session, token_hash("ory_st_one"), token_hash("ory_lo_one"))
            await repository.whoami(token_hash("ory_st_one"))  # warm: connections, prepared statements

            with count_statements(db) as statements:
                found = await repository.whoami(token_hash("ory_st_one"))
                await asyncio.sleep(0)  # asyncpg reports queries on the next loop iteration
            assert len(statements) == 1, statements
            assert found is not None

            stored = await repository.by_token(token_hash("ory_st_one"))
            assert stored is not None
            assert stored.identity is not None
            expected = stored.to_json(
                stored.identity.to_json(schema_url(BASE, stored.identity.schema_id), admin=False)
            )
            found.body["identity"]["schema_url"] = schema_url(BASE, "default")
            assert orjson.loads(orjson.dumps(found.body, default=str, option=OPTIONS)) == orjson.loads(
                orjson.dumps(expected, default=str, option=OPTIONS)
            )
            assert orjson.dumps(found.body, default=str, option=OPTIONS) == orjson.dumps(
                expected, default=str, option=OPTIONS
            ), "the same bytes, keys in the same order"
            assert found.body["active"] is True
            assert "metadata_admin" not in found.body["identity"]
            assert found.available_aal is None

            with count_statements(db) as statements:
                assert await repository.whoami(token_hash("ory_st_unknown")) is None
                await asyncio.sleep(0)
            assert len(statements) == 1

    asyncio.run(scenario())


def test_whoami_reports_inactive_sessions_and_the_available_aal(dsn: str) -> None:
    async def scenario() -> None:
        async with migrated(dsn) as (db, repository):
            await IdentityRepository(db).create_many([identity := rich_identity()])
            past = datetime.now(UTC) - timedelta(seconds=1)
            await repository.create(new_session(identity), token_hash("ory_st_a"), token_hash("ory_lo_a"))
            expired = new_session(identity, expires_at=past)
            await repository.create(expired, token_hash("ory_st_b"), token_hash("ory_lo_b"))
            revoked = new_session(identity, active=False)
            await repository.create(revoked, token_hash("ory_st_c"), token_hash("ory_lo_c"))

            states = {}
            for name in "abc":
                found = await repository.whoami(token_hash(f"ory_st_{name}"))
                assert found is not None
                states[name] = found.body["active"]
            assert states == {"a": True, "b": False, "c": False}

            async with db.transaction() as conn:
                await conn.execute(sa.update(identities).values(available_aal="aal2", state="inactive"))
            found = await repository.whoami(token_hash("ory_st_a"))
            assert found is not None
            assert (found.available_aal, found.body["active"]) == ("aal2", False)
            assert found.body["identity"]["state"] == "inactive"

    asyncio.run(scenario())


def test_a_lost_connection_is_reported_as_the_database_being_away(postgres_dsn: str) -> None:
    async def scenario() -> None:
        async with migrated(postgres_dsn) as (_, repository):
            assert await repository.whoami(token_hash(f"ory_st_{uuid.uuid4().hex}")) is None
            async with await Database.open(postgres_dsn) as other, other.engine.connect() as conn:
                await conn.execute(  # end the repository's connection, as a database restart would
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            await asyncio.sleep(0.2)
            with pytest.raises(DatabaseAway):
                await repository.whoami(token_hash("ory_st_x"))
            assert await repository.whoami(token_hash("ory_st_x")) is None, "the broken connection is gone"

    asyncio.run(scenario())


def test_a_new_session_reads_back_as_created(dsn: str) -> None:
    async def scenario() -> None:
        async with migrated(dsn) as (db, repository):
            await IdentityRepository(db).create_many([identity := rich_identity()])
            for devices in ([Device("10.0.0.1:5", "one device")], [], [Device(None, None), Device("a", "b")]):
                session = new_session(identity, devices=devices, aal="aal2")
                with count_statements(db) as statements:
                    await repository.create(
                        session, token_hash(f"ory_st_{session.id}"), token_hash(str(session.id))
                    )
                    await asyncio.sleep(0)
                if db.url.dialect == "postgres" and len(devices) == 1:
                    assert len(statements) == 1, "a session and its device in one statement"
                stored = await repository.get(session.id, with_identity=False, with_devices=True)
                assert stored is not None
                for name in ("identity_id", "aal", "active", "authenticated_at", "issued_at", "expires_at"):
                    assert getattr(stored, name) == getattr(session, name), name
                assert stored.authentication_methods == session.authentication_methods
                assert sorted((d.id, d.ip_address, d.user_agent) for d in stored.devices) == sorted(
                    (d.id, d.ip_address, d.user_agent) for d in devices
                )

    asyncio.run(scenario())


def test_connections_kept_for_whoami_never_starve_the_pool(postgres_dsn: str) -> None:
    async def scenario() -> None:
        async with migrated(f"{postgres_dsn}&max_conns=2") as (db, repository):
            unknown = token_hash("ory_st_nobody")
            assert await asyncio.gather(*(repository.whoami(unknown) for _ in range(8))) == [None] * 8
            assert len(db._lane) == 2, "both connections kept for the hot path"
            async with asyncio.timeout(10):  # each would wait 30 s for the pool if nothing gave one back
                assert await repository.by_token(unknown) is None
                await db.ping()
                mixed = [repository.by_token(unknown), repository.whoami(unknown)] * 4
                assert await asyncio.gather(*mixed) == [None] * 8

    asyncio.run(scenario())
