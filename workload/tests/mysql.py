"""A throwaway MariaDB/MySQL server for tests, started from the installed binaries on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from netutil import free_port

SERVICE_USER = "mysql"  # mariadbd refuses to run as root


def find_server() -> Path | None:
    """The ``mariadbd``/``mysqld`` binary, or None when MariaDB is not installed."""
    for name in ("mariadbd", "mysqld"):
        for candidate in (shutil.which(name), f"/usr/sbin/{name}"):
            if candidate and Path(candidate).exists():
                return Path(candidate)
    return None


class MySQLServer:
    """One running server without grant checks, reachable on 127.0.0.1 only."""

    def __init__(self, binary: Path, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._user = ["--user=" + SERVICE_USER] if os.geteuid() == 0 else []

    def start(self) -> None:
        """Initialise the data directory and start; wait until it accepts connections."""
        data = self.directory / "data"
        if os.geteuid() == 0:
            shutil.chown(self.directory, user=SERVICE_USER)
        install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        if install is None:
            raise RuntimeError("mariadb-install-db is not installed")
        subprocess.run(
            [install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
             "--skip-test-db", *self._user],
            check=True, capture_output=True,
        )  # fmt: skip
        self.process = subprocess.Popen(
            [str(self.binary), "--no-defaults", f"--datadir={data}", f"--port={self.port}",
             f"--socket={self.directory / 'mysqld.sock'}", "--bind-address=127.0.0.1", "--skip-grant-tables",
             "--skip-name-resolve", "--skip-log-bin", "--innodb-flush-log-at-trx-commit=0",
             "--innodb-buffer-pool-size=64M", f"--log-error={self.directory / 'error.log'}", *self._user],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"MariaDB did not start: {self.log()}")

    def log(self) -> str:
        """The error log (for failure messages)."""
        path = self.directory / "error.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def dsn(self, dbname: str) -> str:
        """A Kratos (Go driver style) DSN for ``dbname``."""
        return f"mysql://root@tcp(127.0.0.1:{self.port})/{dbname}?parseTime=true&multiStatements=true"

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its DSN."""
        client = shutil.which("mariadb") or shutil.which("mysql")
        if client is None:
            raise RuntimeError("the mariadb client is not installed")
        subprocess.run(
            [client, "--no-defaults", "-h", "127.0.0.1", "-P", str(self.port), "-u", "root",
             "-e", f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"],
            check=True, capture_output=True,
        )  # fmt: skip
        return self.dsn(name)

    def stop(self) -> None:
        """Stop the server (the data is thrown away)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def start_mysql() -> Iterator[MySQLServer]:
    """Start a server in a temporary directory; stop and delete it afterwards."""
    binary = find_server()
    if binary is None:
        raise RuntimeError("MariaDB/MySQL is not installed")
    with tempfile.TemporaryDirectory(prefix="kratos-mysql-") as directory:
        os.chmod(directory, 0o755)
        server = MySQLServer(binary, Path(directory))
        try:
            server.start()
            yield server
        finally:
            server.stop()
