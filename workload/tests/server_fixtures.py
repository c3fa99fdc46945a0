"""Fixtures that run the real server on SQLite and on PostgreSQL, with the official SDK as client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import ory_kratos_client
import pytest
from kratos_process import KratosProcess


def running_kratos(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    overrides: dict[str, Any] | None = None,
    *serve_args: str,
    database: str | None = None,
) -> Iterator[KratosProcess]:
    """A migrated, running ``kratos serve`` on ``database`` (default: the one ``request.param`` names)."""
    database = database or request.param
    workdir = tmp_path_factory.mktemp(f"kratos-{database}")
    if database == "sqlite":
        dsn = f"sqlite://{workdir}/kratos.sqlite?_fk=true"
    else:
        server = request.getfixturevalue(database)
        dsn = server.create_database(f"kratos_{uuid.uuid4().hex[:12]}")
    kratos = KratosProcess(workdir, dsn, overrides=overrides or {})
    kratos.migrate()
    kratos.start(*serve_args)
    yield kratos
    kratos.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mysql"])
def kratos(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KratosProcess]:
    """A migrated, running ``kratos serve`` per test module and database (SQLite, PostgreSQL, MySQL)."""
    yield from running_kratos(request, tmp_path_factory)


@pytest.fixture(scope="module")
def admin_client(kratos: KratosProcess) -> Iterator[ory_kratos_client.ApiClient]:
    """The official SDK pointed at the admin port."""
    with ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=kratos.admin_url)) as client:
        yield client


@pytest.fixture(scope="module")
def identity_api(admin_client: ory_kratos_client.ApiClient) -> ory_kratos_client.IdentityApi:
    """``IdentityApi`` of the SDK, on the admin port."""
    return ory_kratos_client.IdentityApi(admin_client)


@pytest.fixture(scope="module")
def public_client(kratos: KratosProcess) -> Iterator[ory_kratos_client.ApiClient]:
    """The official SDK pointed at the public port."""
    with ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=kratos.public_url)) as client:
        yield client
