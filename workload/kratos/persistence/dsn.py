"""Kratos DSNs (``postgres://``, ``mysql://u:p@tcp(h)/db``, ``sqlite://``, ``memory``) -> SQLAlchemy URLs."""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from sqlalchemy import URL
from sqlalchemy.pool import StaticPool

Dialect = Literal["postgres", "mysql", "sqlite"]

MEMORY = "memory"
_SECRET_PARAMS = frozenset({"password", "sslpassword"})
_POOL_PARAMS = frozenset({"max_conns", "max_idle_conns", "max_conn_lifetime", "max_conn_idle_time"})
# Parameters consumed by pgx/pgxpool that mean nothing to PostgreSQL or asyncpg.
_PGX_ONLY = frozenset(
    {
        "statement_cache_capacity",
        "description_cache_capacity",
        "default_query_exec_mode",
        "prefer_simple_protocol",
        "min_read_buffer_size",
        "sslsni",
    }
)
# go-sql-driver/mysql parameters with no asyncmy counterpart.
_GO_MYSQL_ONLY = frozenset(
    {
        "parseTime",
        "multiStatements",
        "loc",
        "collation",
        "writeTimeout",
        "allowNativePasswords",
        "allowCleartextPasswords",
        "allowAllFiles",
        "allowOldPasswords",
        "allowFallbackToPlaintext",
        "interpolateParams",
        "clientFoundRows",
        "columnsWithAlias",
        "rejectReadOnly",
        "maxAllowedPacket",
        "checkConnLiveness",
        "serverPubKey",
        "connectionAttributes",
    }
)
# go-sqlite3 (mattn) connection parameters -> SQLite pragmas.
_SQLITE_PRAGMAS = {
    "_journal_mode": "journal_mode",
    "_journal": "journal_mode",
    "_synchronous": "synchronous",
    "_sync": "synchronous",
    "_busy_timeout": "busy_timeout",
    "_timeout": "busy_timeout",
    "_cache_size": "cache_size",
    "_locking_mode": "locking_mode",
    "_locking": "locking_mode",
    "_auto_vacuum": "auto_vacuum",
    "_vacuum": "auto_vacuum",
    "_case_sensitive_like": "case_sensitive_like",
    "_cslike": "case_sensitive_like",
    "_recursive_triggers": "recursive_triggers",
    "_rt": "recursive_triggers",
    "_secure_delete": "secure_delete",
    "_query_only": "query_only",
    "_ignore_check_constraints": "ignore_check_constraints",
}
_SQLITE_IGNORED = frozenset({"_fk", "_foreign_keys", "cache", "_loc", "_mutex", "vfs", "_defer_foreign_keys"})
_SQLITE_TXLOCK = {"deferred": "BEGIN", "immediate": "BEGIN IMMEDIATE", "exclusive": "BEGIN EXCLUSIVE"}
_PRAGMA_VALUE = re.compile(r"^[A-Za-z0-9_-]+$")
_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class InvalidDSNError(ValueError):
    """The ``dsn`` setting cannot be understood."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"invalid dsn: {problem}")


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed DSN: everything needed to build the async engine.

    ``on_connect`` holds SQL run on every new connection (SQLite pragmas) and ``begin`` the statement
    that opens a transaction on SQLite (``_txlock``); both are empty for other databases.
    """

    url: URL
    dialect: Dialect
    engine_kwargs: dict[str, Any] = field(default_factory=dict)
    is_memory: bool = False
    on_connect: tuple[str, ...] = ()
    begin: str = "BEGIN"
    display: str = field(default="", repr=False)

    def redacted(self) -> str:
        """Return the DSN with its password hidden, safe to log."""
        return self.display or self.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"DatabaseURL({self.redacted()!r})"


def parse_dsn(dsn: str) -> DatabaseURL:
    """Parse a Kratos DSN; raise :class:`InvalidDSNError` when it is malformed or unsupported."""
    dsn = dsn.strip()
    if not dsn:
        raise InvalidDSNError("the DSN is empty")
    if dsn == MEMORY:
        return _memory(MEMORY)
    scheme, sep, rest = dsn.partition(":")
    scheme = scheme.lower()
    if scheme == "file":
        return _sqlite(dsn, dsn)
    if not sep or not rest.startswith("//"):
        raise InvalidDSNError("expected <scheme>://... (postgres, mysql, sqlite) or 'memory'")
    parser = _PARSERS.get(scheme)
    if parser is None:
        if scheme in ("cockroach", "cockroachdb", "crdb"):
            raise InvalidDSNError("CockroachDB is not supported; use PostgreSQL, MySQL or SQLite")
        raise InvalidDSNError(f"unsupported scheme {scheme!r} (use postgres, mysql, sqlite or memory)")
    return parser(dsn, rest[2:])


# --- PostgreSQL ----------------------------------------------------------------------------------------


def _postgres(dsn: str, _rest: str) -> DatabaseURL:
    parts = urlsplit(dsn)
    params = _query(parts.query)
    pool = _pool_kwargs(params)
    connect_args: dict[str, Any] = {}
    if "connect_timeout" in params:
        connect_args["timeout"] = _number(params.pop("connect_timeout"), "connect_timeout")
    libpq = {k: v for k, v in params.items() if k not in _PGX_ONLY and not k.startswith("pool_")}
    host, port = _host_port(parts.netloc)
    if "," in host:  # several hosts: asyncpg parses the list itself
        libpq["host"], host = host, ""
    if libpq:  # sslmode, sslrootcert, ... and runtime parameters, understood by asyncpg as in libpq
        connect_args["dsn"] = "postgresql://?" + urlencode(libpq)
    url = URL.create(
        "postgresql+asyncpg",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        host=unquote(host) or None,
        port=port,
        database=unquote(parts.path.lstrip("/")) or None,
    )
    if connect_args:
        pool["connect_args"] = connect_args
    return DatabaseURL(url, "postgres", pool, display=_mask_url(dsn))


def _host_port(netloc: str) -> tuple[str, int | None]:
    """Split ``[user@]host[:port]`` (IPv6 in brackets); a host list is returned whole."""
    hostspec = netloc.rpartition("@")[2]
    if "," in hostspec:
        return hostspec, None
    if hostspec.startswith("["):
        host, _, after = hostspec[1:].partition("]")
        port = after[1:] if after.startswith(":") else ""
    else:
        host, _, port = hostspec.partition(":")
    if not port:
        return host, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidDSNError(f"port {port!r} is not a number between 1 and 65535")
    return host, int(port)


# --- MySQL ---------------------------------------------------------------------------------------------

_GO_MYSQL_ADDR = re.compile(r"^(?P<net>[a-z0-9]+)\((?P<addr>[^)]*)\)$")


def _mysql(dsn: str, rest: str) -> DatabaseURL:
    head, slash, tail = rest.rpartition("/")
    if not slash:
        raise InvalidDSNError("a MySQL DSN needs a database: mysql://user:password@tcp(host:3306)/database")
    database, _, query = tail.partition("?")
    userinfo, at, address = head.rpartition("@")
    user, _, password = userinfo.partition(":")
    match = _GO_MYSQL_ADDR.match(address)
    params = _query(query)
    pool = _pool_kwargs(params)
    connect_args: dict[str, Any] = {}
    host: str | None = None
    port: int | None = None
    if match:  # Go form: raw (not percent-encoded) user and password
        if match["net"] == "unix":
            connect_args["unix_socket"] = match["addr"]
        elif match["net"] in ("tcp", "tcp6"):
            host, port = _host_port(match["addr"]) if match["addr"] else ("", None)
        else:
            raise InvalidDSNError(f"unsupported MySQL network {match['net']!r} (use tcp or unix)")
        credentials = f"{user}:***@" if password else f"{user}@" if at else ""
        display = f"{dsn[: -len(rest)]}{credentials}{address}/{database}" + (
            f"?{_mask_query(query)}" if query else ""
        )
    else:
        if "(" in address:
            raise InvalidDSNError(f"cannot read the MySQL address {address!r}: expected tcp(host:port)")
        user, password, database = unquote(user), unquote(password), unquote(database)
        host, port = _host_port(address)
        display = _mask_url(dsn)
    connect_args.update(_mysql_connect_args(params))
    url = URL.create(
        "mysql+asyncmy",
        username=user or None,
        password=password if at and password else None,
        host=host or None,
        port=port,
        database=database or None,
        query={"charset": params.pop("charset", "utf8mb4").split(",")[0]},
    )
    if connect_args:
        pool["connect_args"] = connect_args
    return DatabaseURL(url, "mysql", pool, display=display)


def _mysql_connect_args(params: dict[str, str]) -> dict[str, Any]:
    """Map go-sql-driver parameters to asyncmy arguments; unknown ones become ``SET`` session variables."""
    args: dict[str, Any] = {}
    if "timeout" in params:
        args["connect_timeout"] = max(1, round(_duration(params.pop("timeout"), "timeout")))
    if "readTimeout" in params:
        args["read_timeout"] = _duration(params.pop("readTimeout"), "readTimeout")
    if "tls" in params:
        context = _mysql_tls(params.pop("tls"))
        if context is not None:
            args["ssl"] = context
    variables = {k: v for k, v in params.items() if k != "charset" and k not in _GO_MYSQL_ONLY}
    if variables:
        args["init_command"] = "SET " + ", ".join(f"{k}={v}" for k, v in variables.items())
    return args


def _mysql_tls(value: str) -> ssl.SSLContext | None:
    if value.lower() in ("false", "0"):
        return None
    context = ssl.create_default_context()
    if value.lower() in ("true", "1"):
        return context
    if value in ("skip-verify", "preferred"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    raise InvalidDSNError(f"unsupported MySQL tls={value!r} (use true, false, skip-verify or preferred)")


# --- SQLite --------------------------------------------------------------------------------------------


def _sqlite(dsn: str, rest: str) -> DatabaseURL:
    target, _, query = rest.partition("?")
    params = _query(query)
    mode = params.pop("mode", "rwc")
    if target.startswith("file:"):
        target = target[len("file:") :]
        if target.startswith("//"):  # file:///abs/path
            target = target[2:]
    target = unquote(target)
    if mode == "memory" or target in ("", ":memory:"):
        return _memory(dsn)
    if mode not in ("ro", "rw", "rwc"):
        raise InvalidDSNError(f"unsupported SQLite mode={mode!r} (use ro, rw, rwc or memory)")
    pool = _pool_kwargs(params)
    txlock = params.pop("_txlock", "deferred").lower()
    if txlock not in _SQLITE_TXLOCK:
        raise InvalidDSNError(f"unsupported _txlock={txlock!r} (use deferred, immediate or exclusive)")
    pragmas = {"journal_mode": "WAL", "synchronous": "NORMAL", "busy_timeout": "5000"}
    for key, value in params.items():
        if key in _SQLITE_PRAGMAS:
            if not _PRAGMA_VALUE.match(value):
                raise InvalidDSNError(f"invalid value {value!r} for {key}")
            pragmas[_SQLITE_PRAGMAS[key]] = value
        elif key not in _SQLITE_IGNORED and not key.startswith("_auth"):
            raise InvalidDSNError(f"unknown SQLite parameter {key!r}")
    if mode == "rwc":
        url = URL.create("sqlite+aiosqlite", database=target)
    else:  # SQLite URI filename so the open mode applies
        url = URL.create(
            "sqlite+aiosqlite", database=f"file:{quote(target)}", query={"mode": mode, "uri": "true"}
        )
    statements = ("PRAGMA foreign_keys=ON", *(f"PRAGMA {k}={v}" for k, v in pragmas.items()))
    return DatabaseURL(url, "sqlite", pool, on_connect=statements, begin=_SQLITE_TXLOCK[txlock], display=dsn)


def _memory(display: str) -> DatabaseURL:
    """One in-memory SQLite database, shared by every user of the engine through a single connection."""
    return DatabaseURL(
        URL.create("sqlite+aiosqlite"),
        "sqlite",
        {"poolclass": StaticPool},
        is_memory=True,
        on_connect=("PRAGMA foreign_keys=ON",),
        display=display,
    )


# --- shared helpers ------------------------------------------------------------------------------------


def _query(query: str) -> dict[str, str]:
    try:
        return dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError as error:
        raise InvalidDSNError(f"cannot parse the query string {query!r}: {error}") from None


def _pool_kwargs(params: dict[str, str]) -> dict[str, Any]:
    """Pop Kratos's pool parameters and return the matching ``create_async_engine`` arguments."""
    found = {key: params.pop(key) for key in _POOL_PARAMS & params.keys()}
    kwargs: dict[str, Any] = {}
    max_conns = _count(found["max_conns"], "max_conns") if "max_conns" in found else None
    max_idle = _count(found["max_idle_conns"], "max_idle_conns") if "max_idle_conns" in found else None
    if not max_conns:
        max_conns = max(max_idle or 0, default_max_conns())
    idle = max_conns if max_idle is None else min(max_idle, max_conns)
    kwargs["pool_size"] = idle
    kwargs["max_overflow"] = max_conns - idle
    # SQLAlchemy recycles by age only; recycling at the idle limit also bounds idle time.
    ages = [_duration(found[k], k) for k in ("max_conn_lifetime", "max_conn_idle_time") if k in found]
    ages = [age for age in ages if age > 0]
    if ages:
        kwargs["pool_recycle"] = max(1, round(min(ages)))
    return kwargs


def default_max_conns() -> int:
    """Connections kept open when the DSN sets no ``max_conns``: enough to keep one event loop busy.

    All of them stay idle in the pool (``max_idle_conns`` defaults to ``max_conns``): closing and reopening
    connections under load costs far more than keeping them.
    """
    return max(8, 8 * (os.cpu_count() or 1))


def _count(value: str, name: str) -> int:
    if not value.isdigit():
        raise InvalidDSNError(f"{name}={value!r} is not a non-negative integer")
    return int(value)


def _number(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise InvalidDSNError(f"{name}={value!r} is not a number of seconds") from None
    if number < 0:
        raise InvalidDSNError(f"{name}={value!r} is negative")
    return number


def _duration(value: str, name: str) -> float:
    """Parse a Go duration (``1h30m``, ``500ms``, ``0``) into seconds."""
    if value == "0":
        return 0.0
    pos, total = 0, 0.0
    for match in _GO_DURATION.finditer(value):
        if match.start() != pos:
            break
        total += float(match[1]) * _DURATION_UNITS[match[2]]
        pos = match.end()
    if pos != len(value) or not value:
        raise InvalidDSNError(f"{name}={value!r} is not a duration such as 30s, 5m or 1h")
    return total


def _mask_url(dsn: str) -> str:
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostspec = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:***@{hostspec}"
    return parts._replace(netloc=netloc, query=_mask_query(parts.query)).geturl()


def _mask_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(key in _SECRET_PARAMS for key, _ in pairs):
        return query
    return urlencode([(k, "***" if k in _SECRET_PARAMS else v) for k, v in pairs], safe="*")


_PARSERS: Mapping[str, Callable[[str, str], DatabaseURL]] = {
    "postgres": _postgres,
    "postgresql": _postgres,
    "mysql": _mysql,
    "sqlite": _sqlite,
    "sqlite3": _sqlite,
}
