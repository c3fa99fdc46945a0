"""The identity repository's query budget: a page or an identity costs two queries, whatever its size."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from kratos.identity.model import Credentials, Identity, RecoveryAddress, VerifiableAddress
from kratos.identity.pool import ListQuery
from kratos.persistence import migrate
from kratos.persistence.database import Database
from kratos.persistence.identities import IdentityRepository


@contextmanager
def count_statements(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "ROLLBACK", "COMMIT", "PRAGMA")):
            statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


def make_identity(n: int) -> Identity:
    email = f"user{n}@example.com"
    return Identity(
        schema_id="default",
        traits={"email": email},
        credentials={
            "password": Credentials(
                type="password", identifiers=[email], config={"hashed_password": "$2a$04$x"}
            ),
            "oidc": Credentials(
                type="oidc", identifiers=[f"github:{n}", f"google:{n}"], config={"providers": []}
            ),
        },
        verifiable_addresses=[VerifiableAddress(value=email, via="email")],
        recovery_addresses=[RecoveryAddress(value=email, via="email")],
    )


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def dsn(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/queries.sqlite"
    return request.getfixturevalue(f"{request.param}_dsn")


def test_pages_and_identities_cost_two_queries(dsn: str) -> None:
    async def scenario() -> None:
        db = await Database.open(dsn)
        try:
            await migrate.upgrade(db.engine)
            repository = IdentityRepository(db)
            await repository.create_many([make_identity(n) for n in range(300)])

            with count_statements(db) as statements:
                page, next_after = await repository.list(ListQuery(page_size=250))
            assert len(page) == 250
            assert next_after is not None
            assert len(statements) <= 2
            assert all(len(identity.verifiable_addresses) == 1 for identity in page)

            with count_statements(db) as statements:
                rest, last = await repository.list(ListQuery(page_size=250, after=next_after))
            assert (len(rest), last) == (50, None)
            assert len(statements) <= 2

            with count_statements(db) as statements:
                one = await repository.get(page[0].id)
            assert one is not None
            assert len(statements) <= 2
            assert one.credentials["oidc"].identifiers == sorted(one.credentials["oidc"].identifiers)
            assert len(one.credentials["oidc"].identifiers) == 2
            assert one.credentials["password"].config == {"hashed_password": "$2a$04$x"}
            assert [a.value for a in one.recovery_addresses] == [one.traits["email"]]
        finally:
            await db.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("dsn", "slots"),
    [
        ("memory", 1),  # one shared connection: database work is serialised
        ("postgres://u@db/kratos?max_conns=5&max_idle_conns=2", 5),
        ("mysql://u@tcp(db:3306)/kratos?max_conns=3", 3),
    ],
)
def test_requests_queue_for_as_many_connections_as_the_pool_has(dsn: str, slots: int) -> None:
    async def scenario() -> int:
        db = await Database.open(dsn)
        try:
            return db._slots._value
        finally:
            await db.close()

    assert asyncio.run(scenario()) == slots
