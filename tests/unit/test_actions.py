"""Every action's success and failure paths, against a real HTTP server on loopback."""

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import VERSION, container, kratos_secret, peer_relation, pg_relation, ready_state
from fake_kratos import FakeKratos
from ops import pebble, testing

from charm import KratosCharm


@pytest.fixture
def kratos(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKratos]:
    with FakeKratos() as fake:
        monkeypatch.setattr(KratosCharm, "admin_url", fake.url)
        yield fake


def running_state(**kwargs: Any) -> testing.State:
    """A unit whose kratos service runs and answers its ready check."""
    layer = pebble.Layer(
        {
            "services": {"kratos": {"override": "replace", "command": "kratos serve", "startup": "enabled"}},
            "checks": {"ready": {"override": "replace", "level": "ready", "http": {"url": "http://x"}}},
        }
    )
    workload = container(
        layers={"kratos": layer},
        service_statuses={"kratos": pebble.ServiceStatus.ACTIVE},
        check_infos={testing.CheckInfo("ready", level=pebble.CheckLevel.READY, status=pebble.CheckStatus.UP)},
    )
    return ready_state(containers={workload}, **kwargs)


def run(
    ctx: testing.Context[KratosCharm], action: str, state: testing.State | None = None, **params: Any
) -> Any:
    ctx.run(ctx.on.action(action, params=params), state or running_state())
    return copy.deepcopy(ctx.action_results)


def fail(
    ctx: testing.Context[KratosCharm], action: str, state: testing.State | None = None, **params: Any
) -> str:
    with pytest.raises(testing.ActionFailed) as info:
        ctx.run(ctx.on.action(action, params=params), state or running_state())
    return info.value.message


def password_secret(password: str = "n3w-Passw0rd!") -> testing.Secret:
    return testing.Secret({"password": password}, owner=None)


class TestIdentitySelection:
    def test_by_id_and_by_email_give_the_same_identity(self, ctx, kratos):
        identity_id = kratos.add_identity("ada@example.com")
        by_id = run(ctx, "get-identity", **{"identity-id": identity_id})
        by_email = run(ctx, "get-identity", email="ada@example.com")
        assert by_id == by_email
        assert by_id["id"] == identity_id
        assert by_id["schema-id"] == "social_user_v0"
        assert by_id["traits"] == {"email": "ada@example.com", "given-name": "Ada"}
        assert "metadata-public" not in by_id  # null values are dropped

    def test_both_selectors_fail(self, ctx, kratos):
        message = fail(ctx, "get-identity", **{"identity-id": "x", "email": "a@b.c"})
        assert message == "Give identity-id or email, not both"

    def test_no_selector_fails(self, ctx, kratos):
        assert "identity-id=<id> or email=<address>" in fail(ctx, "delete-identity")

    def test_unknown_email_fails(self, ctx, kratos):
        assert "no identity has the identifier 'nobody@example.com'" in fail(
            ctx, "get-identity", email="nobody@example.com"
        )

    def test_ambiguous_email_fails(self, ctx, kratos):
        kratos.add_identity("twin@example.com")
        kratos.add_identity("twin@example.com")
        assert "2 identities have the identifier" in fail(ctx, "get-identity", email="twin@example.com")

    def test_unknown_id_fails(self, ctx, kratos):
        assert "No identity with id nope" in fail(ctx, "get-identity", **{"identity-id": "nope"})


class TestServiceNotReady:
    @pytest.mark.parametrize(
        "name",
        ["get-identity", "delete-identity", "create-admin-account", "reset-password", "list-oidc-accounts"],
    )
    def test_fails_when_the_service_does_not_run(self, ctx, kratos, name):
        params = {"email": "a@b.c"} | ({"username": "a"} if name == "create-admin-account" else {})
        message = fail(ctx, name, ready_state(), **params)
        assert message.startswith("The kratos service is not ready")
        assert kratos.requests == []

    def test_fails_when_the_container_is_unreachable(self, ctx, kratos):
        state = ready_state(containers={container(can_connect=False)})
        assert "not ready" in fail(ctx, "get-identity", state, email="a@b.c")

    def test_unreachable_admin_api(self, ctx, kratos, monkeypatch):
        monkeypatch.setattr(KratosCharm, "admin_url", "http://127.0.0.1:9")
        assert "cannot reach the Kratos admin API" in fail(ctx, "get-identity", email="a@b.c")


class TestDeleteIdentity:
    def test_deletes(self, ctx, kratos):
        identity_id = kratos.add_identity("ada@example.com")
        assert run(ctx, "delete-identity", email="ada@example.com") == {"id": identity_id}
        assert identity_id not in kratos.identities

    def test_unknown(self, ctx, kratos):
        assert "nothing was deleted" in fail(ctx, "delete-identity", **{"identity-id": "gone"})


class TestCreateAdminAccount:
    def test_without_password_returns_a_recovery_code(self, ctx, kratos):
        results = run(ctx, "create-admin-account", username="root", email="root@example.com", name="Root")
        identity = kratos.identities[results["identity-id"]]
        assert identity["schema_id"] == "admin_v0"
        assert identity["traits"] == {"username": "root", "email": "root@example.com", "name": "Root"}
        assert results["recovery-code"] == "123456"
        assert results["recovery-link"].startswith("http://kratos/self-service/recovery?flow=")
        assert results["expires-at"] == "2030-01-01T00:00:00Z"

    def test_with_password_secret(self, ctx, kratos):
        secret = password_secret("Adm1n-Passw0rd")
        state = running_state(secrets={kratos_secret(), secret})
        results = run(
            ctx,
            "create-admin-account",
            state,
            username="root",
            email="root@example.com",
            **{"password-secret-id": secret.id, "phone-number": "+441234"},
        )
        assert set(results) == {"identity-id"}
        assert kratos.passwords[results["identity-id"]] == "Adm1n-Passw0rd"
        assert kratos.identities[results["identity-id"]]["traits"]["phone_number"] == "+441234"

    def test_duplicate_email(self, ctx, kratos):
        kratos.add_identity("root@example.com")
        message = fail(ctx, "create-admin-account", username="root", email="root@example.com")
        assert message == "An identity with email root@example.com exists already"

    def test_missing_secret(self, ctx, kratos):
        message = fail(
            ctx,
            "create-admin-account",
            username="r",
            email="r@example.com",
            **{"password-secret-id": "secret:nope"},
        )
        assert "Cannot read secret secret:nope" in message
        assert "juju grant-secret <name> kratos" in message

    def test_secret_without_password_key(self, ctx, kratos):
        secret = testing.Secret({"pass": "x"}, owner=None)
        state = running_state(secrets={kratos_secret(), secret})
        message = fail(
            ctx,
            "create-admin-account",
            state,
            username="r",
            email="r@e.com",
            **{"password-secret-id": secret.id},
        )
        assert message == f"Secret {secret.id} has no key `password`"

    def test_rejected_by_the_api(self, ctx, kratos):
        message = fail(ctx, "create-admin-account", username="", email="r@example.com")
        assert message.startswith("Cannot create the admin account: POST /admin/identities failed (400)")


class TestResetPassword:
    def test_with_a_secret_sets_the_password(self, ctx, kratos):
        identity_id = kratos.add_identity("ada@example.com")
        secret = password_secret()
        state = running_state(secrets={kratos_secret(), secret})
        results = run(
            ctx, "reset-password", state, email="ada@example.com", **{"password-secret-id": secret.id}
        )
        assert results["id"] == identity_id
        assert kratos.passwords[identity_id] == "n3w-Passw0rd!"

    def test_without_a_secret_returns_a_recovery_code(self, ctx, kratos):
        identity_id = kratos.add_identity("ada@example.com")
        results = run(ctx, "reset-password", **{"identity-id": identity_id})
        assert results["identity-id"] == identity_id
        assert results["recovery-code"] == "123456"

    def test_unknown_identity(self, ctx, kratos):
        assert "No identity with id x" in fail(ctx, "reset-password", **{"identity-id": "x"})


class TestSessionsAndMfa:
    def test_invalidate_sessions(self, ctx, kratos):
        identity_id = kratos.add_identity("ada@example.com")
        results = run(ctx, "invalidate-identity-sessions", email="ada@example.com")
        assert results == {"identity-id": identity_id, "sessions": "invalidated"}
        assert kratos.sessions[identity_id] == 0

    def test_invalidate_sessions_unknown(self, ctx, kratos):
        assert "No identity with id x" in fail(ctx, "invalidate-identity-sessions", **{"identity-id": "x"})

    def test_reset_mfa(self, ctx, kratos):
        identity_id = kratos.add_identity("ada@example.com", mfa=["totp"])
        results = run(ctx, "reset-identity-mfa", email="ada@example.com", **{"mfa-type": "totp"})
        assert results == {"identity-id": identity_id, "removed": "totp"}
        assert "totp" not in kratos.identities[identity_id]["credentials"]

    def test_reset_mfa_without_that_credential(self, ctx, kratos):
        kratos.add_identity("ada@example.com")
        message = fail(ctx, "reset-identity-mfa", email="ada@example.com", **{"mfa-type": "webauthn"})
        assert "has no webauthn credential" in message


class TestOidcAccounts:
    def test_list(self, ctx, kratos):
        identity_id = kratos.add_identity("ada@example.com", oidc=["github:1", "google:2"])
        results = run(ctx, "list-oidc-accounts", **{"identity-id": identity_id})
        assert json.loads(results["identifiers"]) == ["github:1", "google:2"]
        assert results["count"] == 2

    def test_list_none(self, ctx, kratos):
        kratos.add_identity("ada@example.com")
        assert json.loads(run(ctx, "list-oidc-accounts", email="ada@example.com")["identifiers"]) == []

    def test_unlink(self, ctx, kratos):
        identity_id = kratos.add_identity("ada@example.com", oidc=["github:1", "google:2"])
        results = run(ctx, "unlink-oidc-account", email="ada@example.com", **{"credential-id": "github:1"})
        assert results == {"identity-id": identity_id, "unlinked": "github:1"}
        assert kratos.identities[identity_id]["credentials"]["oidc"]["identifiers"] == ["google:2"]

    def test_unlink_unknown_account(self, ctx, kratos):
        kratos.add_identity("ada@example.com", oidc=["github:1"])
        message = fail(ctx, "unlink-oidc-account", email="ada@example.com", **{"credential-id": "gitlab:9"})
        assert message.endswith("has no linked account gitlab:9 (linked: github:1)")


class TestRunMigration:
    def test_leader_migrates_and_records_the_version(self, ctx):
        pg = pg_relation()
        peers = peer_relation(migrated=None)
        state = ready_state(relations={pg, peers})
        ctx.run(ctx.on.action("run-migration", params={"timeout": 30}), state)
        assert ctx.action_results == {"version": VERSION, "output": "Applied migrations"}
        out = ctx.run(ctx.on.update_status(), state)
        assert out.get_relation(peers.id).local_app_data[f"migration_version_{pg.id}"] == f'"{VERSION}"'

    def test_follower_refuses(self, ctx):
        message = fail(ctx, "run-migration", ready_state(leader=False))
        assert "on the leader unit" in message

    def test_failure(self, ctx):
        state = ready_state(containers={container(migrate_rc=1)})
        message = fail(ctx, "run-migration", state)
        assert message.startswith("kratos migrate sql failed: could not connect to the database")

    def test_without_database(self, ctx):
        state = testing.State(leader=True, containers={container()}, relations={peer_relation()})
        assert "No database yet" in fail(ctx, "run-migration", state)

    def test_container_unreachable(self, ctx):
        assert "not reachable" in fail(
            ctx, "run-migration", ready_state(containers={container(can_connect=False)})
        )

    def test_version_unreadable(self, ctx):
        broken = testing.Container(
            "kratos", can_connect=True, execs={testing.Exec(["kratos", "version"], return_code=1)}
        )
        assert "kratos version" in fail(ctx, "run-migration", ready_state(containers={broken}))
