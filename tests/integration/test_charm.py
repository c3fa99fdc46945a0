"""Deploy kratos with postgresql-k8s and traefik on a real Juju model, then run its actions.

Needs a Juju controller on Kubernetes. The charm comes from $KRATOS_CHARM (or `charmcraft pack`),
the workload image from $KRATOS_IMAGE.
"""

import os
from pathlib import Path

import pytest

pytest.importorskip("pytest_operator")

from pytest_operator.plugin import OpsTest

pytestmark = pytest.mark.asyncio

APP = "kratos"
DB = "postgresql-k8s"
TRAEFIK = "traefik-public"


@pytest.mark.abort_on_fail
async def test_deploy(ops_test: OpsTest) -> None:
    charm = os.environ.get("KRATOS_CHARM") or await ops_test.build_charm(Path(__file__).parents[2])
    image = os.environ.get("KRATOS_IMAGE", "ghcr.io/canonical/kratos:latest")
    assert ops_test.model
    await ops_test.model.deploy(charm, application_name=APP, resources={"oci-image": image}, trust=True)
    await ops_test.model.deploy(DB, channel="14/stable", trust=True)
    await ops_test.model.deploy("traefik-k8s", application_name=TRAEFIK, channel="latest/stable", trust=True)
    await ops_test.model.wait_for_idle([APP], status="blocked", timeout=900)
    assert (
        ops_test.model.applications[APP]
        .units[0]
        .workload_status_message.startswith("Missing integration pg-database")
    )


@pytest.mark.abort_on_fail
async def test_integrate(ops_test: OpsTest) -> None:
    assert ops_test.model
    await ops_test.model.integrate(f"{APP}:pg-database", DB)
    await ops_test.model.integrate(f"{APP}:public-route", TRAEFIK)
    await ops_test.model.wait_for_idle([APP, DB, TRAEFIK], status="active", timeout=1500)


async def test_actions(ops_test: OpsTest) -> None:
    assert ops_test.model
    unit = ops_test.model.applications[APP].units[0]
    created = await (
        await unit.run_action("create-admin-account", username="admin", email="admin@example.com")
    ).wait()
    assert created.status == "completed"
    identity_id = created.results["identity-id"]
    assert created.results["recovery-code"]
    found = await (await unit.run_action("get-identity", email="admin@example.com")).wait()
    assert found.results["id"] == identity_id
    missing = await (await unit.run_action("get-identity", email="nobody@example.com")).wait()
    assert missing.status == "failed"
    deleted = await (await unit.run_action("delete-identity", **{"identity-id": identity_id})).wait()
    assert deleted.results["id"] == identity_id


async def test_scale_up(ops_test: OpsTest) -> None:
    assert ops_test.model
    await ops_test.model.applications[APP].scale(2)
    await ops_test.model.wait_for_idle([APP], status="active", timeout=900, wait_for_exact_units=2)
