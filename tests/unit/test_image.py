"""The workload image (workload/rockcraft.yaml, workload/Dockerfile) fits what the charm plans and pushes."""

import re
import tomllib
from pathlib import Path

import yaml

from constants import CONFIG_DIR, CONFIG_FILE, WORKLOAD_SERVICE
from workload import pebble_layer

ROOT = Path(__file__).resolve().parents[2]
WORKLOAD = ROOT / "workload"
ROCK = yaml.safe_load((WORKLOAD / "rockcraft.yaml").read_text())
DOCKERFILE = (WORKLOAD / "Dockerfile").read_text()
VERSION = tomllib.loads((WORKLOAD / "pyproject.toml").read_text())["project"]["version"]


def test_the_rocks_service_is_the_charms_service() -> None:
    charm_service = pebble_layer({}).services[WORKLOAD_SERVICE]
    rock_service = ROCK["services"][WORKLOAD_SERVICE]
    assert rock_service["command"] == charm_service.command
    # The charm plans its own layer: the rock's service never starts by itself.
    assert rock_service["startup"] == "disabled"


def test_the_rock_gives_the_non_root_user_the_config_directory() -> None:
    assert ROCK["run-user"] == "_daemon_"
    (permission,) = ROCK["parts"]["kratos"]["permissions"]
    assert permission == {
        "path": str(CONFIG_DIR).lstrip("/"),
        "owner": 584792,
        "group": 584792,
        "mode": "755",
    }


def test_the_dockerfile_runs_kratos_as_the_rocks_user_on_the_charms_config_file() -> None:
    assert re.search(r"^USER 584792:584792$", DOCKERFILE, re.MULTILINE)
    assert 'ENTRYPOINT ["kratos"]' in DOCKERFILE
    assert f'CMD ["serve", "-c", "{CONFIG_FILE}"]' in DOCKERFILE
    assert re.search(r"^EXPOSE 4433 4434$", DOCKERFILE, re.MULTILINE)


def test_the_resources_upstream_source_is_tagged_with_the_workload_version() -> None:
    metadata = yaml.safe_load((ROOT / "metadata.yaml").read_text())
    image = metadata["resources"]["oci-image"]["upstream-source"]
    assert image == f"ghcr.io/canonical/{ROCK['name']}:{VERSION}"
