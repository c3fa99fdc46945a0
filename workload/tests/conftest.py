"""Shared fixtures: a PostgreSQL cluster and a MariaDB server per session, a fresh database per test, and
an OpenID provider on loopback per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from mysql import MySQLServer, find_server, start_mysql
from postgres import PostgresCluster, find_bindir, start_postgres

if TYPE_CHECKING:
    from oidc_provider import OpenIdProvider

pytest_plugins = ["server_fixtures"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A running PostgreSQL cluster (skipped when PostgreSQL is not installed)."""
    if find_bindir() is None:
        missing = "PostgreSQL binaries (initdb, pg_ctl) are not installed"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    with start_postgres() as cluster:
        yield cluster


@pytest.fixture
def postgres_dsn(postgres: PostgresCluster) -> str:
    """The DSN of a new, empty database."""
    return postgres.create_database(f"test_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def mysql() -> Iterator[MySQLServer]:
    """A running MariaDB/MySQL server (skipped when it is not installed; CI installs it)."""
    if find_server() is None:
        missing = "MariaDB/MySQL (mariadbd) is not installed: apt-get install mariadb-server"
        if os.environ.get("CI"):
            pytest.fail(f"{missing} (.ci/run installs it)")
        pytest.skip(missing)
    with start_mysql() as server:
        yield server


@pytest.fixture
def mysql_dsn(mysql: MySQLServer) -> str:
    """The DSN of a new, empty MySQL database."""
    return mysql.create_database(f"test_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def oidc_provider() -> Iterator[OpenIdProvider]:
    """A running OpenID provider on 127.0.0.1 (see ``oidc_provider.py``), stopped afterwards."""
    from oidc_provider import OpenIdProvider  # Flask and authlib load only for the tests that use it

    with OpenIdProvider() as provider:
        yield provider
