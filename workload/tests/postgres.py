"""A throwaway PostgreSQL cluster started from the installed binaries (initdb + pg_ctl)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from netutil import free_port

SUPERUSER = "postgres"


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or ``None`` when PostgreSQL is not installed."""
    candidates: list[str] = []
    if shutil.which("pg_config"):
        result = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(result.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    candidates += sorted(glob.glob("/usr/pgsql-*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    return None


def _version(path: str) -> int:
    part = Path(path).parent.name
    return int(part) if part.isdigit() else 0


class PostgresCluster:
    """One running cluster; trust authentication for ``postgres`` on 127.0.0.1 only."""

    def __init__(self, bindir: Path, directory: Path) -> None:
        self.bindir = bindir
        self.directory = directory
        self.data = directory / "data"
        self.port = 0
        self._as_postgres = os.geteuid() == 0  # the server refuses to run as root

    def _run(self, *args: str, server_side: bool = True) -> None:
        command = list(args)
        if server_side and self._as_postgres:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed: {result.stderr.strip() or result.stdout.strip()}"
            )

    def start(self) -> None:
        """initdb (first time) and start on a free port."""
        if self._as_postgres:
            shutil.chown(self.directory, user=SUPERUSER)
        if not self.data.exists():
            self._run(
                str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync",
            )  # fmt: skip
        for attempt in range(3):
            self.port = free_port()
            try:
                self._pg_ctl_start()
                return
            except RuntimeError:
                if attempt == 2:
                    raise RuntimeError(f"PostgreSQL did not start: {self.log()}") from None

    def _pg_ctl_start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.directory / "server.log"), "-w", "start",
        )  # fmt: skip

    def restart(self, mode: str = "fast", down_for: float = 0.0) -> None:
        """Stop (``fast``: sessions are told to go; ``immediate``: killed), wait, start on the same port."""
        self.pause(mode)
        time.sleep(down_for)
        self.resume()

    def pause(self, mode: str = "fast") -> None:
        """Stop the server, keeping its data and port for :meth:`resume`."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def resume(self) -> None:
        """Start the server again after :meth:`pause`, on the same port."""
        self._pg_ctl_start()

    def log(self) -> str:
        """The server log (for failure messages)."""
        path = self.directory / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def dsn(self, dbname: str = "postgres") -> str:
        """A Kratos DSN for ``dbname``."""
        return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}?sslmode=disable"

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its DSN."""
        self._run(
            str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, name,
            server_side=False,
        )  # fmt: skip
        return self.dsn(name)

    def psql(self, dbname: str, sql: str) -> None:
        """Run one SQL statement in ``dbname``."""
        self._run(
            str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER,
            "-v", "ON_ERROR_STOP=1", "-c", sql, dbname, server_side=False,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server at once (the data is thrown away)."""
        if self.port:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.port = 0


@contextmanager
def start_postgres(base_dir: Path | None = None) -> Iterator[PostgresCluster]:
    """Run a fresh cluster in a new directory under ``base_dir`` (default: the system temp dir).

    When running as root the directory must be reachable by the ``postgres`` user.
    """
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL binaries found (initdb, pg_ctl)")
    directory = Path(tempfile.mkdtemp(prefix="kratos-pg-", dir=base_dir))
    directory.chmod(0o700)
    cluster = PostgresCluster(bindir, directory)
    try:
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(directory, ignore_errors=True)
