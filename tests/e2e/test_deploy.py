"""Deploy, start under real Pebble, follow its checks, and run the actions against the live workload."""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import requests
from conftest import PUBLIC, READY, Unit, login, public, wait_until_serving
from ops import pebble, testing
from postgres import PostgresCluster

from constants import ADMIN_URL


def admin(name: str) -> dict[str, str]:
    """The parameters of an admin account of one's own (the tests share one deployment)."""
    return {"username": name, "email": f"{name}@example.com"}


def test_pebble_runs_the_planned_service_and_the_status_follows_its_ready_check(
    unit: Unit, postgres: PostgresCluster
) -> None:
    assert unit.pebble.client.get_services(["kratos"])[0].current == pebble.ServiceStatus.ACTIVE
    assert unit.refresh().unit_status == testing.ActiveStatus()

    postgres.pause()  # the workload stays up but is not ready: its ready check fails
    try:
        unit.pebble.wait_for_check("ready", pebble.CheckStatus.DOWN, timeout=90)
        waiting = testing.WaitingStatus("Waiting for the kratos service to answer its ready check")
        assert unit.refresh().unit_status == waiting
    finally:
        postgres.resume()
    unit.pebble.wait_for_check("ready", READY, timeout=60)
    assert unit.refresh().unit_status == testing.ActiveStatus()


def test_a_stopped_service_is_started_again_by_the_next_event(unit: Unit) -> None:
    unit.pebble.client.stop_services(["kratos"])
    unit.refresh()  # the charm replans: the real Pebble starts the service again
    assert unit.pebble.client.get_services(["kratos"])[0].current == pebble.ServiceStatus.ACTIVE
    wait_until_serving()
    assert unit.refresh().unit_status == testing.ActiveStatus()


def test_the_migration_ran_through_pebble_as_the_charm_asked(unit: Unit) -> None:
    peers = unit.state.get_relations("kratos-peers")[0]
    recorded = [key for key in peers.local_app_data if key.startswith("migration_version_")]
    assert recorded, peers.local_app_data
    out, _ = unit.pebble.run(["kratos", "migrate", "sql", "-e", "--yes"], dict(_service_env(unit)))
    assert out.strip() == "All migrations are already applied, there is nothing to do."


def test_admin_account_with_a_password_signs_in(unit: Unit) -> None:
    password = testing.Secret({"password": "Adm1n-passphrase-42"}, owner=None)
    unit.state = dataclasses.replace(unit.state, secrets={*unit.state.secrets, password})
    created = unit.action("create-admin-account", **admin("ada"), **{"password-secret-id": password.id})
    assert "recovery-code" not in created
    signed_in = login("ada@example.com", "Adm1n-passphrase-42")
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["session"]["identity"]["id"] == created["identity-id"]

    shown = unit.action("get-identity", email="ada@example.com")
    assert shown["id"] == created["identity-id"]


def assert_recovers(results: dict[str, Any], identity_id: str) -> None:
    """The recovery code an action returned signs the identity in, on the flow its link opens."""
    # The link opens the recovery UI on the flow the code belongs to; the user types the code there.
    flow_id = parse_qs(urlsplit(results["recovery-link"]).query)["flow"][0]
    body = {"method": "code", "code": results["recovery-code"]}
    used = requests.post(
        f"{PUBLIC}/self-service/recovery",
        params={"flow": flow_id},
        json=body,
        headers={"Accept": "application/json"},
        timeout=30,
    )
    # Recovered: the browser is signed in and sent on to the settings flow to set a password.
    assert used.status_code == 422, used.text
    assert used.json()["error"]["id"] == "browser_location_change_required"
    assert "ory_kratos_session" in used.headers["set-cookie"]
    sessions = requests.get(f"{ADMIN_URL}/admin/identities/{identity_id}/sessions", timeout=30).json()
    assert True in [s["active"] for s in sessions]


def test_admin_account_without_a_password_gets_a_working_recovery_code(unit: Unit) -> None:
    created = unit.action("create-admin-account", **admin("alan"))
    assert_recovers(created, created["identity-id"])


def test_reset_password_then_sessions_invalidated(unit: Unit) -> None:
    first = testing.Secret({"password": "Adm1n-passphrase-42"}, owner=None)
    second = testing.Secret({"password": "An0ther-passphrase-43"}, owner=None)
    unit.state = dataclasses.replace(unit.state, secrets={*unit.state.secrets, first, second})
    created = unit.action("create-admin-account", **admin("edsger"), **{"password-secret-id": first.id})
    token = login("edsger@example.com", "Adm1n-passphrase-42").json()["session_token"]

    unit.action("reset-password", email="edsger@example.com", **{"password-secret-id": second.id})
    assert login("edsger@example.com", "Adm1n-passphrase-42").status_code == 400
    assert login("edsger@example.com", "An0ther-passphrase-43").status_code == 200

    assert public("GET", "/sessions/whoami", token).status_code == 200
    unit.action("invalidate-identity-sessions", **{"identity-id": created["identity-id"]})
    assert public("GET", "/sessions/whoami", token).status_code == 401

    recovery = unit.action("reset-password", email="edsger@example.com")  # no secret: a recovery code
    assert_recovers(recovery, created["identity-id"])

    unit.action("delete-identity", email="edsger@example.com")
    with pytest.raises(testing.ActionFailed):
        unit.action("get-identity", email="edsger@example.com")


def _service_env(unit: Unit) -> dict[str, str]:
    return dict(unit.pebble.client.get_plan().services["kratos"].environment)


def test_reset_identity_mfa_removes_a_real_totp_enrolment(unit: Unit) -> None:
    traits = {"email": "grace@example.com", "name": "Grace"}
    flow = public("GET", "/self-service/registration/api").json()
    body = {"method": "password", "password": "Gr4ce-passphrase-44", "traits": traits}
    signed_up = public("POST", "/self-service/registration", params={"flow": flow["id"]}, json=body)
    assert signed_up.status_code == 200, signed_up.text
    token, identity_id = signed_up.json()["session_token"], signed_up.json()["identity"]["id"]
    settings = public("GET", "/self-service/settings/api", token).json()
    secret = next(
        n["attributes"]["text"]["context"]["secret"]
        for n in settings["ui"]["nodes"]
        if n["attributes"].get("id") == "totp_secret_key"
    )
    body = {"method": "totp", "totp_code": pyotp.TOTP(secret).now()}
    enrolled = public("POST", "/self-service/settings", token, params={"flow": settings["id"]}, json=body)
    assert enrolled.status_code == 200, enrolled.text
    assert "totp" in credentials(identity_id)

    unit.action("reset-identity-mfa", email="grace@example.com", **{"mfa-type": "totp"})
    assert "totp" not in credentials(identity_id)
    signed_in = login("grace@example.com", "Gr4ce-passphrase-44")
    assert signed_in.json()["session"]["authenticator_assurance_level"] == "aal1"
    assert public("GET", "/sessions/whoami", signed_in.json()["session_token"]).status_code == 200


def test_oidc_accounts_are_listed_and_unlinked(unit: Unit) -> None:
    providers = [{"provider": "github", "subject": "1234"}, {"provider": "google", "subject": "g-99"}]
    imported = requests.post(
        f"{ADMIN_URL}/admin/identities",
        json={
            "schema_id": "social_user_v0",
            "traits": {"email": "linus@example.com"},
            "credentials": {"oidc": {"config": {"providers": providers}}},
        },
        timeout=30,
    )
    assert imported.status_code == 201, imported.text
    listed = unit.action("list-oidc-accounts", email="linus@example.com")
    assert json.loads(listed["identifiers"]) == ["github:1234", "google:g-99"]

    unit.action("unlink-oidc-account", email="linus@example.com", **{"credential-id": "github:1234"})
    assert json.loads(unit.action("list-oidc-accounts", email="linus@example.com")["identifiers"]) == [
        "google:g-99"
    ]
    with pytest.raises(testing.ActionFailed, match="no linked account github:1234"):
        unit.action("unlink-oidc-account", email="linus@example.com", **{"credential-id": "github:1234"})


def test_run_migration_runs_it_again_through_pebble(unit: Unit) -> None:
    results = unit.action("run-migration")
    assert results, results
    assert unit.refresh().unit_status == testing.ActiveStatus()


def credentials(identity_id: str) -> dict[str, object]:
    shown = requests.get(
        f"{ADMIN_URL}/admin/identities/{identity_id}",
        params={"include_credential": ["totp", "password"]},
        timeout=30,
    )
    return shown.json().get("credentials") or {}
