"""Skip the integration tests cleanly when no Juju controller is reachable."""

import json
import shutil
import subprocess

import pytest


def _juju_controller() -> str | None:
    """Return the current controller's name, or None when there is no usable one."""
    if not shutil.which("juju"):
        return None
    try:
        out = subprocess.run(
            ["juju", "controllers", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        controller = json.loads(out or "{}").get("current-controller")
        if not controller:
            return None
        subprocess.run(["juju", "show-controller", controller], capture_output=True, timeout=30, check=True)
    except (subprocess.SubprocessError, OSError, json.JSONDecodeError):
        return None
    return controller


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip every test, saying how to run them, when `juju` has no controller it can reach."""
    if _juju_controller():
        return
    skip = pytest.mark.skip(
        reason="no reachable Juju controller: bootstrap one on Kubernetes (juju bootstrap microk8s), "
        "then run `tox -e integration` (KRATOS_CHARM and KRATOS_IMAGE pick the charm and the image)"
    )
    for item in items:
        item.add_marker(skip)
