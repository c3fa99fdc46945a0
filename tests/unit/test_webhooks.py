"""kratos-registration-webhook, kratos-login-webhook and the verification-email-template resource.

Relation data in, web hooks out in the pushed kratos.yaml, read back with the workload's own config loader
and hook builder; bad databags and unreadable secrets block without touching the running config.
"""

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import container, email_template, kratos_secret, ready_state, rendered_config, service_env
from ops import ActiveStatus, BlockedStatus, ModelError, testing
from test_integrations import PROVIDERS, PUBLIC, decode_base64_url, rel, run

kratos_config = pytest.importorskip(
    "kratos.config", reason="the workload package is installed by `tox -e unit`"
)
httpx = pytest.importorskip("httpx")
from kratos.selfservice.hook.executor import build_hooks  # noqa: E402 - after the skip

BODY = "base64://" + base64.b64encode(b"function(ctx) { email: ctx.identity.traits.email }").decode()
REGISTRATION = "kratos-registration-webhook"
LOGIN = "kratos-login-webhook"


def hook_data(**overrides: str) -> dict[str, str]:
    """A provider databag as the reference library writes it (auth keys empty when auth is off)."""
    data = {
        "url": "https://hooks.example.com/registered",
        "body": BODY,
        "method": "POST",
        "mode": "after",
        "methods": "[]",
        "weight": "0",
        "response_ignore": "False",
        "response_parse": "False",
        "auth_type": "",
        "auth_config_name": "",
        "auth_config_value_secret": "",
        "auth_config_in": "",
    }
    data.update(overrides)
    return data


def webhook(endpoint: str, app: str = "hooks", **overrides: str) -> testing.Relation:
    return rel(endpoint, hook_data(**overrides), remote_app_name=app)


def workload_view(ctx, out, tmp_path: Path) -> Any:
    """The pushed kratos.yaml, loaded by the workload with the unit's environment; its hooks built."""
    path = tmp_path / "kratos.yaml"
    root = out.get_container("kratos").get_filesystem(ctx)
    path.write_text((root / "etc/config/kratos/kratos.yaml").read_text())
    loaded = kratos_config.load_config([path], env=service_env(out), check_support=False)
    flows = loaded.selfservice.flows
    for name, methods in (
        ("registration", ["password", "oidc", "webauthn"]),
        ("login", ["password", "totp"]),
    ):
        flow = getattr(flows, name)
        build_hooks(
            f"selfservice.flows.{name}", flow.before.hooks, flow.after, methods, httpx.AsyncClient(), []
        )
    return loaded


def hook_urls(hooks: list[dict[str, Any]]) -> list[str]:
    return [h["config"]["url"] if h["hook"] == "web_hook" else h["hook"] for h in hooks]


class TestRegistrationWebhooks:
    def test_after_hook_runs_for_every_method_before_the_built_in_hooks(self, ctx, tmp_path):
        idp = rel("kratos-external-idp", {"providers": json.dumps(PROVIDERS[:1])})
        smtp = rel("smtp", {"host": "mail", "port": "587"})
        out = run(
            ctx,
            webhook(REGISTRATION),
            idp,
            smtp,
            rel("public-route", PUBLIC),
            config={"enable_verification": True},
        )
        assert out.unit_status == ActiveStatus()
        after = rendered_config(ctx, out)["selfservice"]["flows"]["registration"]["after"]
        url = "https://hooks.example.com/registered"
        assert hook_urls(after["password"]["hooks"]) == [url, "show_verification_ui", "session"]
        assert hook_urls(after["oidc"]["hooks"]) == [url, "session"]
        assert hook_urls(after["webauthn"]["hooks"]) == [url, "show_verification_ui", "session"]
        assert after["password"]["hooks"][0] == {
            "hook": "web_hook",
            "config": {
                "url": url,
                "method": "POST",
                "body": BODY,
                "response": {"ignore": False, "parse": False},
            },
        }
        loaded = workload_view(ctx, out, tmp_path)
        hook = loaded.selfservice.flows.registration.after.password.hooks[0]
        assert (hook.hook, hook.config["url"], hook.config["body"]) == ("web_hook", url, BODY)

    def test_methods_before_mode_and_weight(self, ctx, tmp_path):
        idp = rel("kratos-external-idp", {"providers": json.dumps(PROVIDERS[:1])})
        hooks = [
            webhook(REGISTRATION, "late", url="https://late.example.com/", weight="5"),
            webhook(
                REGISTRATION, "oidc-only", url="https://oidc.example.com/", methods='["oidc"]', weight="1"
            ),
            webhook(REGISTRATION, "gate", url="https://gate.example.com/", mode="before", methods='["oidc"]'),
            webhook(REGISTRATION, "parser", url="https://parse.example.com/", response_parse="True"),
        ]
        out = run(ctx, *hooks, idp, rel("public-route", PUBLIC))
        registration = rendered_config(ctx, out)["selfservice"]["flows"]["registration"]
        assert hook_urls(registration["before"]["hooks"]) == ["https://gate.example.com/"]
        assert hook_urls(registration["after"]["password"]["hooks"]) == [
            "https://parse.example.com/",
            "https://late.example.com/",
            "session",
        ]
        assert hook_urls(registration["after"]["oidc"]["hooks"]) == [
            "https://parse.example.com/",
            "https://oidc.example.com/",
            "https://late.example.com/",
            "session",
        ]
        assert registration["after"]["password"]["hooks"][0]["config"]["response"] == {
            "ignore": False,
            "parse": True,
        }
        workload_view(ctx, out, tmp_path)

    def test_removing_the_relation_removes_the_hook(self, ctx):
        relation = webhook(REGISTRATION)
        out = run(ctx, relation)
        out = ctx.run(ctx.on.relation_broken(out.get_relation(relation.id)), out)
        after = rendered_config(ctx, out)["selfservice"]["flows"]["registration"]["after"]
        assert hook_urls(after["password"]["hooks"]) == ["session"]

    def test_a_provider_that_has_not_published_is_ignored(self, ctx):
        out = run(ctx, rel(REGISTRATION, {}), rel(REGISTRATION, {"body": BODY}))
        assert out.unit_status == ActiveStatus()
        after = rendered_config(ctx, out)["selfservice"]["flows"]["registration"]["after"]
        assert hook_urls(after["password"]["hooks"]) == ["session"]


class TestLoginWebhooks:
    def test_after_hooks_for_every_login_method_and_named_ones(self, ctx, tmp_path):
        hooks = [
            webhook(LOGIN, "audit", url="https://audit.example.com/", response_ignore="true"),
            webhook(LOGIN, "mfa", url="https://mfa.example.com/", methods='["totp", "lookup_secret"]'),
            webhook(LOGIN, "gate", url="https://gate.example.com/", mode="before", method="get"),
        ]
        out = run(ctx, *hooks, rel("public-route", PUBLIC))
        login = rendered_config(ctx, out)["selfservice"]["flows"]["login"]
        assert login["before"]["hooks"][0]["config"]["method"] == "GET"
        assert {method: hook_urls(block["hooks"]) for method, block in login["after"].items()} == {
            "password": ["https://audit.example.com/"],
            "webauthn": ["https://audit.example.com/"],
            "totp": ["https://audit.example.com/", "https://mfa.example.com/"],
            "lookup_secret": ["https://audit.example.com/", "https://mfa.example.com/"],
        }
        loaded = workload_view(ctx, out, tmp_path)
        assert loaded.selfservice.flows.login.after.totp.hooks[1].config["url"] == "https://mfa.example.com/"
        # The registration flow is untouched by login hooks.
        registration = rendered_config(ctx, out)["selfservice"]["flows"]["registration"]
        assert "before" not in registration

    def test_without_login_hooks_nothing_is_rendered(self, ctx):
        login = rendered_config(ctx, run(ctx))["selfservice"]["flows"]["login"]
        assert "before" not in login
        assert "after" not in login


class TestAuthSecret:
    @pytest.mark.parametrize(
        ("auth", "expected"),
        [
            (
                {"auth_type": "api_key", "auth_config_name": "X-Api-Key", "auth_config_in": "cookie"},
                {"type": "api_key", "config": {"name": "X-Api-Key", "value": "k3y", "in": "cookie"}},
            ),
            (
                {"auth_type": "", "auth_config_name": "", "auth_config_in": ""},
                {"type": "api_key", "config": {"name": "Authorization", "value": "k3y", "in": "header"}},
            ),
            (
                {"auth_type": "basic_auth", "auth_config_name": "kratos"},
                {"type": "basic_auth", "config": {"user": "kratos", "password": "k3y"}},
            ),
        ],
    )
    def test_the_secret_value_is_rendered_as_the_hook_auth(self, ctx, tmp_path, auth, expected):
        secret = testing.Secret({"auth-config-value": "k3y"}, owner=None)
        relation = webhook(REGISTRATION, auth_config_value_secret=secret.id, **auth)
        out = run(ctx, relation, secrets={kratos_secret(), secret})
        assert out.unit_status == ActiveStatus()
        hooks = rendered_config(ctx, out)["selfservice"]["flows"]["registration"]["after"]["password"][
            "hooks"
        ]
        assert hooks[0]["config"]["auth"] == expected
        loaded = workload_view(ctx, out, tmp_path)
        assert loaded.selfservice.flows.registration.after.password.hooks[0].config["auth"] == expected

    def test_unreadable_secret_blocks_and_keeps_the_config(self, ctx, tmp_path):
        config_dir = testing.Mount(location="/etc/config/kratos", source=tmp_path)
        good = run(ctx, containers={container(mounts={"config": config_dir})})
        before = rendered_config(ctx, good)
        relation = webhook(LOGIN, "audit", auth_config_value_secret="secret:cqm5pi7mp25c7f6ipjvg")
        state = ready_state(relation, containers=good.containers)
        out = ctx.run(ctx.on.relation_changed(relation), state)
        assert out.unit_status == BlockedStatus(
            "kratos-login-webhook from audit: cannot read the auth secret secret:cqm5pi7mp25c7f6ipjvg: "
            "the provider must grant it to the relation; kratos.yaml is not updated until fixed"
        )
        assert rendered_config(ctx, out) == before

    def test_secret_without_the_value_blocks(self, ctx):
        secret = testing.Secret({"other": "x"}, owner=None)
        relation = webhook(REGISTRATION, auth_config_value_secret=secret.id)
        out = run(ctx, relation, secrets={kratos_secret(), secret})
        assert isinstance(out.unit_status, BlockedStatus)
        assert f"the auth secret {secret.id} has no key auth-config-value" in out.unit_status.message
        assert "kratos" not in out.get_container("kratos").plan.services


class TestInvalidData:
    @pytest.mark.parametrize(
        ("endpoint", "data", "problem"),
        [
            (
                REGISTRATION,
                {"methods": '["totp"]'},
                "invalid methods: unknown methods totp (allowed: password, oidc",
            ),
            (LOGIN, {"methods": '["sms"]'}, "invalid methods: unknown methods sms (allowed: password"),
            (LOGIN, {"methods": "password"}, 'invalid methods: must be a JSON list such as ["password"]'),
            (REGISTRATION, {"url": "hooks.example.com"}, "invalid url: must be an http:// or https:// URL"),
            (REGISTRATION, {"weight": "-1"}, "invalid weight: Input should be greater than or equal to 0"),
            (REGISTRATION, {"weight": "first"}, "invalid weight: Input should be a valid integer"),
            (REGISTRATION, {"mode": "during"}, "invalid mode: Input should be 'before' or 'after'"),
            (
                REGISTRATION,
                {"body": '{"a": 1}'},
                "invalid body: must be a base64://, http(s):// or file:// URL",
            ),
            (REGISTRATION, {"method": "PO ST"}, "invalid method: must be an HTTP method such as POST"),
            (LOGIN, {"response_ignore": "maybe"}, "invalid response_ignore: Input should be a valid boolean"),
            (
                LOGIN,
                {"response_ignore": "True", "response_parse": "True"},
                "invalid data: response_ignore and response_parse cannot both be true",
            ),
            (
                LOGIN,
                {"auth_type": "oauth", "auth_config_value_secret": "secret:x"},
                "invalid auth_type: Input should be 'api_key' or 'basic_auth'",
            ),
            (
                LOGIN,
                {"auth_config_in": "query", "auth_config_value_secret": "secret:x"},
                "invalid auth_config_in: Input should be 'header' or 'cookie'",
            ),
        ],
    )
    def test_bad_databag_blocks_naming_the_relation_and_key(self, ctx, endpoint, data, problem):
        out = run(ctx, webhook(endpoint, "hooks", **data))
        assert isinstance(out.unit_status, BlockedStatus)
        assert out.unit_status.message.startswith(f"{endpoint} from hooks: {problem}")
        assert out.unit_status.message.endswith("; kratos.yaml is not updated until fixed")
        # Fail closed: a gatekeeping hook is never silently left out; nothing is started without it.
        assert "kratos" not in out.get_container("kratos").plan.services

    def test_fixing_the_data_applies_the_hooks(self, ctx):
        relation = webhook(REGISTRATION, methods='["sms"]')
        out = run(ctx, relation)
        fixed = testing.Relation(
            REGISTRATION, id=relation.id, remote_app_data=hook_data(), remote_app_name="hooks"
        )
        out = ctx.run(ctx.on.relation_changed(fixed), ready_state(fixed, containers=out.containers))
        assert out.unit_status == ActiveStatus()
        after = rendered_config(ctx, out)["selfservice"]["flows"]["registration"]["after"]
        assert hook_urls(after["password"]["hooks"]) == ["https://hooks.example.com/registered", "session"]


TEMPLATE = "<p>Your code is {{ .VerificationCode }}, {{ .To }}.</p>\n"


class TestVerificationEmailTemplate:
    def courier_templates(self, ctx, out) -> dict[str, Any]:
        return rendered_config(ctx, out)["courier"]["templates"]

    def test_attached_template_overrides_the_verification_code_email(self, ctx, tmp_path):
        path = tmp_path / "verification-email-template.gotmpl"
        path.write_text(TEMPLATE)
        out = run(ctx, resources={email_template(path)})
        assert out.unit_status == ActiveStatus()
        templates = self.courier_templates(ctx, out)
        body = templates["verification_code"]["valid"]["email"]["body"]
        assert set(body) == {"html"}
        assert decode_base64_url(body["html"]) == TEMPLATE
        assert "recovery_code" in templates
        loaded = workload_view(ctx, out, tmp_path)
        assert loaded.courier.templates.verification_code.valid.email.body.html == body["html"]

    @pytest.mark.parametrize("content", [b"", b"  \n"])
    def test_empty_file_is_the_default(self, ctx, tmp_path, content):
        path = tmp_path / "empty.gotmpl"
        path.write_bytes(content)
        out = run(ctx, resources={email_template(path)})
        assert out.unit_status == ActiveStatus()
        assert "verification_code" not in self.courier_templates(ctx, out)

    def test_not_attached_is_the_default(self, ctx, monkeypatch):
        def not_attached(self, name: str) -> str:
            raise ModelError(f"ERROR could not download resource: resource#kratos/{name} not found")

        # Juju's resource-get fails like this when nothing was attached (Scenario would raise otherwise).
        monkeypatch.setattr("scenario.mocking._MockModelBackend.resource_get", not_attached)
        out = run(ctx, resources=set())
        assert out.unit_status == ActiveStatus()
        assert "verification_code" not in self.courier_templates(ctx, out)

    def test_invalid_utf8_blocks_and_falls_back(self, ctx, tmp_path):
        path = tmp_path / "latin1.gotmpl"
        path.write_bytes("<p>Código: {{ .VerificationCode }}</p>".encode("latin-1"))
        out = run(ctx, resources={email_template(path)})
        assert out.unit_status == BlockedStatus(
            "The verification-email-template resource is not UTF-8 text (byte 4); the default template is "
            "used. Attach a UTF-8 file: `juju attach-resource kratos verification-email-template=<file>`"
        )
        assert "verification_code" not in self.courier_templates(ctx, out)
        assert out.get_container("kratos").plan.services["kratos"]
