"""Unimplemented features are refused at start-up; the upstream quickstart configs load otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_data import MINIMAL

from kratos.config import UNSUPPORTED, ConfigError, load_config, unsupported_features

DATA = Path(__file__).parent / "data" / "config"


def load(tmp_path: Path, extra: str, *, check_support: bool = True) -> list[str]:
    base = tmp_path / "base.yml"
    base.write_text(MINIMAL)
    overlay = tmp_path / "extra.yml"
    overlay.write_text(extra)
    try:
        load_config([base, overlay], env={}, check_support=check_support)
    except ConfigError as exc:
        return exc.problems
    return []


QUICKSTARTS = {
    "quickstart-email-password.kratos.yml": [],
    "quickstart-all-strategies.kratos.yml": [],
}


@pytest.mark.parametrize("name", sorted(QUICKSTARTS))
def test_quickstart_loads_without_support_check(name: str) -> None:
    config = load_config([DATA / name], env={}, check_support=False)
    assert config.dsn == "memory"
    assert config.version == "v0.13.0"
    assert config.log.level == "debug"
    assert config.log.leak_sensitive_values is True
    assert config.secrets.cookie_secrets() == ["PLEASE-CHANGE-ME-I-AM-VERY-INSECURE"]
    assert config.secrets.cipher == ["32-LONG-SECRET-NOT-SECURE-AT-ALL"]
    assert config.hashers.bcrypt.cost == 12  # 8 in the file, raised outside dev mode
    assert config.serve.admin.base_url == "http://kratos:4434/"
    assert config.selfservice.flows.login.lifespan.total_seconds() == 600
    assert config.selfservice.flows.settings.privileged_session_max_age.total_seconds() == 900
    assert config.courier.smtp.connection_uri == "smtps://test:test@mailslurper:1025/?skip_ssl_verify=true"
    assert load_config([DATA / name], env={}, dev=True, check_support=False).hashers.bcrypt.cost == 8


@pytest.mark.parametrize("name", sorted(QUICKSTARTS))
def test_quickstart_refuses_exactly_its_unsupported_parts(name: str) -> None:
    try:
        load_config([DATA / name], env={})
        problems: list[str] = []
    except ConfigError as caught:
        problems = caught.problems
    assert problems == QUICKSTARTS[name]


def test_quickstart_with_security_keys_and_passkeys_loads() -> None:
    config = load_config([DATA / "quickstart-all-strategies.kratos.yml"], env={})
    webauthn = config.selfservice.methods.webauthn
    assert webauthn.enabled
    assert webauthn.config.passwordless
    assert webauthn.config.rp is not None
    assert webauthn.config.rp.origin == "http://localhost:4455"
    assert config.selfservice.methods.passkey.enabled
    env = {
        "SELFSERVICE_METHODS_TOTP_ENABLED": "false",
        "SELFSERVICE_METHODS_LOOKUP_SECRET_ENABLED": "false",
        "SELFSERVICE_METHODS_LINK_ENABLED": "false",
        "SELFSERVICE_FLOWS_RECOVERY_ENABLED": "false",
        "SELFSERVICE_FLOWS_VERIFICATION_ENABLED": "false",
    }
    load_config([DATA / "quickstart-email-password.kratos.yml"], env=env)


def test_minimal_config_uses_nothing_unsupported(tmp_path: Path) -> None:
    assert load(tmp_path, "") == []


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "selfservice: {flows: {settings: {after: {profile: {hooks: [{hook: verify_new_address}]}}}}}",
            "selfservice.flows: the hooks verify_new_address and notify_previous_addresses are not "
            "implemented yet; remove them (settings send a verification message for a new address by "
            "themselves when selfservice.flows.verification is enabled)",
        ),
        (
            "tracing: {provider: jaeger}",
            "tracing.provider: tracing is not implemented yet; remove tracing.provider",
        ),
        (
            "serve: {public: {tls: {cert: {path: /c.pem}, key: {path: /k.pem}}}}",
            "serve.public.tls: TLS is not implemented yet; terminate TLS in a proxy",
        ),
        (
            "serve: {admin: {host: 'unix:/run/kratos.sock'}}",
            "serve.admin.socket: unix sockets are not implemented yet; use host/port",
        ),
        (
            "organizations: [{id: x}]",
            "organizations: the organizations feature is not implemented yet; remove organizations",
        ),
    ],
)
def test_each_unsupported_feature_is_refused(tmp_path: Path, extra: str, expected: str) -> None:
    assert load(tmp_path, extra) == [expected]
    assert load(tmp_path, extra, check_support=False) == []


@pytest.mark.parametrize("algorithm", ["noop", "aes", "xchacha20-poly1305"])
def test_every_cipher_algorithm_is_accepted(tmp_path: Path, algorithm: str) -> None:
    secrets = "secrets: {cipher: [32-LONG-SECRET-NOT-SECURE-AT-ALL]}\n"
    assert load(tmp_path, f"ciphers: {{algorithm: {algorithm}}}\n{secrets}") == []


def test_empty_tls_block_is_not_tls(tmp_path: Path) -> None:
    assert load(tmp_path, "serve: {public: {tls: {}}}") == []


def test_table_paths_are_key_paths(tmp_path: Path) -> None:
    base = tmp_path / "base.yml"
    base.write_text(MINIMAL)
    config = load_config([base], env={})
    assert unsupported_features(config) == []
    for row in UNSUPPORTED:
        assert row.path.split(".")[0] in type(config).model_fields
        assert not row.enabled(config), row.path
