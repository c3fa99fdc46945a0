"""The charm under ops.testing, its workload under a real Pebble, on a real PostgreSQL and SMTP server."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from ops import pebble, testing

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT / "src", ROOT / "lib", ROOT / "workload" / "tests", Path(__file__).parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from postgres import PostgresCluster, find_bindir, start_postgres  # noqa: E402
from real_pebble import RealPebble  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402

from charm import KratosCharm  # noqa: E402
from constants import CONFIG_DIR  # noqa: E402

WORKLOAD = ROOT / "workload"
VERSION = tomllib.loads((WORKLOAD / "pyproject.toml").read_text())["project"]["version"]
# The interpreter's own environment must not leak into the installed one (tox sets PYTHONPATH).
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # the image's PATH
PUBLIC = "http://127.0.0.1:4433"
DB_USER, DB_PASSWORD = "kratos", "pg-Passw0rd"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip cleanly where the layer's paths cannot be written (they are the image's: run as root)."""
    reason = None
    if find_bindir() is None:
        reason = "no PostgreSQL binaries here"
    elif os.geteuid() != 0:  # it installs to /opt/kratos and the layer reads /etc/config/kratos
        reason = "the workload goes to the image's paths: run the e2e suite as root (as CI does)"
    if reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


@dataclasses.dataclass
class Unit:
    """One unit: its Scenario context and state, and the real Pebble running its workload."""

    ctx: testing.Context[KratosCharm]
    state: testing.State
    pebble: RealPebble

    @property
    def container(self) -> testing.Container:
        return self.state.get_container("kratos")

    def run(self, event: Any) -> testing.State:
        """Run ``event`` on the charm, then hand what it asked of its container to the real Pebble."""
        self.state = self.ctx.run(event, self.state)
        for command in self.ctx.exec_history.get("kratos", []):
            if command.command[:2] == ["kratos", "migrate"]:  # run it for real, as the charm asked
                self.pebble.run(command.command, dict(command.environment))
        self.ctx.exec_history.clear()
        self.pebble.apply(self.container)
        return self.state

    def refresh(self) -> testing.State:
        """Report the real services and checks to the charm, in an update-status event."""
        self.state = dataclasses.replace(self.state, containers={self.pebble.reported(self.container)})
        return self.run(self.ctx.on.update_status())

    def action(self, name: str, **params: Any) -> dict[str, Any]:
        """Run action ``name`` (its commands too, for real); its results (raises testing.ActionFailed)."""
        self.run(self.ctx.on.action(name, params=params))
        return dict(self.ctx.action_results or {})


@dataclasses.dataclass(frozen=True)
class Installed:
    """Where install.sh put the workload (the image's paths), after the copy out of the staging root."""

    prefix: Path
    bin_dir: Path
    config_dir: Path
    owner: tuple[int, int]
    stage: Path
    source_entries_before: frozenset[str]

    @property
    def kratos(self) -> Path:
        return self.bin_dir / "kratos"


@pytest.fixture(scope="session", autouse=True)
def image(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The workload installed as workload/Dockerfile installs it: the same command, then copied to ``/``."""
    stage = tmp_path_factory.mktemp("image") / "rootfs"
    done = Installed(
        prefix=Path("/opt/kratos"),
        bin_dir=Path("/usr/local/bin"),
        config_dir=Path(CONFIG_DIR),
        owner=(584792, 584792),
        stage=stage,
        source_entries_before=frozenset(os.listdir(WORKLOAD)),
    )
    env = {**CLEAN_ENV, "PYTHON": sys.executable, "DESTDIR": str(stage)}
    result = subprocess.run(
        ["sh", "image/install.sh", ".", str(done.prefix)],  # the Dockerfile's RUN line
        cwd=WORKLOAD,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    subprocess.run(["rm", "-rf", str(done.prefix)], check=True)
    # `cp -a`, like COPY --from, keeps owners and links; then nothing may need the staging root.
    subprocess.run(["cp", "-a", f"{stage}/.", "/"], check=True)
    subprocess.run(["rm", "-rf", str(stage)], check=True)
    return done


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    with start_postgres() as cluster:
        cluster.psql("postgres", f"CREATE ROLE {DB_USER} LOGIN SUPERUSER PASSWORD '{DB_PASSWORD}'")
        yield cluster


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def container(real: RealPebble) -> testing.Container:
    """The kratos container: what the charm pushes to its config directory lands in the real one.

    ``kratos version`` answers what the real workload says; ``kratos migrate`` is run for real afterwards.
    """
    version, _ = real.run(["kratos", "version"])
    execs = {
        testing.Exec(["kratos", "version"], stdout=version),
        testing.Exec(["kratos", "migrate"], stdout="migrated"),
    }
    Path(CONFIG_DIR).mkdir(parents=True, exist_ok=True)
    mounts = {"config": testing.Mount(location=str(CONFIG_DIR), source=Path(CONFIG_DIR))}
    return testing.Container("kratos", can_connect=True, execs=execs, mounts=mounts)


def relations(postgres: PostgresCluster, smtp: SmtpSink, database: str) -> set[testing.RelationBase]:
    """A database on the real PostgreSQL, the real SMTP server, and a public route."""
    postgres.psql("postgres", f"CREATE DATABASE {database} OWNER {DB_USER}")
    pg = testing.Relation(
        "pg-database",
        remote_app_name="postgresql-k8s",
        remote_app_data={
            "endpoints": f"127.0.0.1:{postgres.port}",
            "username": DB_USER,
            "password": DB_PASSWORD,
            "database": database,
        },
    )
    mail = testing.Relation(
        "smtp",
        remote_app_name="smtp-integrator",
        remote_app_data={
            "host": "127.0.0.1",
            "port": str(smtp.port),
            "auth_type": "none",
            "transport_security": "none",
            "smtp_sender": "id@example.com",
        },
    )
    route = testing.Relation(
        "public-route",
        remote_app_name="traefik-public",
        remote_app_data={"external_host": "127.0.0.1:4433", "scheme": "http"},
    )
    return {pg, mail, route, testing.PeerRelation("kratos-peers")}


def template_resource() -> testing.Resource:
    return testing.Resource(name="verification-email-template", path=os.devnull)


@contextlib.contextmanager
def deploy(
    directory: Path,
    base: testing.State,
    *,
    ports: tuple[int, int] = (4433, 4434),
) -> Iterator[Unit]:
    """A unit deployed from ``base`` and started: install, leader-elected, config-changed, pebble-ready.

    In Kubernetes each unit has its own pod network; units sharing this machine's loopback get other
    ``ports`` by a layer of the test's own over the charm's (its service's environment and checks).
    """
    real = RealPebble(directory, {**CLEAN_ENV, "PATH": IMAGE_PATH}).start()
    if ports != (4433, 4434):
        real.overlay = pod_network(*ports)
    try:
        state = dataclasses.replace(base, containers={container(real)})
        deployed = Unit(testing.Context(KratosCharm), state, real)
        for event in ("install", "leader_elected", "config_changed"):
            deployed.run(getattr(deployed.ctx.on, event)())
        deployed.run(deployed.ctx.on.pebble_ready(deployed.container))
        wait_until_serving(f"http://127.0.0.1:{ports[0]}")
        yield deployed
    finally:
        real.stop()


def pod_network(public_port: int, admin_port: int) -> pebble.Layer:
    """The layer that moves a second unit's ports (see :func:`deploy`)."""
    check = {"override": "merge", "http": {"url": f"http://localhost:{admin_port}/admin/health/ready"}}
    alive = {"override": "merge", "http": {"url": f"http://localhost:{admin_port}/admin/health/alive"}}
    env = {"SERVE_PUBLIC_PORT": str(public_port), "SERVE_ADMIN_PORT": str(admin_port)}
    return pebble.Layer(
        {
            "services": {"kratos": {"override": "merge", "environment": env}},
            "checks": {"ready": check, "alive": alive},
        }
    )


def leader_state(postgres: PostgresCluster, smtp: SmtpSink, name: str, **config: Any) -> testing.State:
    """A leader unit's state before install, with its relations and ``config``."""
    return testing.State(
        leader=True,
        config=config,
        relations=relations(postgres, smtp, f"kratos_{name.replace('-', '_')}"[:60]),
        resources={template_resource()},
    )


@pytest.fixture(scope="module")
def unit(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresCluster, smtp: SmtpSink
) -> Iterator[Unit]:
    """A leader unit deployed and started with the default config, shared by a module's tests."""
    directory = tmp_path_factory.mktemp("unit")
    with deploy(directory / "pebble", leader_state(postgres, smtp, directory.name)) as deployed:
        yield deployed


def wait_until_serving(base_url: str = PUBLIC, timeout: float = 60) -> None:
    """Wait until the public API at ``base_url`` answers its readiness endpoint."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base_url}/health/ready", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the workload does not answer on {base_url} after {timeout}s")


def public(method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
    """A public API call as an app makes it."""
    headers = {"X-Session-Token": token} if token else {}
    return requests.request(method, PUBLIC + path, headers=headers, timeout=30, **kwargs)


def login(identifier: str, password: str) -> requests.Response:
    """A password login through the public API (an API flow)."""
    flow = public("GET", "/self-service/login/api").json()
    body = {"method": "password", "identifier": identifier, "password": password}
    return public("POST", "/self-service/login", params={"flow": flow["id"]}, json=body)


READY = pebble.CheckStatus.UP
