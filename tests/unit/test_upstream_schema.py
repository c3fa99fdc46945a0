"""Every kratos.yaml the charm renders is valid for upstream Ory Kratos v26.2.0 and loads in our workload.

Users can swap the workload image for upstream's. So the rendered file, with the environment the charm
sets merged in as upstream merges it, must validate against upstream's config schema
(`data/upstream/`), and the workload's own loader must read the same file and environment.
The matrix renders through the charm's own `RenderInputs`, built from relation data by the same
integration classes; the charm-driven tests at the end read what a real reconcile pushed.
"""

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ready_state, rendered_config, service_env
from jsonschema import Draft7Validator
from ops import testing
from upstream_config import CHECKED_FORMATS, UpstreamSchema

from configs import CharmConfig, RenderInputs, WorkloadSecrets, render_kratos_config, workload_environment
from integrations import DEFAULT_SMTP_URI, DatabaseInfo, ExternalProvider, SmtpData
from integrations.identity import LOGIN_UI_KEYS

kratos_config = pytest.importorskip(
    "kratos.config", reason="the workload package is installed by `tox -e unit`"
)

UPSTREAM = UpstreamSchema()
SERVICE = "http://kratos.model.svc.cluster.local"
BOOLEAN_OPTIONS: tuple[str, ...] = (
    "dev",
    "enable_local_idp",
    "enforce_mfa",
    "enable_verification",
    "enable_passwordless_login_method",
    "enable_oidc_webauthn_sequencing",
)
PUBLIC_ROUTE = {"external_host": "id.example.com", "scheme": "https"}
# Every page the login UI can publish.
LOGIN_UI = {key: f"https://id.example.com/ui/{key.removesuffix('_url')}" for key in LOGIN_UI_KEYS}
# What kratos-external-idp-integrator publishes, one of each shape the charm renders differently.
PROVIDERS = [
    {"provider": "github", "client_id": "gh-id", "client_secret": "gh-secret", "scope": "user:email"},
    {
        "provider": "google",
        "client_id": "g-id",
        "client_secret": "g-secret",
        "id": "google",
        "label": "Google",
    },
    {"provider": "microsoft", "client_id": "ms-id", "client_secret": "ms", "microsoft_tenant": "tenant-1"},
    {
        "provider": "apple",
        "client_id": "com.example.id",
        "apple_team_id": "KP76DQS54M",
        "apple_private_key_id": "UX56C66723",
        "apple_private_key": "-----BEGIN PRIVATE KEY-----\nMIGT\n-----END PRIVATE KEY-----",
    },
    {
        "provider": "generic",
        "client_id": "oidc-id",
        "client_secret": "oidc-secret",
        "issuer_url": "https://sso.example.com/realms/main",
        "jsonnet_mapper": "local claims = std.extVar('claims'); {identity: {traits: {email: claims.email}}}",
        "requested_claims": {"id_token": {"email": {"essential": True}}},
        "pkce": "force",
    },
    {
        "provider": "gitlab",
        "client_id": "gl-id",
        "client_secret": "gl-secret",
        "mapper_url": "https://example.com/mappers/gitlab.jsonnet",
    },
]
SMTP_TLS_PLAIN = {
    "host": "mail.example.com",
    "port": "465",
    "auth_type": "plain",
    "transport_security": "tls",
    "user": "bot@example.com",
    "password": "p@ss:word/",
    "smtp_sender": "noreply@example.com",
}
SMTP_NONE = {"host": "mail", "port": "25", "transport_security": "none", "skip_ssl_verify": "true"}


@dataclass(frozen=True)
class Relations:
    """The relation data that changes the workload's config, as each provider publishes it."""

    database: str = "pg-database"
    public_route: bool = False
    smtp: Mapping[str, str] | None = None
    hydra: bool = False
    providers: tuple[Mapping[str, Any], ...] = ()
    login_ui: bool = False
    tracing: str | None = None
    ca: bool = False
    name: str = field(default="", compare=False)

    def database_info(self) -> DatabaseInfo:
        if self.database == "db":  # legacy pgsql: one host, the password as the provider set it
            return DatabaseInfo(0, "10.1.1.1:5432", "legacy", "kratos_user", "p@ss/w:rd")
        return DatabaseInfo(0, "pg-0.pg:5432,pg-1.pg:5432", "model_kratos", "relation-7", "s3cr3t")

    def render(self, config: CharmConfig) -> tuple[str, dict[str, str]]:
        """Render kratos.yaml and the service environment as the charm does for these relations."""
        public_url = "https://{external_host}".format(**PUBLIC_ROUTE) if self.public_route else None
        inputs = RenderInputs(
            config=config,
            public_url=public_url,
            admin_url=f"{SERVICE}:4434",
            fallback_public_url=f"{SERVICE}:4433",
            login_ui=LOGIN_UI if self.login_ui else {},
            oauth2_provider_url="http://hydra.model.svc.cluster.local:4445" if self.hydra else None,
            oidc_providers=[ExternalProvider.model_validate(p).kratos_config() for p in self.providers],
            tracing_endpoint=self.tracing,
        )
        smtp = SmtpData.model_validate(dict(self.smtp)) if self.smtp else None
        secrets = WorkloadSecrets(
            dsn=self.database_info().dsn,
            cookie_secret="c" * 32,
            cipher_secret="x" * 32,
            smtp_connection_uri=smtp.connection_uri(smtp.password) if smtp else DEFAULT_SMTP_URI,
        )
        env = workload_environment(
            config,
            secrets,
            public_base_url=inputs.public_base_url,
            sender_email=smtp.smtp_sender if smtp else None,
            custom_ca=self.ca,
        )
        return render_kratos_config(inputs), env


EACH_RELATION = [
    Relations(database="db", name="db (legacy) instead of pg-database"),
    Relations(public_route=True, name="public-route"),
    Relations(smtp=SMTP_TLS_PLAIN, name="smtp (tls, plain auth)"),
    Relations(smtp=SMTP_NONE, name="smtp (no tls)"),
    Relations(hydra=True, name="hydra-endpoint-info"),
    Relations(providers=tuple(PROVIDERS), name="kratos-external-idp (every provider type)"),
    Relations(providers=tuple(PROVIDERS[:1]), name="kratos-external-idp (github)"),
    Relations(login_ui=True, name="ui-endpoint-info"),
    Relations(tracing="http://tempo.model.svc.cluster.local:4318", name="tracing (http)"),
    Relations(tracing="https://tempo.example.com:4318", name="tracing (https)"),
    Relations(ca=True, name="receive-ca-cert"),
]
EVERYTHING = Relations(
    public_route=True,
    smtp=SMTP_TLS_PLAIN,
    hydra=True,
    providers=tuple(PROVIDERS),
    login_ui=True,
    tracing="http://tempo:4318",
    ca=True,
    name="every relation",
)
_DEFAULT = Relations()
# Nothing, everything, and everything but one of the relations whose data meets the boolean options
# (hydra, tracing and CA certificates fill sections of their own: EACH_RELATION has them alone).
RELATION_STATES = [
    Relations(name="pg-database only"),
    EVERYTHING,
    *(
        replace(EVERYTHING, **{f: getattr(_DEFAULT, f)}, name=f"every relation but {f}")
        for f in ("public_route", "smtp", "providers", "login_ui")
    ),
]


def boolean_combinations() -> list[dict[str, bool]]:
    """Every accepted on/off combination of the boolean options that shape kratos.yaml.

    `dev` only sets the `DEV` variable: each relation meets it on and off in the test with one option
    flipped at a time.
    """
    shaping = BOOLEAN_OPTIONS[1:]
    combos = [
        dict(zip(shaping, values, strict=True)) for values in itertools.product((False, True), repeat=5)
    ]
    return [
        c
        for c in combos
        if not (c["enable_passwordless_login_method"] and c["enable_oidc_webauthn_sequencing"])
    ]


def combination_id(options: Mapping[str, Any]) -> str:
    """A short test id: the boolean options switched on, then any other option."""
    on = [k.removeprefix("enable_") for k, v in options.items() if v is True]
    others = [k for k, v in options.items() if not isinstance(v, bool)]
    return "+".join(on + others) or "all-off"


def problems(rendered: str, env: Mapping[str, str], tmp_path: Path) -> list[str]:
    """Why upstream's schema or our loader refuses the config (empty when both accept it)."""
    data = yaml.load(rendered, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    found = [f"upstream schema: {e}" for e in UPSTREAM.errors(UPSTREAM.with_environment(data, env))]
    # The loader reads the parsed file as JSON: the same data, without pure-Python YAML's 50 ms a file
    # (tests/unit/test_workload_contract.py has it read kratos.yaml itself).
    path = tmp_path / "kratos.json"
    path.write_text(json.dumps(data))
    try:
        kratos_config.load_config([path], env=env, check_support=False)
    except kratos_config.ConfigError as e:
        found += [f"workload loader: {problem}" for problem in e.problems]
    return found


def check_matrix(
    options_list: list[dict[str, Any]], relation_states: list[Relations], tmp_path: Path
) -> None:
    failures = []
    for options in options_list:
        config = CharmConfig.from_mapping(options)
        for relations in relation_states:
            rendered, env = relations.render(config)
            for problem in problems(rendered, env, tmp_path):
                failures.append(f"[config {json.dumps(options)} | {relations.name}] {problem}")
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures)


def test_the_schemas_resolve_and_check_formats() -> None:
    assert set(CHECKED_FORMATS) <= Draft7Validator.FORMAT_CHECKER.checkers.keys(), (
        "install the pinned rfc3986-validator (requirements-test.txt): without it uri formats go unchecked"
    )
    tracing = UPSTREAM.registry.resolver().lookup("ory://tracing-config").contents
    assert tracing["properties"]["provider"]["enum"] == ["jaeger", "otel", "zipkin"]
    wrong = {"tracing": {"provider": "datadog"}, "dsn": "memory", "oauth2_provider": {"url": "not a uri"}}
    assert {e.json_path for e in UPSTREAM.errors(wrong)} >= {"$.tracing.provider", "$.oauth2_provider.url"}


def test_the_environment_merges_as_upstream_merges_it() -> None:
    env = {"DSN": "memory", "SECRETS_COOKIE": '["a"]', "DEV": "true", "SERVE_PUBLIC_CORS_ENABLED": "true"}
    env |= {"COURIER_SMTP_CONNECTION_URI": "smtp://m:25/", "HTTP_PROXY": "http://proxy:3128", "NO_PROXY": "x"}
    merged = UPSTREAM.with_environment({"serve": {"public": {"base_url": "http://a/"}}}, env)
    assert merged == {
        "dsn": "memory",
        "secrets": {"cookie": ["a"]},
        "dev": True,
        "serve": {"public": {"base_url": "http://a/", "cors": {"enabled": True}}},
        "courier": {"smtp": {"connection_uri": "smtp://m:25/"}},
    }


@pytest.mark.parametrize("options", boolean_combinations(), ids=combination_id)
def test_every_boolean_combination_with_and_without_each_relation(
    options: dict[str, bool], tmp_path: Path
) -> None:
    check_matrix([options], RELATION_STATES, tmp_path)


def test_each_relation_alone_with_each_boolean_flipped(tmp_path: Path) -> None:
    defaults = CharmConfig().model_dump(include=set(BOOLEAN_OPTIONS))
    flipped = [{option: not value} for option, value in defaults.items()]
    check_matrix([{}, dict.fromkeys(BOOLEAN_OPTIONS, False), *flipped], EACH_RELATION, tmp_path)


OTHER_OPTIONS = [
    {"log_level": level} for level in ("trace", "DEBUG", "warning", "error", "fatal", "panic")
] + [
    {
        "identity_schemas": json.dumps(
            {"employee_v1": {"$id": "https://example.com/employee.json", "type": "object", "properties": {}}}
        ),
        "default_identity_schema_id": "employee_v1",
    },
    {
        "identity_schemas": json.dumps({"admin_v0": {"type": "object"}}),
        "default_identity_schema_id": "admin_v0",
    },
    {"default_identity_schema_id": "admin_v0"},
    {"recovery_email_template": "<p>{{ .RecoveryCode }} for {{ .To }}</p>"},
    {"sender_email": "id@example.com", "sender_name": "Example Identity"},
    {"http_proxy": "http://proxy:3128", "https_proxy": "https://proxy:3129", "no_proxy": "localhost,.svc"},
    {"cpu": "500m", "memory": "1Gi"},
]


def test_the_other_options(tmp_path: Path) -> None:
    states = [RELATION_STATES[0], EVERYTHING, replace(EVERYTHING, public_route=False, name="no public-route")]
    check_matrix(OTHER_OPTIONS, states, tmp_path)


def charm_relations() -> list[testing.RelationBase]:
    """Every optional relation that changes the config, with the data its provider publishes."""
    receivers = [{"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://tempo:4318"}]
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    data = {
        "public-route": PUBLIC_ROUTE,
        "internal-route": {"external_host": "10.0.0.5", "scheme": "http"},
        "smtp": SMTP_TLS_PLAIN,
        "hydra-endpoint-info": {
            "admin_endpoint": "http://hydra:4445",
            "public_endpoint": "http://hydra:4444",
        },
        "kratos-external-idp": {"providers": json.dumps(PROVIDERS)},
        "ui-endpoint-info": LOGIN_UI,
        "tracing": {"receivers": json.dumps(receivers)},
        "receive-ca-cert": {"certificates": json.dumps([pem]), "version": "1"},
    }
    return [testing.Relation(endpoint, remote_app_data=dict(bag)) for endpoint, bag in data.items()]


@pytest.mark.parametrize(
    ("options", "related"),
    [
        ({}, False),
        ({}, True),
        ({"enable_local_idp": False}, False),  # was `registration.after: null`
        ({"enable_local_idp": False, "enforce_mfa": False, "dev": True}, True),
        ({"enable_verification": True, "enable_passwordless_login_method": True, "log_level": "debug"}, True),
    ],
    ids=[
        "defaults",
        "defaults+relations",
        "no-local-idp",
        "no-local-idp+relations",
        "verification+relations",
    ],
)
def test_the_charm_pushes_a_config_upstream_accepts(
    ctx: testing.Context, options: dict[str, Any], related: bool, tmp_path: Path
) -> None:
    state = ready_state(*(charm_relations() if related else []), config=options)
    out = ctx.run(ctx.on.config_changed(), state)
    root = out.get_container("kratos").get_filesystem(ctx)
    rendered = (root / "etc/config/kratos/kratos.yaml").read_text()
    env = service_env(out)
    found = problems(rendered, env, tmp_path)
    assert not found, f"config {json.dumps(options)}, relations: {related}:\n" + "\n".join(found)
    config = rendered_config(ctx, out)
    if related:  # the relations reached the config that was checked
        assert config["oauth2_provider"]["url"] == "http://hydra:4445"
        assert config["tracing"]["providers"]["otlp"]["server_url"] == "tempo:4318"
        assert len(config["selfservice"]["methods"]["oidc"]["config"]["providers"]) == len(PROVIDERS)
        assert env["COURIER_SMTP_CONNECTION_URI"].startswith("smtps://bot%40example.com:")
        assert "SSL_CERT_FILE" in env
    after = config["selfservice"]["flows"]["registration"].get("after", {})
    assert ("password" in after) == options.get("enable_local_idp", True)
    assert ("oidc" in after) == related
