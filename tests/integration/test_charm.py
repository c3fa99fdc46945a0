"""Deploy kratos with postgresql-k8s and traefik-k8s on a real Juju model, run its actions, scale it.

Needs a bootstrapped Juju controller on Kubernetes (e.g. MicroK8s with MetalLB, so traefik gets an
address) whose pod addresses are routable from here: `tox -e integration`. The charm comes from
$KRATOS_CHARM (else `charmcraft pack` through pytest-operator), the image from $KRATOS_IMAGE (else
metadata.yaml's `upstream-source`). The tests share one model and run in order.
"""

import json
import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

for _module in ("pytest_operator", "juju", "pyotp"):
    pytest.importorskip(_module, reason="the integration env's dependencies: run `tox -e integration`")

from helpers import Kratos, leader, login, route_url, run_failed, run_ok  # noqa: E402
from pyotp.totp import TOTP  # noqa: E402
from pytest_operator.plugin import OpsTest  # noqa: E402

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).parents[2]
APP = "kratos"
DB = "postgresql-k8s"
TRAEFIK = "traefik-public"
MISSING_DB = "Missing integration pg-database: run `juju integrate kratos postgresql-k8s`"
PASSWORD, NEW_PASSWORD = "Adm1n-passphrase-42", "An0ther-passphrase-43"


def image() -> str:
    """$KRATOS_IMAGE, else the image metadata.yaml names for the `oci-image` resource."""
    metadata = yaml.safe_load((ROOT / "metadata.yaml").read_text())
    return os.environ.get("KRATOS_IMAGE") or metadata["resources"]["oci-image"]["upstream-source"]


async def first_unit(ops_test: OpsTest) -> Kratos:
    """The APIs of kratos/0 (the unit that stays when scaling down)."""
    return await Kratos.of(ops_test, f"{APP}/0")


@pytest.mark.abort_on_fail
async def test_deploy_blocks_until_it_has_a_database(ops_test: OpsTest) -> None:
    assert ops_test.model
    charm = os.environ.get("KRATOS_CHARM") or await ops_test.build_charm(ROOT)
    await ops_test.model.deploy(charm, application_name=APP, resources={"oci-image": image()}, trust=True)
    await ops_test.model.deploy(DB, channel="14/stable", trust=True)
    await ops_test.model.deploy("traefik-k8s", application_name=TRAEFIK, channel="latest/stable", trust=True)
    await ops_test.model.wait_for_idle([APP], status="blocked", timeout=900)
    assert ops_test.model.applications[APP].units[0].workload_status_message == MISSING_DB


@pytest.mark.abort_on_fail
async def test_integrate_goes_active_and_serves_through_traefik(ops_test: OpsTest) -> None:
    assert ops_test.model
    await ops_test.model.integrate(f"{APP}:pg-database", DB)
    await ops_test.model.integrate(f"{APP}:public-route", TRAEFIK)
    await ops_test.model.wait_for_idle([APP, DB, TRAEFIK], status="active", timeout=1500)

    kratos = await first_unit(ops_test)
    assert kratos.admin("GET", "/health/ready").status_code == 200
    public_url = await route_url(ops_test, f"{APP}/0", "public-route")
    flow = kratos.public("GET", "/self-service/login/api").json()
    assert flow["ui"]["action"].startswith(public_url), flow["ui"]["action"]  # the public base URL
    routed = login(public_url, "nobody@example.com", "not-a-password")
    assert routed.status_code == 400, routed.text  # Kratos itself answered, through Traefik


async def add_password_secret(ops_test: OpsTest, name: str, password: str) -> str:
    """A user secret holding `password`, granted to kratos; returns its id."""
    assert ops_test.model
    secret_id = await ops_test.model.add_secret(name, [f"password={password}"])
    await ops_test.model.grant_secret(name, APP)
    return secret_id


async def test_admin_account_with_a_password_logs_in(ops_test: OpsTest) -> None:
    assert ops_test.model
    unit, kratos = ops_test.model.applications[APP].units[0], await first_unit(ops_test)
    secret_id = await add_password_secret(ops_test, "ada-pw", PASSWORD)
    params = {"username": "ada", "email": "ada@example.com", "password-secret-id": secret_id}
    created = await run_ok(ops_test, unit, "create-admin-account", **params)
    assert "recovery-code" not in created
    signed_in = kratos.login("ada@example.com", PASSWORD)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["session"]["identity"]["id"] == created["identity-id"]

    shown = await run_ok(ops_test, unit, "get-identity", email="ada@example.com")
    assert shown["id"] == created["identity-id"]
    again = await run_failed(ops_test, unit, "create-admin-account", username="ada", email="ada@example.com")
    assert again == "An identity with email ada@example.com exists already"


async def test_admin_account_without_a_password_gets_a_working_recovery_code(ops_test: OpsTest) -> None:
    assert ops_test.model
    unit, kratos = ops_test.model.applications[APP].units[0], await first_unit(ops_test)
    created = await run_ok(ops_test, unit, "create-admin-account", username="alan", email="alan@example.com")
    assert created["recovery-link"]
    assert created["recovery-code"]
    flow_id = parse_qs(urlsplit(created["recovery-link"]).query)["flow"][0]
    body = {"method": "code", "code": created["recovery-code"]}
    used = kratos.public(
        "POST",
        "/self-service/recovery",
        params={"flow": flow_id},
        json=body,
        headers={"Accept": "application/json"},
    )
    assert used.status_code == 422, used.text  # recovered: sent on to settings to choose a password
    assert used.json()["error"]["id"] == "browser_location_change_required"
    sessions = kratos.admin("GET", f"/admin/identities/{created['identity-id']}/sessions").json()
    assert [s["active"] for s in sessions] == [True]


async def test_reset_password_invalidate_sessions_then_delete(ops_test: OpsTest) -> None:
    assert ops_test.model
    unit, kratos = ops_test.model.applications[APP].units[0], await first_unit(ops_test)
    first = await add_password_secret(ops_test, "edsger-pw", PASSWORD)
    second = await add_password_secret(ops_test, "edsger-pw-2", NEW_PASSWORD)
    params = {"username": "edsger", "email": "edsger@example.com", "password-secret-id": first}
    created = await run_ok(ops_test, unit, "create-admin-account", **params)
    token = kratos.login("edsger@example.com", PASSWORD).json()["session_token"]

    await run_ok(
        ops_test, unit, "reset-password", email="edsger@example.com", **{"password-secret-id": second}
    )
    assert kratos.login("edsger@example.com", PASSWORD).status_code == 400
    assert kratos.login("edsger@example.com", NEW_PASSWORD).status_code == 200
    recovery = await run_ok(ops_test, unit, "reset-password", email="edsger@example.com")
    assert recovery["recovery-code"]
    assert recovery["recovery-link"]

    assert kratos.public("GET", "/sessions/whoami", token).status_code == 200
    await run_ok(ops_test, unit, "invalidate-identity-sessions", **{"identity-id": created["identity-id"]})
    assert kratos.public("GET", "/sessions/whoami", token).status_code == 401

    deleted = await run_ok(ops_test, unit, "delete-identity", email="edsger@example.com")
    assert deleted["id"] == created["identity-id"]
    gone = await run_failed(ops_test, unit, "get-identity", email="edsger@example.com")
    assert "Cannot find the identity" in gone
    assert kratos.login("edsger@example.com", NEW_PASSWORD).status_code == 400


async def test_reset_identity_mfa_removes_a_totp_enrolment(ops_test: OpsTest) -> None:
    assert ops_test.model
    unit, kratos = ops_test.model.applications[APP].units[0], await first_unit(ops_test)
    traits = {"email": "grace@example.com", "name": "Grace"}
    flow = kratos.public("GET", "/self-service/registration/api").json()
    body = {"method": "password", "password": "Gr4ce-passphrase-44", "traits": traits}
    signed_up = kratos.public("POST", "/self-service/registration", params={"flow": flow["id"]}, json=body)
    assert signed_up.status_code == 200, signed_up.text
    token, identity_id = signed_up.json()["session_token"], signed_up.json()["identity"]["id"]
    settings = kratos.public("GET", "/self-service/settings/api", token).json()
    secret = next(
        n["attributes"]["text"]["context"]["secret"]
        for n in settings["ui"]["nodes"]
        if n["attributes"].get("id") == "totp_secret_key"
    )
    body = {"method": "totp", "totp_code": TOTP(secret).now()}
    enrolled = kratos.public(
        "POST", "/self-service/settings", token, params={"flow": settings["id"]}, json=body
    )
    assert enrolled.status_code == 200, enrolled.text
    assert "totp" in kratos.credentials(identity_id)

    await run_ok(ops_test, unit, "reset-identity-mfa", email="grace@example.com", **{"mfa-type": "totp"})
    assert "totp" not in kratos.credentials(identity_id)
    signed_in = kratos.login("grace@example.com", "Gr4ce-passphrase-44")
    assert signed_in.json()["session"]["authenticator_assurance_level"] == "aal1"


async def test_oidc_accounts_are_listed_and_unlinked(ops_test: OpsTest) -> None:
    assert ops_test.model
    unit, kratos = ops_test.model.applications[APP].units[0], await first_unit(ops_test)
    providers = [{"provider": "github", "subject": "1234"}, {"provider": "google", "subject": "g-99"}]
    imported = kratos.admin(
        "POST",
        "/admin/identities",
        json={
            "schema_id": "social_user_v0",
            "traits": {"email": "linus@example.com"},
            "credentials": {"oidc": {"config": {"providers": providers}}},
        },
    )
    assert imported.status_code == 201, imported.text
    listed = await run_ok(ops_test, unit, "list-oidc-accounts", email="linus@example.com")
    assert json.loads(listed["identifiers"]) == ["github:1234", "google:g-99"]

    await run_ok(
        ops_test, unit, "unlink-oidc-account", email="linus@example.com", **{"credential-id": "github:1234"}
    )
    listed = await run_ok(ops_test, unit, "list-oidc-accounts", email="linus@example.com")
    assert json.loads(listed["identifiers"]) == ["google:g-99"]
    failed = await run_failed(
        ops_test, unit, "unlink-oidc-account", email="linus@example.com", **{"credential-id": "github:1234"}
    )
    assert "no linked account github:1234" in failed


async def test_run_migration_on_the_leader(ops_test: OpsTest) -> None:
    assert ops_test.model
    done = await run_ok(ops_test, await leader(ops_test, APP), "run-migration", timeout=300)
    assert done["version"]
    assert done["output"]
    await ops_test.model.wait_for_idle([APP], status="active", timeout=600)


@pytest.mark.abort_on_fail
async def test_scale_to_three_and_a_follower_refuses_run_migration(ops_test: OpsTest) -> None:
    assert ops_test.model
    await ops_test.model.applications[APP].scale(3)
    await ops_test.model.wait_for_idle([APP], status="active", timeout=1200, wait_for_exact_units=3)
    head = await leader(ops_test, APP)
    follower = next(u for u in ops_test.model.applications[APP].units if u.name != head.name)
    refused = await run_failed(ops_test, follower, "run-migration")
    assert refused == "Run this action on the leader unit: `juju run kratos/leader run-migration`"
    # Every unit serves the same identities from the shared database.
    other = await Kratos.of(ops_test, follower.name)
    assert other.login("ada@example.com", PASSWORD).status_code == 200


@pytest.mark.abort_on_fail
async def test_scale_back_to_one(ops_test: OpsTest) -> None:
    assert ops_test.model
    await ops_test.model.applications[APP].scale(1)
    await ops_test.model.wait_for_idle([APP], status="active", timeout=900, wait_for_exact_units=1)
    assert (await first_unit(ops_test)).login("ada@example.com", PASSWORD).status_code == 200


async def test_without_public_route_it_stays_active(ops_test: OpsTest) -> None:
    assert ops_test.model
    await ops_test.model.applications[APP].remove_relation(
        f"{APP}:public-route", TRAEFIK, block_until_done=True
    )
    await ops_test.model.wait_for_idle([APP], status="active", timeout=600)
    flow = (await first_unit(ops_test)).public("GET", "/self-service/login/api").json()
    service_url = f"http://{APP}.{ops_test.model_name}.svc.cluster.local:4433/"  # the fallback base URL
    assert flow["ui"]["action"].startswith(service_url), flow["ui"]["action"]


@pytest.mark.abort_on_fail
async def test_without_the_database_it_blocks_and_recovers_when_integrated_again(ops_test: OpsTest) -> None:
    assert ops_test.model
    await ops_test.model.applications[APP].remove_relation(f"{APP}:pg-database", DB, block_until_done=True)
    await ops_test.model.wait_for_idle([APP], status="blocked", timeout=600)
    assert ops_test.model.applications[APP].units[0].workload_status_message == MISSING_DB

    await ops_test.model.integrate(f"{APP}:pg-database", DB)
    await ops_test.model.wait_for_idle([APP, DB], status="active", timeout=900)
    assert (await first_unit(ops_test)).admin("GET", "/health/ready").status_code == 200
