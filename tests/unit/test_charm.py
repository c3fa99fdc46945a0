"""Reconcile and status: leader and follower, database, secrets, migrations, upgrade, every event."""

import json
from typing import Any

import pytest
from conftest import (
    VERSION,
    container,
    kratos_secret,
    peer_relation,
    pg_relation,
    ready_state,
    service_env,
)
from ops import ActiveStatus, BlockedStatus, WaitingStatus, pebble, testing

from charm import KratosCharm
from resources import ResourcePatchError


def migration_key(relation: testing.RelationBase) -> str:
    return f"migration_version_{relation.id}"


class TestPrerequisites:
    def test_container_not_connected(self, ctx):
        out = ctx.run(ctx.on.update_status(), ready_state(containers={container(can_connect=False)}))
        assert out.unit_status == WaitingStatus("Waiting for the kratos container to start")

    @pytest.mark.parametrize(
        ("config", "message"),
        [
            ({"log_level": "loud"}, "Invalid config option log_level: Input should be"),
            ({"memory": "lots"}, "Invalid config option memory: must be a Kubernetes memory quantity"),
            ({"cpu": "fast"}, "Invalid config option cpu: must be a Kubernetes CPU quantity"),
            ({"sender_email": "nobody"}, "Invalid config option sender_email: must be an email address"),
            (
                {"http_proxy": "proxy:3128"},
                "Invalid config option http_proxy: must be an http:// or https:// URL",
            ),
            (
                {"identity_schemas": "{not json"},
                "Invalid config option identity_schemas: must be a JSON object",
            ),
            (
                {"default_identity_schema_id": "missing"},
                "Invalid config: default_identity_schema_id 'missing'",
            ),
            (
                {"enable_passwordless_login_method": True, "enable_oidc_webauthn_sequencing": True},
                "Invalid config: enable_passwordless_login_method and enable_oidc_webauthn_sequencing",
            ),
        ],
    )
    def test_invalid_config_blocks_naming_the_option(self, ctx, config, message):
        out = ctx.run(ctx.on.config_changed(), ready_state(config=config))
        assert isinstance(out.unit_status, BlockedStatus)
        assert out.unit_status.message.startswith(message)
        assert "kratos" not in out.get_container("kratos").plan.services

    def test_missing_database(self, ctx):
        state = testing.State(leader=True, containers={container()}, relations={peer_relation()})
        out = ctx.run(ctx.on.config_changed(), state)
        assert out.unit_status == BlockedStatus(
            "Missing integration pg-database: run `juju integrate kratos postgresql-k8s`"
        )

    def test_both_database_relations_block(self, ctx):
        legacy = testing.Relation("db", remote_app_name="postgresql")
        out = ctx.run(ctx.on.relation_joined(legacy), ready_state(legacy))
        assert out.unit_status == BlockedStatus(
            "Both pg-database and db are integrated: remove the db (legacy) integration"
        )

    def test_missing_peer_relation(self, ctx):
        state = testing.State(leader=True, containers={container()}, relations={pg_relation()})
        out = ctx.run(ctx.on.config_changed(), state)
        assert out.unit_status == WaitingStatus("Waiting for the peer relation")

    def test_database_not_created_yet(self, ctx):
        pg = testing.Relation("pg-database", remote_app_name="postgresql-k8s")
        state = testing.State(leader=True, containers={container()}, relations={pg, peer_relation()})
        out = ctx.run(ctx.on.relation_created(pg), state)
        assert out.unit_status == WaitingStatus("Waiting for the database to be created")
        request = out.get_relation(pg.id).local_app_data
        assert request["database"] == f"{state.model.name}_kratos"
        assert "password" in json.loads(request["requested-secrets"])

    def test_follower_does_not_request_the_database(self, ctx):
        pg = testing.Relation("pg-database", remote_app_name="postgresql-k8s")
        out = ctx.run(
            ctx.on.relation_created(pg), testing.State(leader=False, relations={pg}, containers={container()})
        )
        assert out.get_relation(pg.id).local_app_data == {}

    def test_follower_waits_for_the_secrets(self, ctx):
        out = ctx.run(ctx.on.config_changed(), ready_state(leader=False, secrets=set()))
        assert out.unit_status == WaitingStatus("Waiting for the leader unit to create the secrets")

    def test_unreadable_version(self, ctx):
        broken = testing.Container(
            "kratos", can_connect=True, execs={testing.Exec(["kratos", "version"], return_code=1)}
        )
        out = ctx.run(ctx.on.config_changed(), ready_state(containers={broken}))
        assert out.unit_status == WaitingStatus("Waiting for the workload version (`kratos version` failed)")


class TestSecrets:
    def test_leader_creates_cookie_and_cipher_secrets(self, ctx):
        out = ctx.run(ctx.on.leader_elected(), ready_state(secrets=set()))
        (secret,) = out.secrets
        assert secret.label == "kratos-secrets"
        assert secret.owner == "app"
        content = secret.latest_content
        assert len(content["cipher"]) == 32
        assert len(content["cookie"]) >= 16
        env = service_env(out)
        assert json.loads(env["SECRETS_COOKIE"]) == [content["cookie"]]
        assert json.loads(env["SECRETS_CIPHER"]) == [content["cipher"]]

    def test_leader_keeps_existing_secrets(self, ctx):
        out = ctx.run(ctx.on.config_changed(), ready_state())
        (secret,) = out.secrets
        assert secret.latest_content == {"cookie": "c" * 32, "cipher": "x" * 32}

    def test_leader_completes_a_partial_secret(self, ctx):
        partial = testing.Secret({"cookie": "c" * 32}, label="kratos-secrets", owner="app")
        out = ctx.run(ctx.on.config_changed(), ready_state(secrets={partial}))
        (secret,) = out.secrets
        assert secret.latest_content["cookie"] == "c" * 32
        assert len(secret.latest_content["cipher"]) == 32

    def test_follower_reads_the_app_secret(self, ctx):
        out = ctx.run(ctx.on.config_changed(), ready_state(leader=False))
        assert json.loads(service_env(out)["SECRETS_COOKIE"]) == ["c" * 32]


class TestMigrations:
    def unmigrated(self, leader: bool = True, **container_kwargs: Any) -> tuple[testing.State, Any, Any]:
        pg = pg_relation()
        peers = peer_relation(migrated=None)
        state = ready_state(leader=leader, containers={container(**container_kwargs)}, relations={pg, peers})
        return state, pg, peers

    def test_leader_migrates_when_the_database_is_ready(self, ctx):
        state, pg, peers = self.unmigrated()
        out = ctx.run(ctx.on.relation_changed(pg), state)
        assert out.get_relation(peers.id).local_app_data[migration_key(pg)] == json.dumps(VERSION)
        assert out.unit_status == ActiveStatus()
        assert out.workload_version == VERSION
        assert service_env(out)["DSN"] == "postgres://kratos:s3cr3t@pg-0.pg:5432/m_kratos"

    def test_leader_migration_failure_blocks(self, ctx):
        state, pg, peers = self.unmigrated(migrate_rc=1)
        out = ctx.run(ctx.on.relation_changed(pg), state)
        assert migration_key(pg) not in out.get_relation(peers.id).local_app_data
        assert isinstance(out.unit_status, BlockedStatus)
        assert out.unit_status.message == (
            "kratos migrate sql failed: could not connect to the database; "
            "fix it, then run `juju run kratos/0 run-migration`"
        )
        assert "kratos" not in out.get_container("kratos").plan.services

    def test_follower_waits_for_the_leader(self, ctx):
        state, pg, _ = self.unmigrated(leader=False)
        out = ctx.run(ctx.on.relation_changed(pg), state)
        assert out.unit_status == WaitingStatus("Waiting for the leader unit to run the database migration")
        assert "kratos" not in out.get_container("kratos").plan.services

    def test_follower_runs_once_the_version_matches(self, ctx):
        state = ready_state(leader=False)
        peers = next(r for r in state.relations if r.endpoint == "kratos-peers")
        out = ctx.run(ctx.on.relation_changed(peers, remote_unit=1), state)
        assert out.unit_status == ActiveStatus()

    def test_upgrade_migrates_to_the_new_version(self, ctx):
        state = ready_state(containers={container(version="1.3.0")})
        pg = next(r for r in state.relations if r.endpoint == "pg-database")
        peers = next(r for r in state.relations if r.endpoint == "kratos-peers")
        assert json.loads(peers.local_app_data[migration_key(pg)]) == VERSION
        out = ctx.run(ctx.on.upgrade_charm(), state)
        assert json.loads(out.get_relation(peers.id).local_app_data[migration_key(pg)]) == "1.3.0"
        assert out.workload_version == "1.3.0"

    def test_follower_waits_after_an_upgrade(self, ctx):
        out = ctx.run(
            ctx.on.upgrade_charm(), ready_state(leader=False, containers={container(version="1.3.0")})
        )
        assert out.unit_status == WaitingStatus("Waiting for the leader unit to run the database migration")


class TestWorkload:
    def test_layer_and_ports(self, ctx):
        state = ready_state()
        out = ctx.run(ctx.on.pebble_ready(state.get_container("kratos")), state)
        plan = out.get_container("kratos").plan
        service = plan.services["kratos"]
        assert service.command == "kratos serve -c /etc/config/kratos/kratos.yaml --watch-courier"
        assert service.startup == "enabled"
        assert plan.checks["ready"].http == {"url": "http://localhost:4434/admin/health/ready"}
        assert plan.checks["alive"].http == {"url": "http://localhost:4434/admin/health/alive"}
        assert {p.port for p in out.opened_ports} == {4433, 4434}
        assert out.get_container("kratos").service_statuses["kratos"] == pebble.ServiceStatus.ACTIVE

    def test_environment(self, ctx):
        config = {
            "http_proxy": "http://proxy:3128",
            "no_proxy": "localhost",
            "dev": True,
            "log_level": "debug",
        }
        env = service_env(ctx.run(ctx.on.config_changed(), ready_state(config=config)))
        assert env["HTTP_PROXY"] == env["http_proxy"] == "http://proxy:3128"
        assert env["NO_PROXY"] == "localhost"
        assert "HTTPS_PROXY" not in env
        assert env["DEV"] == "true"
        assert env["LOG_LEVEL"] == "debug"
        assert (
            env["COURIER_SMTP_CONNECTION_URI"] == "smtps://test:test@mailslurper:1025/?skip_ssl_verify=true"
        )
        assert env["COURIER_SMTP_FROM_ADDRESS"] == "identity@canonical.com"
        assert env["SERVE_PUBLIC_BASE_URL"].startswith("http://kratos.")

    def test_database_broken_stops_the_service(self, ctx):
        state = ready_state()
        out = ctx.run(ctx.on.config_changed(), state)
        assert out.get_container("kratos").service_statuses["kratos"] == pebble.ServiceStatus.ACTIVE
        pg = next(r for r in out.relations if r.endpoint == "pg-database")
        out = ctx.run(ctx.on.relation_broken(pg), out)
        assert out.get_container("kratos").service_statuses["kratos"] == pebble.ServiceStatus.INACTIVE
        assert out.unit_status == BlockedStatus(
            "Missing integration pg-database: run `juju integrate kratos postgresql-k8s`"
        )

    def test_ready_check_down_is_waiting(self, ctx):
        out = ctx.run(ctx.on.config_changed(), ready_state())
        workload = out.get_container("kratos")
        down = testing.CheckInfo(
            "ready", level=pebble.CheckLevel.READY, status=pebble.CheckStatus.DOWN, failures=1
        )
        alive = workload.get_check_info("alive")
        state = testing.State(
            **{
                **out.__dict__,
                "containers": {
                    testing.Container(
                        "kratos",
                        can_connect=True,
                        layers=workload.layers,
                        service_statuses=workload.service_statuses,
                        execs=workload.execs,
                        check_infos={down, alive},
                    )
                },
            }
        )
        out = ctx.run(ctx.on.update_status(), state)
        assert out.unit_status == WaitingStatus("Waiting for the kratos service to answer its ready check")

    def test_stopped_service_is_blocked(self, ctx):
        with ctx(ctx.on.update_status(), ready_state()) as manager:
            manager.run()
            manager.charm.workload.stop()
            assert not manager.charm.workload.is_ready()
        # collect-status ran inside run(); a fresh event replans and starts it again.

    def test_restart_only_when_the_config_changes(self, ctx):
        with ctx(ctx.on.update_status(), ready_state()) as manager:
            manager.run()
            workload = manager.charm.workload
            assert workload.configure("a: 1\n", {"X": "1"}, None) is True
            assert workload.configure("a: 1\n", {"X": "1"}, None) is False
            assert workload.configure("a: 1\n", {"X": "1"}, "PEM") is True
            assert workload.configure("a: 1\n", {"X": "1"}, None) is True
            assert workload.configure("a: 2\n", {"X": "1"}, None) is True


class TestResources:
    class Patcher:
        calls: list[tuple[str | None, str | None]] = []
        error: str | None = None

        def __init__(self, app: str, namespace: str) -> None:
            self.app = app

        def apply(self, cpu: str | None, memory: str | None) -> None:
            if self.error:
                raise ResourcePatchError(self.error)
            self.calls.append((cpu, memory))

    @pytest.fixture(autouse=True)
    def patcher(self, monkeypatch):
        self.Patcher.calls = []
        self.Patcher.error = None
        monkeypatch.setattr(KratosCharm, "resource_patcher_factory", self.Patcher)
        return self.Patcher

    def test_limits_patched_once(self, ctx, patcher):
        out = ctx.run(ctx.on.config_changed(), ready_state(config={"cpu": "500m", "memory": "1Gi"}))
        out = ctx.run(ctx.on.config_changed(), out)
        assert patcher.calls == [("500m", "1Gi")]
        out = ctx.run(ctx.on.config_changed(), testing.State(**{**out.__dict__, "config": {}}))
        assert patcher.calls == [("500m", "1Gi"), (None, None)]
        assert out.unit_status == ActiveStatus()

    def test_no_limits_no_patch(self, ctx, patcher):
        ctx.run(ctx.on.config_changed(), ready_state())
        assert patcher.calls == []

    def test_follower_does_not_patch(self, ctx, patcher):
        ctx.run(ctx.on.config_changed(), ready_state(leader=False, config={"cpu": "1"}))
        assert patcher.calls == []

    def test_failure_blocks(self, ctx, patcher):
        patcher.error = "Cannot set cpu/memory limits: no permission; run `juju trust kratos --scope=cluster`"
        out = ctx.run(ctx.on.config_changed(), ready_state(config={"cpu": "1"}))
        assert out.unit_status == BlockedStatus(patcher.error)


LIFECYCLE = [
    "install",
    "start",
    "config_changed",
    "update_status",
    "leader_elected",
    "upgrade_charm",
    "stop",
    "remove",
]
RELATION_EVENTS = [
    "relation_created",
    "relation_joined",
    "relation_changed",
    "relation_departed",
    "relation_broken",
]
ENDPOINTS = [
    "pg-database",
    "db",
    "public-route",
    "internal-route",
    "smtp",
    "hydra-endpoint-info",
    "kratos-external-idp",
    "ui-endpoint-info",
    "logging",
    "tracing",
    "receive-ca-cert",
    "kratos-info",
    "metrics-endpoint",
    "grafana-dashboard",
]


@pytest.mark.parametrize("leader", [True, False])
@pytest.mark.parametrize("event", LIFECYCLE)
def test_no_lifecycle_event_raises(ctx, leader, event):
    ctx.run(getattr(ctx.on, event)(), ready_state(leader=leader))


@pytest.mark.parametrize("leader", [True, False])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("event", RELATION_EVENTS)
def test_no_relation_event_raises(ctx, leader, endpoint, event):
    if endpoint == "pg-database":
        state = ready_state(leader=leader)
        relation = next(r for r in state.relations if r.endpoint == "pg-database")
    else:
        relation = testing.Relation(endpoint, remote_units_data={0: {}})
        state = ready_state(relation, leader=leader)
    kwargs = {"remote_unit": 0} if event in ("relation_joined", "relation_departed") else {}
    if event == "relation_departed":
        kwargs["departing_unit"] = 0
    out = ctx.run(getattr(ctx.on, event)(relation, **kwargs), state)
    assert out.unit_status.name in ("active", "blocked", "waiting")


def test_no_peer_or_secret_event_raises(ctx):
    secret = testing.Secret({"password": "x"}, owner=None)
    state = ready_state(secrets={kratos_secret(), secret})
    peers = next(r for r in state.relations if r.endpoint == "kratos-peers")
    for event in (
        ctx.on.relation_changed(peers, remote_unit=1),
        ctx.on.relation_departed(peers, remote_unit=1),
        ctx.on.secret_changed(secret),
    ):
        ctx.run(event, state)


def test_pebble_ready_without_container_connection(ctx):
    workload = container(can_connect=False)
    out = ctx.run(ctx.on.pebble_ready(workload), ready_state(containers={workload}))
    assert out.unit_status == WaitingStatus("Waiting for the kratos container to start")
