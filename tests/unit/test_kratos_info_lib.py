"""The kratos_info charm library: provider and requirer sides of the databag."""

from typing import Any

import ops
import pytest
from charms.kratos.v0 import kratos_info
from charms.kratos.v0.kratos_info import KratosInfo, KratosInfoProvider, KratosInfoRequirer
from ops import testing

INFO = KratosInfo(
    admin_endpoint="http://kratos:4434",
    public_endpoint="http://kratos:4433",
    login_browser_endpoint="https://id.example.com/self-service/login/browser",
    sessions_endpoint="http://kratos:4433/sessions/whoami",
    mfa_enabled=True,
    feature_flags=("password", "totp"),
    configmaps_namespace="model",
)


class ProviderCharm(ops.CharmBase):
    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self.info = KratosInfoProvider(self)
        framework.observe(self.info.on.ready, self._send)

    def _send(self, _: ops.EventBase) -> None:
        self.info.send_info_relation_data(INFO)


class RequirerCharm(ops.CharmBase):
    seen: list[Any] = []

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self.info = KratosInfoRequirer(self)
        framework.observe(self.info.on.kratos_info_changed, self._changed)
        framework.observe(self.info.on.kratos_info_removed, self._removed)

    def _changed(self, _: ops.EventBase) -> None:
        RequirerCharm.seen.append(self.info.get_kratos_info())

    def _removed(self, _: ops.EventBase) -> None:
        RequirerCharm.seen.append("removed")


def test_library_metadata():
    assert kratos_info.LIBAPI == 0
    assert kratos_info.LIBPATCH >= 2
    assert len(kratos_info.LIBID) == 32


@pytest.mark.parametrize("leader", [True, False])
def test_provider_writes_on_relation_created(leader):
    ctx = testing.Context(
        ProviderCharm, meta={"name": "kratos", "provides": {"kratos-info": {"interface": "kratos_info"}}}
    )
    relation = testing.Relation("kratos-info", local_app_data={"stale": "x"})
    out = ctx.run(ctx.on.relation_created(relation), testing.State(leader=leader, relations={relation}))
    data = out.get_relation(relation.id).local_app_data
    if not leader:
        assert data == {"stale": "x"}
        return
    assert data == {
        "admin_endpoint": "http://kratos:4434",
        "public_endpoint": "http://kratos:4433",
        "login_browser_endpoint": "https://id.example.com/self-service/login/browser",
        "sessions_endpoint": "http://kratos:4433/sessions/whoami",
        "mfa_enabled": "True",
        "oidc_webauthn_sequencing_enabled": "False",
        "verification_enabled": "False",
        "feature_flags": "password,totp",
        "providers_configmap_name": "oidc-providers",
        "schemas_configmap_name": "identity-schemas",
        "configmaps_namespace": "model",
    }


def test_provider_sends_its_model_as_the_configmaps_namespace():
    """Every key the reference library's requirers read is sent, the namespace too when not given."""
    ctx = testing.Context(
        ProviderCharm, meta={"name": "kratos", "provides": {"kratos-info": {"interface": "kratos_info"}}}
    )
    relation = testing.Relation("kratos-info")
    state = testing.State(leader=True, relations={relation}, model=testing.Model(name="identity"))
    with ctx(ctx.on.update_status(), state) as manager:
        manager.charm.info.send_info_relation_data(KratosInfo("a", "b", "c", "d"))
        out = manager.run()
    data = out.get_relation(relation.id).local_app_data
    assert data["configmaps_namespace"] == "identity"
    assert set(data) == {
        "admin_endpoint",
        "public_endpoint",
        "login_browser_endpoint",
        "sessions_endpoint",
        "providers_configmap_name",
        "schemas_configmap_name",
        "configmaps_namespace",
        "mfa_enabled",
        "oidc_webauthn_sequencing_enabled",
        "verification_enabled",
    }


def test_unknown_feature_flag_is_refused():
    with pytest.raises(ValueError, match="unknown feature flags: sms"):
        KratosInfo("a", "b", "c", "d", feature_flags=("sms",)).to_databag()


def test_requirer_reads_and_is_told():
    RequirerCharm.seen = []
    ctx = testing.Context(
        RequirerCharm, meta={"name": "ui", "requires": {"kratos-info": {"interface": "kratos_info"}}}
    )
    relation = testing.Relation("kratos-info", remote_app_data=INFO.to_databag())
    state = testing.State(relations={relation})
    with ctx(ctx.on.relation_changed(relation), state) as manager:
        manager.run()
        assert manager.charm.info.is_ready()
    assert RequirerCharm.seen == [INFO]
    ctx.run(ctx.on.relation_broken(relation), state)
    assert RequirerCharm.seen[-1] == "removed"


def test_requirer_without_data():
    RequirerCharm.seen = []
    ctx = testing.Context(
        RequirerCharm, meta={"name": "ui", "requires": {"kratos-info": {"interface": "kratos_info"}}}
    )
    relation = testing.Relation("kratos-info", remote_app_data={"admin_endpoint": "x"})
    with ctx(ctx.on.relation_changed(relation), testing.State(relations={relation})) as manager:
        manager.run()
        assert manager.charm.info.get_kratos_info() is None
    assert RequirerCharm.seen == []
