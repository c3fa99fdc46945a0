"""Every relation, both sides of the databag, and the rendered kratos.yaml for each combination."""

import base64
import json
from typing import Any

import pytest
import yaml
from conftest import container, kratos_secret, peer_relation, ready_state, rendered_config, service_env
from cosl import LZMABase64
from ops import ActiveStatus, BlockedStatus, testing

PUBLIC = {"external_host": "id.example.com", "scheme": "https"}
INTERNAL = {"external_host": "10.0.0.5", "scheme": "http"}
LOGIN_UI = {
    "login_url": "https://id.example.com/ui/login",
    "error_url": "https://id.example.com/ui/error",
    "registration_url": "https://id.example.com/ui/registration",
    "recovery_url": "https://id.example.com/ui/reset_email",
    "settings_url": "https://id.example.com/ui/manage_details",
    "verification_url": "https://id.example.com/ui/verification",
    "consent_url": "",
}
PROVIDERS = [
    {
        "provider": "github",
        "client_id": "gh-id",
        "client_secret": "gh-secret",
        "scope": "user:email",
        "id": "github",
    },
    {
        "provider": "microsoft",
        "client_id": "ms-id",
        "client_secret": "ms-secret",
        "microsoft_tenant": "tenant-1",
        "label": "Microsoft",
    },
    {
        "provider": "generic",
        "client_id": "g",
        "client_secret": "g-secret",
        "issuer_url": "https://idp",
        "jsonnet_mapper": "{identity: {}}",
    },
    {"client_id": "no-provider-type"},
]


def rel(endpoint: str, remote_app_data: dict[str, str] | None = None, **kwargs: Any) -> testing.Relation:
    return testing.Relation(endpoint, remote_app_data=remote_app_data or {}, **kwargs)


def run(
    ctx, *relations: testing.RelationBase, config: dict[str, Any] | None = None, leader: bool = True, **kw
):
    state = ready_state(*relations, leader=leader, config=config or {}, **kw)
    return ctx.run(ctx.on.config_changed(), state)


def decode_base64_url(url: str) -> str:
    assert url.startswith("base64://")
    return base64.b64decode(url.removeprefix("base64://")).decode()


class TestRenderedConfig:
    def test_defaults_without_optional_relations(self, ctx):
        out = run(ctx)
        config = rendered_config(ctx, out)
        assert out.unit_status == ActiveStatus()
        assert config["log"] == {"level": "info", "format": "json"}
        assert (
            config["serve"]["public"]["base_url"] == f"http://kratos.{out.model.name}.svc.cluster.local:4433/"
        )
        assert (
            config["serve"]["admin"]["base_url"] == f"http://kratos.{out.model.name}.svc.cluster.local:4434/"
        )
        assert config["identity"]["default_schema_id"] == "social_user_v0"
        schemas = {s["id"]: json.loads(decode_base64_url(s["url"])) for s in config["identity"]["schemas"]}
        assert set(schemas) == {"admin_v0", "social_user_v0"}
        assert schemas["admin_v0"]["properties"]["traits"]["required"] == ["username", "email"]
        methods = config["selfservice"]["methods"]
        assert methods["password"]["enabled"] is True
        assert methods["totp"]["enabled"] is True
        assert methods["lookup_secret"]["enabled"] is True
        assert methods["webauthn"] == {"enabled": False}
        assert methods["oidc"] == {"enabled": False}
        assert config["session"]["whoami"]["required_aal"] == "highest_available"
        flows = config["selfservice"]["flows"]
        assert flows["recovery"] == {
            "enabled": True,
            "use": "code",
            "after": {"hooks": [{"hook": "revoke_active_sessions"}]},
        }
        assert flows["verification"] == {"enabled": False, "use": "code"}
        assert flows["login"]["style"] == "identifier_first"
        assert "ui_url" not in flows["login"]
        assert "oauth2_provider" not in config
        assert "tracing" not in config
        assert "Recover access to your account" in decode_base64_url(
            config["courier"]["templates"]["recovery_code"]["valid"]["email"]["body"]["html"]
        )
        assert "dsn" not in config
        assert "secrets" not in config

    def test_config_options(self, ctx):
        schemas = {"employee_v1": {"type": "object", "properties": {"traits": {"type": "object"}}}}
        options = {
            "enforce_mfa": False,
            "enable_local_idp": False,
            "enable_verification": True,
            "identity_schemas": json.dumps(schemas),
            "default_identity_schema_id": "employee_v1",
            "recovery_email_template": "<p>{{ .RecoveryCode }}</p>",
            "log_level": "DEBUG",
        }
        out = run(ctx, rel("smtp", {"host": "smtp", "port": "25"}), config=options)
        config = rendered_config(ctx, out)
        assert config["identity"]["default_schema_id"] == "employee_v1"
        assert [s["id"] for s in config["identity"]["schemas"]] == [
            "admin_v0",
            "employee_v1",
            "social_user_v0",
        ]
        assert config["selfservice"]["methods"]["totp"]["enabled"] is False
        assert config["selfservice"]["methods"]["password"]["enabled"] is False
        assert config["selfservice"]["flows"]["registration"]["enabled"] is False
        assert config["selfservice"]["flows"]["verification"]["enabled"] is True
        assert config["session"]["whoami"]["required_aal"] == "aal1"
        assert config["log"]["level"] == "debug"
        body = config["courier"]["templates"]["recovery_code"]["valid"]["email"]["body"]["html"]
        assert decode_base64_url(body) == "<p>{{ .RecoveryCode }}</p>"
        assert out.unit_status == ActiveStatus()

    def test_public_route(self, ctx):
        out = run(ctx, rel("public-route", PUBLIC), config={"enable_passwordless_login_method": True})
        config = rendered_config(ctx, out)
        assert config["serve"]["public"]["base_url"] == "https://id.example.com/"
        assert config["selfservice"]["allowed_return_urls"] == ["https://id.example.com/"]
        webauthn = config["selfservice"]["methods"]["webauthn"]
        assert webauthn == {
            "enabled": True,
            "config": {
                "passwordless": True,
                "rp": {
                    "display_name": "Identity Platform",
                    "id": "id.example.com",
                    "origins": ["https://id.example.com"],
                },
            },
        }
        assert "webauthn" in config["selfservice"]["flows"]["registration"]["after"]
        assert service_env(out)["SERVE_PUBLIC_BASE_URL"] == "https://id.example.com/"
        assert out.unit_status == ActiveStatus()

    def test_login_ui(self, ctx):
        out = run(ctx, rel("ui-endpoint-info", LOGIN_UI), rel("public-route", PUBLIC))
        flows = rendered_config(ctx, out)["selfservice"]["flows"]
        assert flows["login"]["ui_url"] == LOGIN_UI["login_url"]
        assert flows["error"]["ui_url"] == LOGIN_UI["error_url"]
        assert flows["registration"]["ui_url"] == LOGIN_UI["registration_url"]
        assert flows["recovery"]["ui_url"] == LOGIN_UI["recovery_url"]
        assert flows["settings"]["ui_url"] == LOGIN_UI["settings_url"]
        assert flows["verification"]["ui_url"] == LOGIN_UI["verification_url"]
        assert flows["logout"]["after"]["default_browser_return_url"] == LOGIN_UI["login_url"]
        selfservice = rendered_config(ctx, out)["selfservice"]
        assert selfservice["default_browser_return_url"] == LOGIN_UI["settings_url"]
        assert selfservice["allowed_return_urls"] == ["https://id.example.com/"]

    def test_hydra(self, ctx):
        hydra = rel(
            "hydra-endpoint-info", {"admin_endpoint": "http://hydra:4445", "public_endpoint": "http://h:4444"}
        )
        assert rendered_config(ctx, run(ctx, hydra))["oauth2_provider"] == {"url": "http://hydra:4445"}

    def test_tracing(self, ctx):
        receivers = [{"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://tempo:4318"}]
        tracing = rel("tracing", {"receivers": json.dumps(receivers)})
        out = run(ctx, tracing)
        assert rendered_config(ctx, out)["tracing"] == {
            "provider": "otel",
            "service_name": "kratos",
            "providers": {
                "otlp": {"server_url": "tempo:4318", "insecure": True, "sampling": {"sampling_ratio": 1.0}}
            },
        }
        assert json.loads(out.get_relation(tracing.id).local_app_data["receivers"]) == ["otlp_http"]

    def test_external_idp(self, ctx):
        idp = rel("kratos-external-idp", {"providers": json.dumps(PROVIDERS)})
        out = run(ctx, idp, rel("public-route", PUBLIC))
        oidc = rendered_config(ctx, out)["selfservice"]["methods"]["oidc"]
        assert oidc["enabled"] is True
        github, microsoft, generic = oidc["config"]["providers"]
        assert github["id"] == "github"
        assert github["scope"] == ["user:email"]
        assert github["client_secret"] == "gh-secret"
        assert "std.extVar('claims')" in decode_base64_url(github["mapper_url"])
        assert microsoft["id"].startswith("microsoft_")
        assert microsoft["microsoft_tenant"] == "tenant-1"
        assert microsoft["label"] == "Microsoft"
        assert "upn" in decode_base64_url(microsoft["mapper_url"])
        assert decode_base64_url(generic["mapper_url"]) == "{identity: {}}"
        assert generic["issuer_url"] == "https://idp"
        written = json.loads(out.get_relation(idp.id).local_app_data["providers"])
        assert written[0] == {
            "provider_id": "github",
            "redirect_uri": "https://id.example.com/self-service/methods/oidc/callback/github",
        }
        assert len(written) == 3
        registration = rendered_config(ctx, out)["selfservice"]["flows"]["registration"]["after"]
        assert registration["oidc"] == {"hooks": [{"hook": "session"}]}

    def test_external_idp_without_public_route_blocks(self, ctx):
        idp = rel(
            "kratos-external-idp", {"providers": json.dumps(PROVIDERS)}, local_app_data={"providers": "[]"}
        )
        out = run(ctx, idp)
        assert out.unit_status == BlockedStatus(
            "Cannot send redirect URIs to kratos-external-idp without a public URL: "
            "integrate public-route with traefik"
        )
        assert "providers" not in out.get_relation(idp.id).local_app_data

    def test_external_idp_bad_data_is_ignored(self, ctx):
        idp = rel("kratos-external-idp", {"providers": "not json"})
        out = run(ctx, idp, rel("public-route", PUBLIC))
        assert rendered_config(ctx, out)["selfservice"]["methods"]["oidc"] == {"enabled": False}

    def test_providers_the_workload_cannot_use_are_skipped_and_block(self, ctx):
        unusable = [
            {"provider": "generic", "client_id": "no-issuer", "client_secret": "s", "id": "keycloak"},
            {"provider": "x", "client_id": "x-id", "client_secret": "s"},
            {"provider": "apple", "client_id": "com.example", "apple_team_id": "T"},
        ]
        idp = rel("kratos-external-idp", {"providers": json.dumps([PROVIDERS[0], *unusable])})
        out = run(ctx, idp, rel("public-route", PUBLIC))
        providers = rendered_config(ctx, out)["selfservice"]["methods"]["oidc"]["config"]["providers"]
        assert [p["id"] for p in providers] == ["github"]  # the others would stop the workload starting
        assert out.unit_status == BlockedStatus(
            "kratos-external-idp: provider keycloak skipped: the generic provider needs issuer_url; "
            "fix it in the integrator's config"
        )
        written = json.loads(out.get_relation(idp.id).local_app_data["providers"])
        assert [entry["provider_id"] for entry in written] == ["github"]

    def test_redirect_uri_under_forced_pkce_has_no_provider_id(self, ctx):
        forced = {**PROVIDERS[0], "pkce": "force"}
        idp = rel("kratos-external-idp", {"providers": json.dumps([forced])})
        out = run(ctx, idp, rel("public-route", PUBLIC))
        (written,) = json.loads(out.get_relation(idp.id).local_app_data["providers"])
        assert written["redirect_uri"] == "https://id.example.com/self-service/methods/oidc/callback"

    def test_follower_does_not_write_redirect_uris(self, ctx):
        idp = rel("kratos-external-idp", {"providers": json.dumps(PROVIDERS)})
        out = run(ctx, idp, rel("public-route", PUBLIC), leader=False)
        assert out.get_relation(idp.id).local_app_data == {}
        assert rendered_config(ctx, out)["selfservice"]["methods"]["oidc"]["enabled"] is True

    def test_everything_together(self, ctx):
        relations = [
            rel("public-route", PUBLIC),
            rel("internal-route", INTERNAL),
            rel("ui-endpoint-info", LOGIN_UI),
            rel("hydra-endpoint-info", {"admin_endpoint": "http://hydra:4445"}),
            rel("kratos-external-idp", {"providers": json.dumps(PROVIDERS[:1])}),
            rel("smtp", {"host": "mail", "port": "465", "transport_security": "tls"}),
        ]
        out = run(
            ctx, *relations, config={"enable_oidc_webauthn_sequencing": True, "enable_verification": True}
        )
        config = rendered_config(ctx, out)
        assert out.unit_status == ActiveStatus()
        assert config["serve"]["admin"]["base_url"] == "http://10.0.0.5/"
        assert config["selfservice"]["methods"]["webauthn"]["config"]["passwordless"] is False
        assert config["selfservice"]["flows"]["registration"]["after"]["password"]["hooks"] == [
            {"hook": "show_verification_ui"},
            {"hook": "session"},  # last: it ends API and SPA flows in upstream Kratos
        ]
        assert service_env(out)["COURIER_SMTP_CONNECTION_URI"] == "smtps://mail:465/"


class TestDegradedStatuses:
    @pytest.mark.parametrize(
        "option", ["enable_passwordless_login_method", "enable_oidc_webauthn_sequencing"]
    )
    def test_webauthn_needs_a_public_route(self, ctx, option):
        out = run(ctx, config={option: True})
        assert out.unit_status == BlockedStatus(
            f"{option} needs a public URL for WebAuthn: integrate public-route with traefik"
        )
        assert rendered_config(ctx, out)["selfservice"]["methods"]["webauthn"] == {"enabled": False}

    def test_verification_needs_smtp(self, ctx):
        out = run(ctx, config={"enable_verification": True})
        assert out.unit_status == BlockedStatus(
            "enable_verification needs email: integrate smtp with an SMTP integrator"
        )


class TestDatabase:
    def test_credentials_in_a_secret(self, ctx):
        user = testing.Secret({"username": "relation-7", "password": "p@ss/word"}, owner=None)
        pg = rel("pg-database", {"endpoints": "pg:5432", "database": "db", "secret-user": user.id})
        peers = peer_relation(relation_id=pg.id)
        state = ready_state(relations={pg, peers}, secrets={kratos_secret(), user})
        out = ctx.run(ctx.on.relation_changed(pg), state)
        assert service_env(out)["DSN"] == "postgres://relation-7:p%40ss%2Fword@pg:5432/db"

    def test_unreadable_secret_waits(self, ctx):
        pg = rel("pg-database", {"endpoints": "pg:5432", "secret-user": "secret:missing"})
        state = testing.State(
            leader=True, containers={container()}, relations={pg, peer_relation()}, secrets={kratos_secret()}
        )
        out = ctx.run(ctx.on.relation_changed(pg), state)
        assert out.unit_status.message == "Waiting for the database to be created"

    def test_legacy_db_relation(self, ctx, leader_tools):
        master = "dbname=legacy host=10.1.1.1 password=pw port=5432 user=kratos_user"
        legacy = testing.Relation(
            "db",
            remote_app_name="postgresql",
            remote_units_data={0: {"master": master, "database": "m_kratos", "allowed-subnets": "192.0.2.0"}},
        )
        peers = peer_relation(relation_id=legacy.id)
        state = ready_state(relations={legacy, peers}, model=testing.Model(name="m"))
        out = ctx.run(ctx.on.relation_joined(legacy, remote_unit=0), state)
        assert out.get_relation(legacy.id).local_app_data["database"] == "m_kratos"
        assert yaml.safe_load(leader_tools.read_text())["interface.pgsql"]
        out = ctx.run(ctx.on.relation_changed(out.get_relation(legacy.id), remote_unit=0), out)
        assert service_env(out)["DSN"] == "postgres://kratos_user:pw@10.1.1.1:5432/legacy"
        assert out.unit_status == ActiveStatus()
        out = ctx.run(ctx.on.relation_broken(out.get_relation(legacy.id)), out)
        assert out.unit_status.message.startswith("Missing integration pg-database")


class TestRoutes:
    def test_leader_submits_routes(self, ctx):
        public, internal = rel("public-route", PUBLIC), rel("internal-route", INTERNAL)
        out = run(ctx, public, internal)
        model, app = out.model.name, "kratos"
        submitted = out.get_relation(public.id).local_app_data
        assert submitted["raw"] == "True"
        routes = yaml.safe_load(submitted["config"])["http"]
        service = f"juju-{model}-{app}-public-service"
        assert routes["services"][service]["loadBalancer"]["servers"] == [
            {"url": f"http://{app}.{model}.svc.cluster.local:4433"}
        ]
        router = routes["routers"][f"juju-{model}-{app}-public-self-service-tls"]
        assert router == {
            "rule": "PathPrefix(`/self-service`)",
            "service": service,
            "entryPoints": ["websecure"],
            "tls": {"domains": [{"main": "id.example.com", "sans": ["*.id.example.com"]}]},
        }
        js = routes["routers"][f"juju-{model}-{app}-public-webauthn-js"]
        assert routes["middlewares"][js["middlewares"][0]] == {
            "replacePath": {"path": "/.well-known/ory/webauthn.js"}
        }
        admin = yaml.safe_load(out.get_relation(internal.id).local_app_data["config"])["http"]
        rules = {r["rule"]: r["service"] for r in admin["routers"].values()}
        assert rules["PathPrefix(`/admin/identities`)"].endswith("-admin-service")
        assert rules["PathPrefix(`/sessions`)"].endswith("-internal-public-service")
        assert admin["services"][f"juju-{model}-{app}-admin-service"]["loadBalancer"]["servers"] == [
            {"url": f"http://{app}.{model}.svc.cluster.local:4434"}
        ]

    def test_routes_before_traefik_published_its_host(self, ctx):
        public = rel("public-route")
        out = run(ctx, public)
        routes = yaml.safe_load(out.get_relation(public.id).local_app_data["config"])["http"]
        assert all(r.get("tls", {}) == {} for r in routes["routers"].values())

    def test_follower_does_not_submit(self, ctx):
        public = rel("public-route", PUBLIC)
        assert run(ctx, public, leader=False).get_relation(public.id).local_app_data == {}


class TestSmtp:
    @pytest.mark.parametrize(
        ("data", "uri"),
        [
            ({"transport_security": "tls"}, "smtps://mail:587/"),
            ({"transport_security": "starttls"}, "smtp://mail:587/"),
            ({"transport_security": "none"}, "smtp://mail:587/?disable_starttls=true"),
            (
                {
                    "transport_security": "starttls",
                    "skip_ssl_verify": "true",
                    "auth_type": "plain",
                    "user": "u@x",
                    "password": "p:w",
                },
                "smtp://u%40x:p%3Aw@mail:587/?skip_ssl_verify=true",
            ),
        ],
    )
    def test_connection_uri(self, ctx, data, uri):
        out = run(ctx, rel("smtp", {"host": "mail", "port": "587", **data}))
        assert service_env(out)["COURIER_SMTP_CONNECTION_URI"] == uri

    def test_password_secret_and_sender(self, ctx):
        secret = testing.Secret({"password": "from-secret"}, owner=None)
        smtp = rel(
            "smtp",
            {
                "host": "mail",
                "port": "587",
                "auth_type": "plain",
                "transport_security": "tls",
                "user": "bot",
                "password_id": secret.id,
                "smtp_sender": "noreply@example.com",
            },
        )
        out = run(ctx, smtp, secrets={kratos_secret(), secret}, config={"sender_name": "Example"})
        env = service_env(out)
        assert env["COURIER_SMTP_CONNECTION_URI"] == "smtps://bot:from-secret@mail:587/"
        assert env["COURIER_SMTP_FROM_ADDRESS"] == "noreply@example.com"
        assert env["COURIER_SMTP_FROM_NAME"] == "Example"

    def test_invalid_data_falls_back(self, ctx):
        out = run(ctx, rel("smtp", {"host": "mail", "port": "not-a-port"}))
        assert service_env(out)["COURIER_SMTP_CONNECTION_URI"].startswith("smtps://test:test@mailslurper")

    def test_missing_password_secret(self, ctx):
        smtp = rel(
            "smtp",
            {"host": "mail", "port": "25", "auth_type": "plain", "user": "bot", "password_id": "secret:gone"},
        )
        assert (
            service_env(run(ctx, smtp))["COURIER_SMTP_CONNECTION_URI"]
            == "smtp://bot@mail:25/?disable_starttls=true"
        )


class TestKratosInfo:
    def test_sent_with_a_public_route(self, ctx):
        info = rel("kratos-info")
        out = run(ctx, info, rel("public-route", PUBLIC), rel("internal-route", INTERNAL))
        assert out.get_relation(info.id).local_app_data == {
            "admin_endpoint": "http://10.0.0.5",
            "public_endpoint": "http://10.0.0.5",
            "login_browser_endpoint": "https://id.example.com/self-service/login/browser",
            "sessions_endpoint": "http://10.0.0.5/sessions/whoami",
            "mfa_enabled": "True",
            "oidc_webauthn_sequencing_enabled": "False",
            "verification_enabled": "False",
            "feature_flags": "password,webauthn,totp,backup_codes",
            "providers_configmap_name": "oidc-providers",
            "schemas_configmap_name": "identity-schemas",
            "configmaps_namespace": out.model.name,
        }

    @pytest.mark.parametrize(
        ("config", "idp", "flags"),
        [
            ({}, True, "password,webauthn,totp,backup_codes,account_linking"),
            ({"enforce_mfa": False}, False, "password"),
            ({"enforce_mfa": False, "enable_passwordless_login_method": True}, False, "password,webauthn"),
            ({"enable_local_idp": False, "enforce_mfa": False}, True, "account_linking"),
        ],
    )
    def test_feature_flags_follow_config_and_identity_providers(self, ctx, config, idp, flags):
        info = rel("kratos-info")
        relations = [info, rel("public-route", PUBLIC)]
        if idp:
            relations.append(rel("kratos-external-idp", {"providers": json.dumps(PROVIDERS[:1])}))
        out = run(ctx, *relations, config={"enable_verification": True, **config})
        data = out.get_relation(info.id).local_app_data
        assert data["feature_flags"] == flags
        assert (data["mfa_enabled"], data["verification_enabled"]) == (
            str(config.get("enforce_mfa", True)),
            "True",
        )

    def test_cleared_without_a_public_route(self, ctx):
        info = rel("kratos-info", local_app_data={"admin_endpoint": "stale"})
        assert run(ctx, info).get_relation(info.id).local_app_data == {}


class TestObservability:
    def test_metrics_endpoint(self, ctx):
        metrics = rel("metrics-endpoint")
        out = run(ctx, metrics)
        relation = out.get_relation(metrics.id)
        jobs = json.loads(relation.local_app_data["scrape_jobs"])
        assert jobs == [
            {
                "job_name": "kratos",
                "metrics_path": "/metrics/prometheus",
                "static_configs": [{"targets": ["*:4434"]}],
            }
        ]
        assert json.loads(relation.local_app_data["scrape_metadata"])["application"] == "kratos"
        groups = json.loads(relation.local_app_data["alert_rules"])["groups"]
        alerts = {rule["alert"] for group in groups for rule in group["rules"]}
        assert {"KratosTargetMissing", "KratosHighErrorRate", "KratosSlowRequests"} <= alerts
        assert relation.local_unit_data["prometheus_scrape_unit_name"] == "kratos/0"
        assert relation.local_unit_data["prometheus_scrape_unit_address"].startswith(
            "kratos-0.kratos-endpoints."
        )

    def test_grafana_dashboard(self, ctx):
        dashboards = rel("grafana-dashboard")
        out = run(ctx, dashboards)
        data = json.loads(out.get_relation(dashboards.id).local_app_data["dashboards"])
        template = data["templates"]["file:kratos.json"]
        dashboard = json.loads(LZMABase64.decompress(template["content"]))
        exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
        for metric in (
            "http_requests_total",
            "http_request_duration_seconds_bucket",
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
        ):
            assert metric in exprs
        assert template["juju_topology"]["application"] == "kratos"
        again = ctx.run(ctx.on.config_changed(), out)
        assert (
            json.loads(again.get_relation(dashboards.id).local_app_data["dashboards"])["uuid"] == data["uuid"]
        )

    def test_logging(self, ctx):
        loki = rel(
            "logging",
            remote_units_data={0: {"endpoint": json.dumps({"url": "http://loki:3100/loki/api/v1/push"})}},
        )
        out = run(ctx, loki)
        targets = out.get_container("kratos").plan.log_targets
        assert targets["loki-remote-0"].location == "http://loki:3100/loki/api/v1/push"
        assert targets["loki-remote-0"].services == ["all"]
        assert json.loads(out.get_relation(loki.id).local_app_data["metadata"])["application"] == "kratos"
        out = ctx.run(ctx.on.relation_broken(out.get_relation(loki.id)), out)
        # Pebble appends merged lists; a trailing "-all" switches the target off.
        assert out.get_container("kratos").plan.log_targets["loki-remote-0"].services[-1] == "-all"

    def test_ca_certificates_reach_the_workload(self, ctx):
        pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
        ca = rel("receive-ca-cert", {"certificates": json.dumps([pem]), "version": "1"})
        state = ready_state(ca)
        out = ctx.run(ctx.on.relation_created(ca), state)
        root = out.get_container("kratos").get_filesystem(ctx)
        assert (root / "etc/config/kratos/ca-certificates.crt").read_text().endswith(pem + "\n")
        assert service_env(out)["SSL_CERT_FILE"] == "/etc/config/kratos/ca-certificates.crt"
        assert out.get_relation(ca.id).local_app_data.get("version") == "1"
