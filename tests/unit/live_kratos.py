"""The real workload, started from the kratos.yaml and environment the charm renders, on SQLite.

Used by the tests that run actions against real credentials; skipped where the workload is not installed.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from configs import CharmConfig, RenderInputs, WorkloadSecrets, render_kratos_config, workload_environment


def free_port() -> int:
    """A TCP port nobody listens on (for a moment)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveKratos:
    """``kratos serve`` with the charm's rendered config; ``public``/``admin`` are its base URLs."""

    def __init__(
        self, workdir: Path, options: dict[str, Any], *, own_public_url: bool = False, **inputs: Any
    ) -> None:
        """``own_public_url``: the rendered public base URL is the server's loopback address (callbacks)."""
        self.workdir = workdir
        self.public_port, self.admin_port = free_port(), free_port()
        self.public = f"http://127.0.0.1:{self.public_port}"
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        config = CharmConfig.from_mapping(options)
        if own_public_url:
            inputs["fallback_public_url"] = self.public
        rendered = RenderInputs(config=config, admin_url=self.admin, **inputs)
        self.config_path = workdir / "kratos.yaml"
        self.config_path.write_text(render_kratos_config(rendered))
        secrets = WorkloadSecrets(
            dsn=f"sqlite://{workdir}/kratos.sqlite?_fk=true",
            cookie_secret="c" * 32,
            cipher_secret="x" * 32,
            smtp_connection_uri="smtp://127.0.0.1:1/?disable_starttls=true",
        )
        self.env = {
            **os.environ,
            **workload_environment(config, secrets, public_base_url=rendered.public_base_url),
            "SERVE_PUBLIC_PORT": str(self.public_port),
            "SERVE_PUBLIC_HOST": "127.0.0.1",
            "SERVE_ADMIN_PORT": str(self.admin_port),
            "SERVE_ADMIN_HOST": "127.0.0.1",
            "SERVE_WORKERS": "1",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "LiveKratos":
        kratos = [sys.executable, "-m", "kratos"]
        subprocess.run(
            [*kratos, "migrate", "sql", "-e", "--yes"], env=self.env, check=True, capture_output=True
        )
        log = (self.workdir / "kratos.log").open("wb")
        self.process = subprocess.Popen(
            [*kratos, "serve", "-c", str(self.config_path)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.workdir / "kratos.log").read_text())
            try:
                if requests.get(f"{self.admin}/health/ready", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("kratos did not become ready:\n" + (self.workdir / "kratos.log").read_text())

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        """A public API call as an app makes it (session token header)."""
        headers = {"X-Session-Token": token} if token else {}
        return requests.request(method, self.public + path, headers=headers, timeout=30, **kwargs)

    def submit(self, kind: str, token: str | None, body: dict[str, Any], **params: str) -> requests.Response:
        """Start an API flow of ``kind`` and submit ``body`` to it."""
        flow = self.api("GET", f"/self-service/{kind}/api", token, params=params).json()
        return self.api("POST", f"/self-service/{kind}", token, params={"flow": flow["id"]}, json=body)
