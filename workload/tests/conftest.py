"""Shared fixtures: PostgreSQL and MariaDB per session, a fresh database per test; an OpenID provider on
loopback per test; Ory Hydra per session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from go_toolchain import GoUnavailable
from hydra import Hydra, StubPages
from hydra_build import HYDRA_VERSION, hydra_binary
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


@pytest.fixture(scope="session")
def hydra_bin() -> Path:
    """The Ory Hydra binary (built once from the Go module proxy; skipped when neither Go nor it is there)."""
    try:
        return hydra_binary()
    except GoUnavailable as exc:
        pytest.skip(f"Ory Hydra {HYDRA_VERSION} cannot be built: {exc}")


@pytest.fixture(scope="session")
def hydra_pages() -> Iterator[StubPages]:
    """The login, consent and logout UIs and the OAuth2 client's callback: ``/login``, ``/consent``, ..."""
    pages = StubPages()
    pages.start()
    yield pages
    pages.stop()


@pytest.fixture(scope="session")
def start_hydra(
    hydra_bin: Path,
    postgres: PostgresCluster,
    hydra_pages: StubPages,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., Hydra]]:
    """Start a migrated Hydra on a new PostgreSQL database (``login_url`` default: ``hydra_pages`` /login)."""
    started: list[Hydra] = []

    def start(login_url: str | None = None) -> Hydra:
        hydra = Hydra(
            hydra_bin,
            tmp_path_factory.mktemp("hydra"),
            postgres.create_database(f"hydra_{uuid.uuid4().hex[:12]}"),
            login_url=login_url or hydra_pages.url("/login"),
            consent_url=hydra_pages.url("/consent"),
            logout_url=hydra_pages.url("/logout"),
        )
        started.append(hydra)
        hydra.migrate()
        return hydra.start()

    yield start
    for hydra in started:
        hydra.stop()


@pytest.fixture(scope="session")
def hydra(start_hydra: Callable[..., Hydra]) -> Hydra:
    """A running Hydra whose login, consent and logout UIs are ``hydra_pages``."""
    return start_hydra()
