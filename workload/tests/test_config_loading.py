"""Loading kratos.yml: defaults, file formats, merging, environment overrides, dev mode, secrets."""

from __future__ import annotations

import json
import logging
import os
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from config_data import MINIMAL

from kratos.config import (
    ConfigError,
    KratosConfig,
    format_duration,
    load_config,
    parse_byte_size,
    parse_duration,
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    return write(tmp_path, "kratos.yml", MINIMAL)


def test_defaults_match_upstream(minimal: Path) -> None:
    config = load_config([minimal], env={})
    assert config.dsn == "memory"
    assert config.serve.public.port == 4433
    assert config.serve.admin.port == 4434
    assert config.serve.public.host == ""
    assert config.serve.public.base_url == "http://127.0.0.1:4433/"
    assert config.serve.admin.base_url == "http://127.0.0.1:4434/"
    assert config.serve.public.cors.enabled is False
    assert config.serve.public.cors.allowed_origins == ["*"]
    assert config.log.level == "info"
    assert config.log.format == "text"
    assert config.log.leak_sensitive_values is False
    assert config.identity.default_schema_id == "default"
    assert config.identity.schemas[0].url == "file:///etc/identity.schema.json"
    assert config.identity.schemas[0].selfservice_selectable is False
    assert config.hashers.algorithm == "bcrypt"
    assert config.hashers.bcrypt.cost == 12
    argon2 = config.hashers.argon2
    assert argon2.memory == 128 * 1024 * 1024
    assert (argon2.iterations, argon2.salt_length, argon2.key_length) == (1, 16, 32)
    assert argon2.parallelism == 2 * (os.cpu_count() or 1)
    assert argon2.expected_duration == timedelta(milliseconds=500)
    assert config.session.lifespan == timedelta(hours=24)
    assert config.session.cookie.name == "ory_kratos_session"
    assert config.session.cookie.persistent is True
    assert config.session.whoami.required_aal == "highest_available"
    assert config.courier.smtp.from_address == "no-reply@ory.kratos.sh"
    assert config.courier.message_retries == 5
    assert config.courier.worker.pull_count == 10
    assert config.courier.worker.pull_wait == timedelta(seconds=1)
    assert config.courier.delivery_strategy == "smtp"
    assert config.ciphers.algorithm == "noop"
    assert config.cookies.path == "/"
    assert config.cookies.same_site == "Lax"
    methods = config.selfservice.methods
    assert (methods.password.enabled, methods.profile.enabled, methods.code.enabled) == (True, True, True)
    assert not any(m.enabled for m in (methods.oidc, methods.webauthn, methods.passkey, methods.totp))
    assert methods.lookup_secret.enabled is False
    assert methods.link.enabled is False
    assert methods.password.config.min_password_length == 8
    assert methods.code.config.max_submissions == 5
    flows = config.selfservice.flows
    assert flows.login.lifespan == timedelta(hours=1)
    assert flows.registration.enabled is True
    assert flows.recovery.enabled is False
    assert flows.verification.enabled is False
    assert flows.recovery.use == "code"
    assert flows.verification.use == "code"
    assert flows.settings.privileged_session_max_age == timedelta(hours=1)
    assert flows.settings.required_aal == "highest_available"
    assert flows.error.ui_url == "https://www.ory.com/kratos/docs/fallback/error"
    assert config.dev is False
    assert config.sqa_opt_out is False


def test_base_url_follows_host_and_port(tmp_path: Path, minimal: Path) -> None:
    extra = write(
        tmp_path,
        "serve.yml",
        "serve:\n  public: {host: kratos.internal, port: 8080}\n  admin: {host: 0.0.0.0, port: 9090}\n",
    )
    config = load_config([minimal, extra], env={})
    assert config.serve.public.base_url == "http://kratos.internal:8080/"
    assert config.serve.admin.base_url == "http://127.0.0.1:9090/"
    explicit = load_config([minimal], env={"SERVE_PUBLIC_BASE_URL": "https://id.example.com/"})
    assert explicit.serve.public.base_url == "https://id.example.com/"


def test_files_are_deep_merged_in_order(tmp_path: Path, minimal: Path) -> None:
    first = write(
        tmp_path,
        "a.yml",
        "serve:\n  public:\n    port: 1111\n    cors: {enabled: true, allowed_origins: [https://a.example]}\n"
        "log: {level: debug}\n",
    )
    second = write(
        tmp_path,
        "b.yml",
        "serve:\n  public:\n    cors: {allowed_origins: [https://b.example]}\nlog: {format: json}\n",
    )
    config = load_config([minimal, first, second], env={})
    assert config.serve.public.port == 1111
    assert config.serve.public.cors.enabled is True
    assert config.serve.public.cors.allowed_origins == ["https://b.example"]
    assert (config.log.level, config.log.format) == ("debug", "json")


def test_json_and_toml_files(tmp_path: Path) -> None:
    data = yaml.safe_load(MINIMAL)
    data["serve"] = {"public": {"port": 4455}}
    as_json = write(tmp_path, "kratos.json", json.dumps(data))
    as_toml = write(
        tmp_path,
        "kratos.toml",
        'dsn = "memory"\n'
        "[[identity.schemas]]\n"
        'id = "default"\n'
        'url = "file:///etc/identity.schema.json"\n'
        "[selfservice]\n"
        'default_browser_return_url = "http://127.0.0.1:4455/"\n'
        "[serve.public]\n"
        "port = 4466\n",
    )
    assert load_config([as_json], env={}).serve.public.port == 4455
    assert load_config([as_toml], env={}).serve.public.port == 4466
    assert load_config([as_toml, as_json], env={}).serve.public.port == 4455


def test_environment_overrides_files(minimal: Path) -> None:
    env = {
        "DSN": "postgres://kratos:secret@db:5432/kratos",
        "SERVE_PUBLIC_BASE_URL": "https://auth.example.com/",
        "SERVE_PUBLIC_PORT": "8443",
        "LOG_LEVEL": "trace",
        "SECRETS_COOKIE": '["a-very-long-cookie-secret-1", "a-very-long-cookie-secret-2"]',
        "SELFSERVICE_ALLOWED_RETURN_URLS": '["https://app.example.com/"]',
        "SELFSERVICE_METHODS_PASSWORD_ENABLED": "false",
        "SELFSERVICE_FLOWS_REGISTRATION_ENABLED": "true",
        "SESSION_LIFESPAN": "1h30m",
        "HASHERS_ARGON2_MEMORY": "1GB",
        "SQA_OPT_OUT": "true",
        "UNRELATED_VARIABLE": "ignored",
        "HOME": "/root",
    }
    config = load_config([minimal], env=env)
    assert config.dsn == "postgres://kratos:secret@db:5432/kratos"
    assert config.serve.public.base_url == "https://auth.example.com/"
    assert config.serve.public.port == 8443
    assert config.log.level == "trace"
    assert config.secrets.cookie == ["a-very-long-cookie-secret-1", "a-very-long-cookie-secret-2"]
    assert config.selfservice.allowed_return_urls == ["https://app.example.com/"]
    assert config.selfservice.methods.password.enabled is False
    assert config.selfservice.flows.registration.enabled is True
    assert config.session.lifespan == timedelta(hours=1, minutes=30)
    assert config.hashers.argon2.memory == 1024**3
    assert config.sqa_opt_out is True


def test_environment_objects_as_json_then_children(minimal: Path) -> None:
    env = {
        "SERVE_PUBLIC_CORS": '{"enabled": true, "allowed_origins": ["https://x.example"], "max_age": 10}',
        "SERVE_PUBLIC_CORS_MAX_AGE": "20",
        "IDENTITY_SCHEMAS": '[{"id": "default", "url": "base64://e30="}, {"id": "b", "url": "file:///b.json"}]',
    }
    config = load_config([minimal], env=env)
    cors = config.serve.public.cors
    assert (cors.enabled, cors.allowed_origins, cors.max_age) == (True, ["https://x.example"], 20)
    assert [s.id for s in config.identity.schemas] == ["default", "b"]


def test_environment_alone_can_configure(tmp_path: Path) -> None:
    env = {
        "DSN": "memory",
        "IDENTITY_SCHEMAS": '[{"id": "default", "url": "file:///x.json"}]',
        "SELFSERVICE_DEFAULT_BROWSER_RETURN_URL": "http://localhost/",
    }
    config = load_config([], env=env)
    assert config.selfservice.default_browser_return_url == "http://localhost/"


def test_env_defaults_to_process_environment(minimal: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert load_config([minimal]).log.format == "json"


@pytest.mark.parametrize("level", ["trace", "debug", "info", "warning", "error", "fatal", "panic"])
def test_every_log_level(minimal: Path, level: str) -> None:
    assert load_config([minimal], env={"LOG_LEVEL": level}).log.level == level


def test_bcrypt_cost_below_12_is_raised_outside_dev(
    tmp_path: Path, minimal: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cheap = write(tmp_path, "cheap.yml", "hashers:\n  bcrypt:\n    cost: 4\n")
    with caplog.at_level(logging.WARNING, logger="kratos.config"):
        config = load_config([minimal, cheap], env={})
    assert config.hashers.bcrypt.cost == 12
    assert "hashers.bcrypt.cost 4 is below 12" in caplog.text


def test_bcrypt_cost_below_12_allowed_in_dev(tmp_path: Path, minimal: Path) -> None:
    cheap = write(tmp_path, "cheap.yml", "hashers:\n  bcrypt:\n    cost: 4\n")
    assert load_config([minimal, cheap], env={}, dev=True).hashers.bcrypt.cost == 4
    assert load_config([minimal, cheap], env={"DEV": "true"}).hashers.bcrypt.cost == 4
    dev_file = write(tmp_path, "dev.yml", "dev: true\n")
    assert load_config([minimal, cheap, dev_file], env={}).hashers.bcrypt.cost == 4
    # The --dev flag (given or not) wins over the file and the environment.
    assert load_config([minimal, cheap, dev_file], env={}, dev=False).hashers.bcrypt.cost == 12
    high = write(tmp_path, "high.yml", "hashers:\n  bcrypt:\n    cost: 14\n")
    assert load_config([minimal, high], env={}).hashers.bcrypt.cost == 14


def test_bcrypt_cost_minimum_is_4_even_in_dev(tmp_path: Path, minimal: Path) -> None:
    too_cheap = write(tmp_path, "cheap.yml", "hashers:\n  bcrypt:\n    cost: 3\n")
    with pytest.raises(
        ConfigError, match=r"hashers\.bcrypt\.cost: must be an integer between 4 and 31, got 3"
    ):
        load_config([minimal, too_cheap], env={}, dev=True)


def test_cookie_secure_defaults_to_not_dev_and_session_cookie_inherits(tmp_path: Path, minimal: Path) -> None:
    cookies = write(
        tmp_path, "cookies.yml", "cookies:\n  domain: example.com\n  path: /auth\n  same_site: Strict\n"
    )
    config = load_config([minimal, cookies], env={})
    assert config.cookies.secure is True
    cookie = config.session.cookie
    assert (cookie.domain, cookie.path, cookie.same_site, cookie.secure) == (
        "example.com",
        "/auth",
        "Strict",
        True,
    )
    assert load_config([minimal], env={}, dev=True).session.cookie.secure is False
    own = load_config(
        [minimal, cookies], env={"SESSION_COOKIE_SAME_SITE": "None", "SESSION_COOKIE_PATH": "/"}
    )
    assert (own.session.cookie.same_site, own.session.cookie.path) == ("None", "/")


def test_secrets_fall_back_and_are_generated(
    tmp_path: Path, minimal: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="kratos.config"):
        generated = load_config([minimal], env={})
    assert "random secret" in caplog.text
    secrets = generated.secrets.cookie_secrets()
    assert len(secrets) == 1
    assert len(secrets[0]) >= 32
    assert generated.secrets.default_secrets() == secrets
    assert load_config([minimal], env={}).secrets.cookie_secrets() != secrets

    defaults = load_config([minimal], env={"SECRETS_DEFAULT": '["0123456789abcdef-default"]'})
    assert defaults.secrets.cookie_secrets() == ["0123456789abcdef-default"]
    assert defaults.secrets.pagination_secrets() == ["0123456789abcdef-default"]
    both = load_config(
        [minimal],
        env={
            "SECRETS_DEFAULT": '["0123456789abcdef-default"]',
            "SECRETS_COOKIE": '["0123456789abcdef-cookie"]',
        },
    )
    assert both.secrets.cookie_secrets() == ["0123456789abcdef-cookie"]
    cipher = load_config([minimal], env={"SECRETS_CIPHER": json.dumps(["x" * 32])})
    assert cipher.secrets.cipher == ["x" * 32]


def test_hooks_and_methods_are_typed(tmp_path: Path, minimal: Path) -> None:
    flows = write(
        tmp_path,
        "flows.yml",
        """
selfservice:
  methods:
    password:
      config: {min_password_length: 10, haveibeenpwned_enabled: false}
    code:
      config: {lifespan: 15m}
  flows:
    registration:
      after:
        password:
          hooks: [{hook: session}, {hook: show_verification_ui}]
    login:
      after:
        hooks: [{hook: revoke_active_sessions}]
    settings:
      after:
        profile:
          hooks: [{hook: notify_previous_addresses, config: {recipients: all}}]
""",
    )
    config = load_config([minimal, flows], env={}, check_support=False)  # typing only
    password = config.selfservice.methods.password.config
    assert (password.min_password_length, password.haveibeenpwned_enabled) == (10, False)
    assert config.selfservice.methods.code.config.lifespan == timedelta(minutes=15)
    after = config.selfservice.flows.registration.after.password
    assert [h.hook for h in after.hooks] == ["session", "show_verification_ui"]
    assert [path for path, _ in config.selfservice.iter_hooks()] == [
        "selfservice.flows.login.after.hooks[0]",
        "selfservice.flows.registration.after.password.hooks[0]",
        "selfservice.flows.registration.after.password.hooks[1]",
        "selfservice.flows.settings.after.profile.hooks[0]",
    ]
    assert config.selfservice.flows.settings.after.profile.hooks[0].config == {"recipients": "all"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", timedelta(hours=1)),
        ("30m", timedelta(minutes=30)),
        ("10s", timedelta(seconds=10)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("500ms", timedelta(milliseconds=500)),
        ("1m30s250ms", timedelta(minutes=1, seconds=30, milliseconds=250)),
        ("1500us", timedelta(microseconds=1500)),
        ("0s", timedelta(0)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("bad", ["1d", "h", "", "10", "1.5h", 3600, None])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="must be a duration"):
        parse_duration(bad)


def test_format_duration() -> None:
    assert format_duration(timedelta(hours=1, minutes=30)) == "1h30m"
    assert format_duration(timedelta(milliseconds=500)) == "500ms"
    assert format_duration(timedelta(0)) == "0s"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("128MB", 128 * 1024**2),
        ("1GB", 1024**3),
        ("64KB", 65536),
        ("100B", 100),
        ("4096", 4096),
        (2048, 2048),
    ],
)
def test_byte_sizes(text: str | int, expected: int) -> None:
    assert parse_byte_size(text) == expected


@pytest.mark.parametrize("bad", ["128mb", "1.5GB", "lots", -1, True])
def test_bad_byte_sizes(bad: object) -> None:
    with pytest.raises(ValueError, match="must be a size"):
        parse_byte_size(bad)


def test_dump_round_trips(minimal: Path) -> None:
    config = load_config(
        [minimal], env={"SESSION_LIFESPAN": "90m", "HASHERS_ARGON2_MEMORY": "64MB"}, dev=True
    )
    dumped = config.model_dump(mode="json", by_alias=True)
    assert dumped["session"]["lifespan"] == "1h30m"
    assert dumped["hashers"]["argon2"]["memory"] == 64 * 1024**2
    assert dumped["sqa-opt-out"] is False
    again = KratosConfig.model_validate(dumped)
    assert again.model_dump(mode="json", by_alias=True) == dumped
