from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.pool import StaticPool

from kratos.persistence.dsn import DatabaseURL, InvalidDSNError, default_max_conns, parse_dsn

DEFAULT_POOL = {"pool_size": default_max_conns(), "max_overflow": 0}


def rendered(url: DatabaseURL) -> str:
    return url.url.render_as_string(hide_password=False)


@pytest.mark.parametrize(
    ("dsn", "expected_url", "expected_kwargs"),
    [
        (
            "postgres://kratos:secret@db:5432/kratos?sslmode=disable",
            "postgresql+asyncpg://kratos:secret@db:5432/kratos",
            {"connect_args": {"dsn": "postgresql://?sslmode=disable"}},
        ),
        ("postgresql://u@localhost/db", "postgresql+asyncpg://u@localhost/db", {}),
        (
            "postgres://u:p%40ss%2Fw@h/db%20x",
            "postgresql+asyncpg://u:p%40ss%2Fw@h/db x",
            {},
        ),
        ("postgres://u@[::1]:6432/db", "postgresql+asyncpg://u@[::1]:6432/db", {}),
        (
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=/ca.pem&application_name=kratos"
            "&connect_timeout=7&statement_cache_capacity=0&pool_max_conns=4&default_query_exec_mode=exec",
            "postgresql+asyncpg://u@h/db",
            {
                "connect_args": {
                    "timeout": 7.0,
                    "dsn": "postgresql://?sslmode=verify-full&sslrootcert=%2Fca.pem&application_name=kratos",
                }
            },
        ),
        (
            "postgres://u@h1:5432,h2:5433/db",
            "postgresql+asyncpg://u@/db",
            {"connect_args": {"dsn": "postgresql://?host=h1%3A5432%2Ch2%3A5433"}},
        ),
        (
            "mysql://root:se/cr@t@tcp(mysql:3306)/kratos?parseTime=true&multiStatements=true",
            "mysql+asyncmy://root:se%2Fcr%40t@mysql:3306/kratos?charset=utf8mb4",
            {},
        ),
        (
            "mysql://u:p%21@db/kratos",
            "mysql+asyncmy://u:p%21@db/kratos?charset=utf8mb4",
            {},
        ),
        (
            "mysql://u:p@db:3307/kratos?charset=utf8",
            "mysql+asyncmy://u:p@db:3307/kratos?charset=utf8",
            {},
        ),
        (
            "mysql://u@unix(/run/mysqld.sock)/kratos?parseTime=true",
            "mysql+asyncmy://u@/kratos?charset=utf8mb4",
            {"connect_args": {"unix_socket": "/run/mysqld.sock"}},
        ),
        (
            "mysql://u:p@tcp(h:3306)/k?timeout=1m&readTimeout=500ms&time_zone=%27%2B00%3A00%27",
            "mysql+asyncmy://u:p@h:3306/k?charset=utf8mb4",
            {
                "connect_args": {
                    "connect_timeout": 60,
                    "read_timeout": 0.5,
                    "init_command": "SET time_zone='+00:00'",
                }
            },
        ),
    ],
)
def test_server_dsns(dsn: str, expected_url: str, expected_kwargs: dict[str, Any]) -> None:
    url = parse_dsn(dsn)
    assert rendered(url) == expected_url
    assert url.engine_kwargs == {**DEFAULT_POOL, **expected_kwargs}
    assert url.dialect == ("postgres" if dsn.startswith("postgres") else "mysql")
    assert not url.is_memory
    assert url.on_connect == ()


def test_mysql_tls_becomes_an_ssl_context() -> None:
    import ssl

    context = parse_dsn("mysql://u:p@tcp(h)/k?tls=skip-verify").engine_kwargs["connect_args"]["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_NONE
    assert "connect_args" not in parse_dsn("mysql://u:p@tcp(h)/k?tls=false").engine_kwargs


FILE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
)


@pytest.mark.parametrize(
    ("dsn", "database"),
    [
        ("sqlite:///var/lib/kratos/db.sqlite?_fk=true&mode=rwc", "/var/lib/kratos/db.sqlite"),
        ("sqlite:///abs/db.sqlite", "/abs/db.sqlite"),
        ("sqlite://rel/db.sqlite?_fk=true", "rel/db.sqlite"),
        ("sqlite3:///abs/db.sqlite?_fk=true", "/abs/db.sqlite"),
        ("sqlite://file:/abs/db.sqlite?_fk=true", "/abs/db.sqlite"),
        ("sqlite://file:///abs/db.sqlite", "/abs/db.sqlite"),
        ("file:/abs/db.sqlite?_fk=true&cache=shared", "/abs/db.sqlite"),
        ("file:rel.sqlite", "rel.sqlite"),
    ],
)
def test_sqlite_file_dsns(dsn: str, database: str) -> None:
    url = parse_dsn(dsn)
    assert url.url.drivername == "sqlite+aiosqlite"
    assert url.url.database == database
    assert url.dialect == "sqlite"
    assert not url.is_memory
    assert url.on_connect == FILE_PRAGMAS
    assert url.begin == "BEGIN"


def test_sqlite_parameters_become_pragmas_and_transaction_mode() -> None:
    url = parse_dsn("sqlite:///db?_journal_mode=DELETE&_busy_timeout=100&_txlock=immediate&_sync=FULL")
    assert url.on_connect == (
        "PRAGMA foreign_keys=ON",
        "PRAGMA journal_mode=DELETE",
        "PRAGMA synchronous=FULL",
        "PRAGMA busy_timeout=100",
    )
    assert url.begin == "BEGIN IMMEDIATE"


def test_sqlite_read_only_mode_uses_a_uri_filename() -> None:
    url = parse_dsn("sqlite:///abs/db.sqlite?mode=ro")
    assert url.url.database == "file:/abs/db.sqlite"
    assert dict(url.url.query) == {"mode": "ro", "uri": "true"}


@pytest.mark.parametrize(
    "dsn",
    [
        "memory",
        "sqlite://:memory:",
        "sqlite://file::memory:?_fk=true&cache=shared",
        "sqlite://file:kratos?mode=memory&cache=shared",
        "file::memory:",
    ],
)
def test_memory_dsns(dsn: str) -> None:
    url = parse_dsn(dsn)
    assert url.is_memory
    assert url.dialect == "sqlite"
    assert url.url.database is None
    assert url.engine_kwargs == {"poolclass": StaticPool}
    assert url.on_connect == ("PRAGMA foreign_keys=ON",)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("max_conns=20", {"pool_size": 20, "max_overflow": 0}),
        ("max_conns=20&max_idle_conns=4", {"pool_size": 4, "max_overflow": 16}),
        ("max_conns=2&max_idle_conns=10", {"pool_size": 2, "max_overflow": 0}),
        ("max_idle_conns=3", {"pool_size": 3, "max_overflow": default_max_conns() - 3}),
        ("max_idle_conns=100", {"pool_size": 100, "max_overflow": 0}),
        ("max_conn_lifetime=1h30m", {**DEFAULT_POOL, "pool_recycle": 5400}),
        ("max_conn_lifetime=1h&max_conn_idle_time=90s", {**DEFAULT_POOL, "pool_recycle": 90}),
        ("max_conn_idle_time=1.5m", {**DEFAULT_POOL, "pool_recycle": 90}),
        ("max_conn_lifetime=0", DEFAULT_POOL),
    ],
)
def test_pool_parameters(query: str, expected: dict[str, int]) -> None:
    for dsn in (f"postgres://u@h/db?{query}", f"mysql://u@tcp(h)/db?{query}", f"sqlite:///db?{query}"):
        url = parse_dsn(dsn)
        assert {k: v for k, v in url.engine_kwargs.items() if k != "connect_args"} == expected
        assert "max_conn" not in rendered(url)
        assert "max_conn" not in str(url.engine_kwargs.get("connect_args"))


@pytest.mark.parametrize(
    ("dsn", "redacted"),
    [
        (
            "postgres://kratos:hunter2@db/kratos?sslmode=require",
            "postgres://kratos:***@db/kratos?sslmode=require",
        ),
        ("postgres://kratos@db/k?sslpassword=hunter2", "postgres://kratos@db/k?sslpassword=***"),
        (
            "mysql://root:hunter2@tcp(db:3306)/kratos?parseTime=true",
            "mysql://root:***@tcp(db:3306)/kratos?parseTime=true",
        ),
        ("mysql://root:hunter2@db/kratos", "mysql://root:***@db/kratos"),
        ("sqlite:///db.sqlite?_fk=true", "sqlite:///db.sqlite?_fk=true"),
        ("memory", "memory"),
    ],
)
def test_redacted_hides_secrets(dsn: str, redacted: str) -> None:
    url = parse_dsn(dsn)
    assert url.redacted() == redacted
    assert "hunter2" not in repr(url)


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("", "empty"),
        ("cockroach://root@crdb:26257/kratos", "CockroachDB is not supported"),
        ("cockroachdb://root@crdb:26257/kratos", "CockroachDB is not supported"),
        ("oracle://u:p@h/db", "unsupported scheme 'oracle'"),
        ("postgres:/nohost", "expected <scheme>://"),
        ("just-a-word", "expected <scheme>://"),
        ("postgres://u@h:99999/db", "port '99999'"),
        ("postgres://u@h:abc/db", "port 'abc'"),
        ("postgres://u@h/db?max_conns=many", "max_conns='many'"),
        ("postgres://u@h/db?max_conn_lifetime=10", "max_conn_lifetime='10' is not a duration"),
        ("postgres://u@h/db?connect_timeout=soon", "connect_timeout='soon'"),
        ("mysql://u:p@tcp(h:3306)", "needs a database"),
        ("mysql://u:p@udp(h:3306)/db", "unsupported MySQL network 'udp'"),
        ("mysql://u:p@tcp(h)/db?tls=custom", "tls='custom'"),
        ("sqlite:///db?mode=rx", "mode='rx'"),
        ("sqlite:///db?_txlock=later", "_txlock='later'"),
        ("sqlite:///db?_journal_mode=WAL;DROP", "invalid value"),
        ("sqlite:///db?_unknown=1", "unknown SQLite parameter '_unknown'"),
    ],
)
def test_malformed_dsns(dsn: str, message: str) -> None:
    with pytest.raises(InvalidDSNError, match="invalid dsn") as error:
        parse_dsn(dsn)
    assert message in str(error.value)
    assert isinstance(error.value, ValueError)


def test_error_for_unparseable_dsn_does_not_leak_the_password() -> None:
    with pytest.raises(InvalidDSNError) as error:
        parse_dsn("oracle://u:hunter2@h/db")
    assert "hunter2" not in str(error.value)
    with pytest.raises(InvalidDSNError) as error:
        parse_dsn("postgres:u:hunter2@h/db")
    assert "hunter2" not in str(error.value)
