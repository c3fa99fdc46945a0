"""A real Pebble (built from the Go module proxy, cached) standing in for the workload container's.

The charm runs under ``ops.testing``; what it asked of its container (files pushed, layers added, commands
run) is handed to this Pebble, and what this Pebble reports (services, checks) goes back into the next
``testing.State``, so the charm's status follows the real workload.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from pathlib import Path

from go_toolchain import go_command  # workload/tests, on the path (conftest)
from ops import pebble, testing

PEBBLE_VERSION = "v1.19.2"
PEBBLE_MODULE = "github.com/canonical/pebble/cmd/pebble"
GO_NEEDED = (1, 22)  # Pebble's go.mod
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kratos-charm-e2e"


def pebble_binary() -> Path:
    """The cached ``pebble`` binary, built with Go the first time."""
    binary = CACHE / f"pebble-{PEBBLE_VERSION}"
    if binary.exists():
        return binary
    go = go_command(GO_NEEDED, CACHE)
    build = CACHE / "build"
    build.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    if not (build / "go.mod").exists():
        subprocess.run(
            [go, "mod", "init", "pebblebuild"], cwd=build, env=env, check=True, capture_output=True
        )
    for step in (["get", f"{PEBBLE_MODULE}@{PEBBLE_VERSION}"], ["build", "-o", str(binary), PEBBLE_MODULE]):
        done = subprocess.run([go, *step], cwd=build, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"go {' '.join(step)} failed:\n{done.stderr}")
    return binary


class RealPebble:
    """``pebble run`` in its own directory; ``client`` is ops' Pebble client on its socket."""

    def __init__(self, directory: Path, environment: dict[str, str]) -> None:
        self.directory = directory
        self.environment = environment  # the container's: what its services and execs inherit
        self.overlay: pebble.Layer | None = None  # the test's own layer, over the charm's
        self.process: subprocess.Popen[bytes] | None = None
        self.client = pebble.Client(socket_path=str(directory / ".pebble.socket"))

    def start(self) -> RealPebble:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = (self.directory / "pebble.log").open("ab")
        env = {**self.environment, "PEBBLE": str(self.directory)}
        self.process = subprocess.Popen(
            [str(pebble_binary()), "run", "--hold"], env=env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.client.get_system_info()
                return self
            except (pebble.ConnectionError, FileNotFoundError):
                time.sleep(0.05)
        raise RuntimeError("pebble did not start:\n" + self.log())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                names = [s.name for s in self.client.get_services() if s.is_running()]
                if names:
                    self.client.stop_services(names, timeout=20)
            except pebble.Error:
                pass
            self.process.terminate()
            self.process.wait(timeout=20)

    def log(self) -> str:
        path = self.directory / "pebble.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def apply(self, container: testing.Container) -> None:
        """Add the layers the charm planned and replan (its files are already in place: see ``mount``)."""
        for label, layer in container.layers.items():
            self.client.add_layer(label, layer, combine=True)
        if self.overlay is not None and container.layers:  # over the charm's, once there is one
            self.client.add_layer("e2e-overlay", self.overlay, combine=True)
        self.client.replan_services(timeout=30)

    def run(self, command: list[str], environment: dict[str, str] | None = None) -> tuple[str, str]:
        """Run ``command`` by ``pebble exec`` (as the charm's ``container.exec``); its stdout and stderr."""
        process = self.client.exec(command, environment=environment, timeout=120)
        out, err = process.wait_output()
        return out, err or ""

    def wait_for_check(self, name: str, status: pebble.CheckStatus, timeout: float = 60) -> None:
        """Wait until check ``name`` reports ``status`` (a new check is up until it fails ``threshold``x)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            checks = {c.name: c for c in self.client.get_checks(names=[name])}
            if name in checks and checks[name].status == status:
                return
            time.sleep(0.2)
        raise AssertionError(f"check {name!r} is not {status.value} after {timeout}s:\n{self.log()}")

    def reported(self, container: testing.Container) -> testing.Container:
        """``container`` with the layers, service statuses and checks this Pebble reports now."""
        services = {s.name: s.current for s in self.client.get_services()}
        checks = frozenset(
            testing.CheckInfo(
                c.name,
                level=c.level,
                status=c.status,
                successes=c.successes,
                failures=c.failures,
                threshold=c.threshold,
            )
            for c in self.client.get_checks()
        )
        return dataclasses.replace(container, service_statuses=services, check_infos=checks)
