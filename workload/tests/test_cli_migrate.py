from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from kratos.cli.migrate import dsn_from_sources

TABLES = {"identities", "identity_credentials", "identity_credential_identifiers"}


def kratos(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DSN"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "kratos", "migrate", "sql", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "kratos.sqlite"


def test_up_with_yes_then_status_then_down(db_path: Path) -> None:
    dsn = f"sqlite://{db_path}?_fk=true"
    result = kratos(dsn, "--yes")
    assert result.returncode == 0, result.stderr
    assert "Applied 0001" in result.stdout
    assert "Successfully applied migrations!" in result.stdout
    assert tables(db_path) >= TABLES

    again = kratos("up", dsn, "-y")
    assert again.returncode == 0
    assert "nothing to do" in again.stdout

    status = kratos("status", dsn)
    assert status.returncode == 0
    assert status.stdout.splitlines() == [
        "Version  Name                          Status",
        "0001     identities                    Applied",
        "0002     sessions_and_flows            Applied",
        "0003     courier                       Applied",
        "0004     recovery_and_verification     Applied",
        "0005     login_and_registration_codes  Applied",
        "0006     session_token_exchanges       Applied",
    ]

    down = kratos("down", dsn, "--yes", "--steps", "6")
    assert down.returncode == 0, down.stderr
    for revision in ("0006", "0005", "0004", "0003", "0002", "0001"):
        assert f"Reverted {revision}" in down.stdout
    assert not TABLES & tables(db_path)
    assert kratos("status", dsn).stdout.splitlines()[1].split() == ["0001", "identities", "Pending"]


def test_confirmation_prompt(db_path: Path) -> None:
    dsn = f"sqlite://{db_path}"
    refused = kratos(dsn, stdin="n\n")
    assert refused.returncode == 0
    assert "Do you want to apply the above migrations? [y/N]" in refused.stdout
    assert "Migration aborted." in refused.stdout
    assert not TABLES & tables(db_path)

    accepted = kratos("up", dsn, stdin="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert tables(db_path) >= TABLES

    kept = kratos("down", dsn, stdin="n\n")
    assert "Migration aborted." in kept.stdout
    assert tables(db_path) >= TABLES


def test_read_from_env_and_config_file(tmp_path: Path, db_path: Path) -> None:
    result = kratos("-e", "--yes", env={"DSN": f"sqlite://{db_path}"})
    assert result.returncode == 0, result.stderr
    assert tables(db_path) >= TABLES

    other = tmp_path / "other.sqlite"
    config = tmp_path / "kratos.yml"
    config.write_text(f"dsn: sqlite://{other}\nserve: {{public: {{port: 4433}}}}\n")
    status = kratos("status", "-c", str(config))
    assert status.returncode == 0, status.stderr
    assert "Pending" in status.stdout
    env_wins = kratos("status", "-c", str(config), "-e", env={"DSN": f"sqlite://{db_path}"})
    assert "Applied" in env_wins.stdout


def test_status_block_waits_until_migrated(db_path: Path) -> None:
    dsn = f"sqlite://{db_path}"
    environment = {k: v for k, v in os.environ.items() if k != "DSN"}
    waiter = subprocess.Popen(
        [sys.executable, "-m", "kratos", "migrate", "sql", "status", dsn, "--block"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        time.sleep(2)
        assert waiter.poll() is None  # still waiting
        assert kratos(dsn, "--yes").returncode == 0
        out, err = waiter.communicate(timeout=30)
    finally:
        waiter.kill()
    assert waiter.returncode == 0, err
    assert "Applied" in out


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["up", "cockroach://root@h:26257/db", "-y"], {}, "Error: invalid dsn: CockroachDB is not supported"),
        (["status", "sqlite:///x?_bogus=1"], {}, "Error: invalid dsn: unknown SQLite parameter '_bogus'"),
        (
            ["status", "postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable"],
            {},
            "Error: database postgres://u:***@",
        ),
        (["status"], {}, "Error: no DSN"),
        (["-e", "--yes"], {}, "Error: no DSN: the DSN environment variable is not set"),
        (
            ["status", "-c", "/nonexistent/kratos.yml"],
            {},
            "Error: cannot read config file /nonexistent/kratos.yml",
        ),
        (["up", "sqlite:///x", "-e"], {"DSN": "memory"}, "Error: give either a DSN argument or -e"),
    ],
)
def test_errors_are_one_line(args: list[str], env: dict[str, str], message: str) -> None:
    result = kratos(*args, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "hunter2" not in result.stderr + result.stdout


def test_steps_must_be_positive(db_path: Path) -> None:
    result = kratos("up", f"sqlite://{db_path}", "--steps", "0")
    assert result.returncode == 2
    assert "--steps" in result.stderr


def test_postgres(postgres_dsn: str) -> None:
    result = kratos("-e", "-y", env={"DSN": postgres_dsn})
    assert result.returncode == 0, result.stderr
    status = kratos("status", postgres_dsn)
    assert status.stdout.splitlines()[1].split() == ["0001", "identities", "Applied"]


def test_dsn_from_sources_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a.yml", tmp_path / "b.json"
    first.write_text("dsn: sqlite:///a\n")
    second.write_text('{"dsn": "sqlite:///b"}')
    monkeypatch.delenv("DSN", raising=False)
    assert dsn_from_sources("memory", False, [str(first)]) == "memory"
    assert dsn_from_sources(None, False, [str(first), str(second)]) == "sqlite:///b"
    assert dsn_from_sources(None, True, [str(second), str(first)]) == "sqlite:///a"
    monkeypatch.setenv("DSN", "memory")
    assert dsn_from_sources(None, True, []) == "memory"
    assert dsn_from_sources(None, False, [str(first)]) == "memory"
    toml = tmp_path / "c.toml"
    toml.write_text('dsn = "sqlite:///c"\n')
    monkeypatch.delenv("DSN")
    assert dsn_from_sources(None, False, [str(toml)]) == "sqlite:///c"
    (tmp_path / "d.yml").write_text("dsn: 5\n")
    with pytest.raises(click.ClickException, match="`dsn` must be a string"):
        dsn_from_sources(None, False, [str(tmp_path / "d.yml")])
