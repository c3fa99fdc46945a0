"""Shared fixtures: a PostgreSQL cluster per session, a fresh database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from postgres import PostgresCluster, find_bindir, start_postgres

pytest_plugins = ["server_fixtures"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A running PostgreSQL cluster (skipped when PostgreSQL is not installed)."""
    if find_bindir() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    with start_postgres() as cluster:
        yield cluster


@pytest.fixture
def postgres_dsn(postgres: PostgresCluster) -> str:
    """The DSN of a new, empty database."""
    return postgres.create_database(f"test_{uuid.uuid4().hex[:12]}")
