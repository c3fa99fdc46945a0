"""Configuration errors: every problem is reported, each naming its key, file or environment variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_data import MINIMAL

from kratos.config import ConfigError, load_config


def problems(
    tmp_path: Path, extra: str = "", env: dict[str, str] | None = None, base: str = MINIMAL
) -> list[str]:
    files = [tmp_path / "base.yml"]
    files[0].write_text(base)
    if extra:
        files.append(tmp_path / "extra.yml")
        files[1].write_text(extra)
    with pytest.raises(ConfigError) as caught:
        load_config(files, env=env or {})
    assert str(caught.value).startswith("invalid configuration:")
    for problem in caught.value.problems:
        assert problem in str(caught.value)
    return caught.value.problems


def test_every_problem_is_listed_with_its_key(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
serve:
  public:
    port: abc
hashers:
  algorithm: md5
session:
  lifespan: forever
log:
  level: loud
selfservice:
  methods:
    password:
      enabled: maybe
""",
    )
    assert sorted(found) == sorted(
        [
            'serve.public.port: must be an integer between 1 and 65535, got "abc"',
            'hashers.algorithm: must be one of bcrypt, argon2, got "md5"',
            'session.lifespan: must be a duration such as 1h, 30m, 10s, 1h30m or 500ms, got "forever"',
            'log.level: must be one of trace, debug, info, warning, error, fatal, panic, got "loud"',
            'selfservice.methods.password.enabled: must be true or false, got "maybe"',
        ]
    )


def test_environment_values_are_named_by_variable(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        env={
            "SERVE_ADMIN_PORT": "70000",
            "LOG_FORMAT": "xml",
            "SERVE_PUBLIC_CORS": '{"enabled": "perhaps"}',
            "DSN": "",
        },
    )
    assert sorted(found) == sorted(
        [
            'SERVE_ADMIN_PORT (environment): must be an integer between 1 and 65535, got "70000"',
            'LOG_FORMAT (environment): must be one of json, text, got "xml"',
            "SERVE_PUBLIC_CORS (environment): serve.public.cors.enabled: "
            'must be true or false, got "perhaps"',
            "DSN (environment): must not be empty",
        ]
    )


def test_bad_json_in_environment(tmp_path: Path) -> None:
    found = problems(tmp_path, env={"SECRETS_COOKIE": "not-json", "SERVE_PUBLIC_CORS": "{"})
    assert len(found) == 2
    assert found[0].startswith('SERVE_PUBLIC_CORS (environment): must be JSON such as {"key": "value"}')
    assert found[1].startswith('SECRETS_COOKIE (environment): must be JSON such as ["a", "b"]')


def test_missing_required_keys(tmp_path: Path) -> None:
    assert sorted(problems(tmp_path, base="log: {level: info}\n")) == [
        "dsn: is required",
        "identity: is required",
        "selfservice: is required",
    ]
    assert problems(tmp_path, base="dsn: memory\nidentity: {schemas: []}\nselfservice: {}\n") == [
        "identity.schemas: must have at least 1 entry",
        "selfservice.default_browser_return_url: is required",
    ]


def test_unknown_keys_are_rejected_with_a_suggestion(tmp_path: Path) -> None:
    found = problems(
        tmp_path, "serve:\n  public:\n    prot: 1\nsesion: {}\nselfservice:\n  methods:\n    sms: {}\n"
    )
    assert sorted(found) == [
        "selfservice.methods.sms: is not a known key",
        'serve.public.prot: is not a known key (did you mean "port"?)',
        'sesion: is not a known key (did you mean "session"?)',
    ]


def test_open_objects_accept_unknown_keys(tmp_path: Path) -> None:
    extra = "security: {something_new: true}\nclients: {http: {other: 1}}\ndatabase: {cleanup: {future: 1}}\n"
    (tmp_path / "base.yml").write_text(MINIMAL)
    (tmp_path / "extra.yml").write_text(extra)
    load_config([tmp_path / "base.yml", tmp_path / "extra.yml"], env={})


def test_secrets_rules_without_echoing_them(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "secrets:\n  default: [tooshort]\n  cipher: [also-short]\n"
        "courier:\n  smtp:\n    connection_uri: http://user:hunter2@mail\n",
    )
    assert sorted(found) == [
        "courier.smtp.connection_uri: must be an smtp:// or smtps:// URI",
        "secrets.cipher[0]: must be exactly 32 characters long, got 10",
        "secrets.default[0]: must be at least 16 characters long",
    ]
    assert not any("tooshort" in p or "hunter2" in p or "also-short" in p for p in found)


def test_cipher_secret_required_for_encryption(tmp_path: Path) -> None:
    assert problems(tmp_path, "ciphers: {algorithm: aes}\n") == [
        "secrets.cipher: is required when ciphers.algorithm is aes"
    ]


def test_cross_field_rules_name_the_key(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
identity:
  default_schema_id: customer
  schemas: [{id: default, url: file:///x.json}, {id: staff, url: file:///y.json}]
selfservice:
  methods:
    code: {passwordless_enabled: true, mfa_enabled: true}
    webauthn: {enabled: true}
""",
    )
    assert sorted(found) == [
        'identity.default_schema_id: "customer" is not among the schema ids (default, staff)',
        "selfservice.methods.code.mfa_enabled: cannot be true together with passwordless_enabled",
        "selfservice.methods.webauthn.config: is required when the method is enabled",
    ]


def test_hooks_are_checked_per_position(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "selfservice: {flows: {login: {after: {password: {hooks: [{hook: session}]}}}}}\n",
    )
    assert found == [
        "selfservice.flows.login.after.password.hooks[0].hook: must be one of revoke_active_sessions, "
        "require_verified_address, web_hook, verification, show_verification_ui, b2b_sso, organization, "
        'got "session"'
    ]


def test_type_errors(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "selfservice:\n  allowed_return_urls: https://x\nserve: []\ncourier: {smtp: {from_address: nobody}}\n"
        "hashers: {argon2: {memory: lots}}\nversion: '1.0'\n",
    )
    assert sorted(found) == [
        "courier.smtp.from_address: must be an email address",
        'hashers.argon2.memory: must be a size such as 128MB or 1GB, got "lots"',
        'selfservice.allowed_return_urls: must be a list, got "https://x"',
        "serve: must be an object, got a list",
        "version: must be a version such as v1.2.3",
    ]


def test_file_not_found_and_syntax_errors(tmp_path: Path) -> None:
    broken_yaml = tmp_path / "broken.yml"
    broken_yaml.write_text("dsn: memory\nserve:\n  public: [1, 2\n")
    broken_json = tmp_path / "broken.json"
    broken_json.write_text('{\n  "dsn": "memory",\n}\n')
    broken_toml = tmp_path / "broken.toml"
    broken_toml.write_text("dsn = \n")
    not_a_mapping = tmp_path / "list.yml"
    not_a_mapping.write_text("- a\n- b\n")
    missing = tmp_path / "missing.yml"
    with pytest.raises(ConfigError) as caught:
        load_config([missing, broken_yaml, broken_json, broken_toml, not_a_mapping], env={})
    found = caught.value.problems
    assert found[0] == f"{missing}: file not found"
    assert found[1].startswith(f"{broken_yaml}:4: YAML syntax error:")
    assert found[2].startswith(f"{broken_json}:3: JSON syntax error:")
    assert found[3].startswith(f"{broken_toml}: TOML syntax error:")
    assert "line 1" in found[3]
    assert found[4] == f"{not_a_mapping}: must contain a mapping of keys at the top level"
