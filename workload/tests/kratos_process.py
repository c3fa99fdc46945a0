"""Run the real ``kratos`` server as a subprocess on loopback, as a user would."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from netutil import free_port

DATA = Path(__file__).parent / "data"


def kratos_command(*args: str) -> list[str]:
    """The ``kratos`` CLI of this interpreter."""
    return [sys.executable, "-m", "kratos", *args]


def base_config(dsn: str, public_port: int, admin_port: int) -> dict[str, Any]:
    """A development configuration with the test schemas."""
    return {
        "dsn": dsn,
        "serve": {
            "public": {
                "port": public_port,
                "host": "127.0.0.1",
                "base_url": f"http://127.0.0.1:{public_port}/",
            },
            "admin": {"port": admin_port, "host": "127.0.0.1", "base_url": f"http://127.0.0.1:{admin_port}/"},
        },
        "identity": {
            "default_schema_id": "default",
            "schemas": [
                {"id": "default", "url": (DATA / "identity.default.schema.json").as_uri()},
                {"id": "customer", "url": (DATA / "identity.customer.schema.json").as_uri()},
            ],
        },
        "selfservice": {"default_browser_return_url": "http://127.0.0.1:4455/"},
        "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
        "secrets": {"cookie": ["a-cookie-secret-of-32-characters"]},
        "log": {"level": "warning", "format": "json"},
    }


@dataclass
class KratosProcess:
    """A running ``kratos serve``."""

    workdir: Path
    dsn: str
    overrides: dict[str, Any] = field(default_factory=dict)
    public_port: int = field(default_factory=free_port)
    admin_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.public_port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def config_path(self) -> Path:
        return self.workdir / "kratos.yml"

    def write_config(self) -> Path:
        config = base_config(self.dsn, self.public_port, self.admin_port)
        _deep_merge(config, self.overrides)
        self.config_path.write_text(yaml.safe_dump(config))
        return self.config_path

    def command(self, *args: str) -> list[str]:
        """The server's command line (upstream's binary in ``record_upstream.py``)."""
        return kratos_command(*args)

    def migrate(self) -> None:
        subprocess.run(
            self.command("migrate", "sql", "-e", "--yes"),
            env={**os.environ, "DSN": self.dsn},
            check=True,
            capture_output=True,
        )

    def start(self, *extra: str, timeout: float = 20.0) -> KratosProcess:
        self.write_config()
        self.log_path = self.workdir / "kratos.log"
        self.process = subprocess.Popen(
            self.command("serve", "-c", str(self.config_path), "--dev", *extra),
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"kratos exited with {self.process.returncode}:\n{self.log_path.read_text()}"
                )
            try:
                if httpx.get(f"{self.admin_url}/health/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"kratos did not become ready:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


UI = "http://127.0.0.1:4455"
FLOW_OVERRIDES: dict[str, Any] = {
    "selfservice": {
        "allowed_return_urls": [UI],
        "methods": {"password": {"config": {"haveibeenpwned_enabled": False}}},
        "flows": {
            "login": {"ui_url": f"{UI}/login"},
            "registration": {
                "ui_url": f"{UI}/registration",
                "after": {"password": {"hooks": [{"hook": "session"}]}},
            },
            "settings": {"ui_url": f"{UI}/settings"},
            "error": {"ui_url": f"{UI}/error"},
        },
    }
}
"""Flows with UI URLs, a session after registration and no breach checks: the self-service tests' base."""


def merged(*configs: dict[str, Any]) -> dict[str, Any]:
    """The configs deep-merged, later ones winning (the inputs are left alone)."""
    out: dict[str, Any] = {}
    for config in configs:
        _deep_merge(out, copy.deepcopy(config))
    return out


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value
