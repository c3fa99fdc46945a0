"""Fixtures: a Scenario context, state builders, fake Juju leader tools for ops-lib-pgsql."""

import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ops import testing

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT / "src", ROOT / "lib", Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from charm import KratosCharm  # noqa: E402

VERSION = "1.2.3"
LEADER_TOOL = """#!{python}
import os, sys, yaml
store = os.environ["FAKE_LEADER_SETTINGS"]
data = yaml.safe_load(open(store).read()) if os.path.exists(store) else {{}}
if sys.argv[0].endswith("leader-set"):
    for arg in sys.argv[1:]:
        key, _, value = arg.partition("=")
        data[key] = value
    open(store, "w").write(yaml.safe_dump(data))
else:
    key = sys.argv[-1]
    print(yaml.safe_dump(data.get(key)) if key in data else "")
"""


@pytest.fixture(autouse=True)
def leader_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Real `leader-get`/`leader-set` executables backed by a YAML file, as ops-lib-pgsql calls them."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("leader-get", "leader-set"):
        tool = bin_dir / name
        tool.write_text(LEADER_TOOL.format(python=sys.executable))
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    store = tmp_path / "leader-settings.yaml"
    monkeypatch.setenv("FAKE_LEADER_SETTINGS", str(store))
    return store


@pytest.fixture
def ctx() -> testing.Context[KratosCharm]:
    return testing.Context(KratosCharm)


def container(
    *, can_connect: bool = True, version: str = VERSION, migrate_rc: int = 0, **kwargs: Any
) -> testing.Container:
    """The kratos container with `kratos version` and `kratos migrate` answering."""
    execs = {
        testing.Exec(["kratos", "version"], stdout=f"Version:    {version}\n"),
        testing.Exec(
            ["kratos", "migrate"],
            return_code=migrate_rc,
            stdout="Applied migrations\n",
            stderr="" if migrate_rc == 0 else "could not connect to the database\n",
        ),
    }
    return testing.Container("kratos", can_connect=can_connect, execs=execs, **kwargs)


def pg_relation(**remote: str) -> testing.Relation:
    data = {
        "endpoints": "pg-0.pg:5432,pg-1.pg:5432",
        "username": "kratos",
        "password": "s3cr3t",
        "database": "m_kratos",
    }
    data.update(remote)
    return testing.Relation("pg-database", remote_app_name="postgresql-k8s", remote_app_data=data)


def peer_relation(
    migrated: str | None = VERSION, relation_id: int | None = None, **data: str
) -> testing.PeerRelation:
    """The peer relation; pass `relation_id` of the database to mark it migrated to `migrated`."""
    app_data = dict(data)
    if migrated is not None and relation_id is not None:
        app_data[f"migration_version_{relation_id}"] = f'"{migrated}"'
    return testing.PeerRelation("kratos-peers", local_app_data=app_data)


def kratos_secret() -> testing.Secret:
    return testing.Secret({"cookie": "c" * 32, "cipher": "x" * 32}, label="kratos-secrets", owner="app")


def email_template(path: str | Path = os.devnull) -> testing.Resource:
    """The verification-email-template resource; Charmhub's placeholder for it is an empty file."""
    return testing.Resource(name="verification-email-template", path=path)


def ready_state(*extra: testing.RelationBase, leader: bool = True, **kwargs: Any) -> testing.State:
    """A unit with container, database, migrated peer data and secrets: reconcile runs the workload."""
    pg = pg_relation()
    peers = peer_relation(relation_id=pg.id)
    defaults: dict[str, Any] = {
        "leader": leader,
        "containers": {container()},
        "relations": {pg, peers, *extra},
        "secrets": {kratos_secret()},
        "resources": {email_template()},
    }
    defaults.update(kwargs)
    return testing.State(**defaults)


def rendered_config(ctx: testing.Context[KratosCharm], state: testing.State) -> dict[str, Any]:
    root = state.get_container("kratos").get_filesystem(ctx)
    return yaml.safe_load((root / "etc/config/kratos/kratos.yaml").read_text())


def service_env(state: testing.State) -> dict[str, str]:
    return dict(state.get_container("kratos").plan.services["kratos"].environment)
