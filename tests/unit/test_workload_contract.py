"""The contract with the workload: every kratos.yaml the charm renders loads in the workload's own loader.

The `kratos` package from workload/ reads the rendered file with the charm's environment; what it still
refuses must be a feature that later issues add.
"""

import uuid
from pathlib import Path
from typing import Any

import pytest

from configs import CharmConfig, RenderInputs, WorkloadSecrets, render_kratos_config, workload_environment
from integrations.identity import ExternalProvider

kratos_config = pytest.importorskip(
    "kratos.config", reason="the workload package is installed by `tox -e unit`"
)

PUBLIC = "https://id.example.com"
LOGIN_UI = {
    "login_url": "https://id.example.com/ui/login",
    "error_url": "https://id.example.com/ui/error",
    "settings_url": "https://id.example.com/ui/settings",
    "recovery_url": "https://id.example.com/ui/recovery",
    "registration_url": "https://id.example.com/ui/registration",
    "verification_url": "https://id.example.com/ui/verification",
    "webauthn_settings_url": "https://id.example.com/ui/webauthn",
}
GITHUB = ExternalProvider(provider="github", client_id="id", client_secret="secret").kratos_config()

CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {}),
    ({"enforce_mfa": False}, {"public_url": PUBLIC}),
    ({"enforce_mfa": False, "dev": True, "log_level": "debug"}, {"login_ui": LOGIN_UI}),
    ({"enable_verification": True}, {"public_url": PUBLIC, "login_ui": LOGIN_UI}),
    ({"enable_passwordless_login_method": True}, {"public_url": PUBLIC}),
    ({"enable_local_idp": False}, {"public_url": PUBLIC, "oidc_providers": [GITHUB]}),
    (
        {},
        {"public_url": PUBLIC, "oauth2_provider_url": "http://hydra:4445", "tracing_endpoint": "tempo:4318"},
    ),
]


def environment(config: CharmConfig, dsn: str, public_base_url: str) -> dict[str, str]:
    """The workload's environment as the charm sets it, with test secrets."""
    secrets = WorkloadSecrets(
        dsn=dsn,
        cookie_secret="c" * 32,
        cipher_secret="x" * 32,
        smtp_connection_uri="smtp://mail:25/?disable_starttls=true",
    )
    return workload_environment(config, secrets, public_base_url=public_base_url)


@pytest.mark.parametrize(("options", "relations"), CASES)
def test_rendered_config_is_valid_for_the_workload(
    options: dict[str, Any], relations: dict[str, Any], tmp_path: Path
) -> None:
    config = CharmConfig.from_mapping(options)
    (tmp_path / "kratos.yaml").write_text(render_kratos_config(RenderInputs(config=config, **relations)))
    env = environment(
        config, "postgres://kratos:pw@pg:5432/db", (relations.get("public_url") or "http://kratos:4433") + "/"
    )
    loaded = kratos_config.load_config([tmp_path / "kratos.yaml"], env=env, check_support=False)
    assert loaded.dsn == env["DSN"]
    assert str(loaded.serve.public.base_url).rstrip("/") == (
        relations.get("public_url") or "http://kratos:4433"
    )
    refused = kratos_config.unsupported_features(loaded)
    # Everything the workload still refuses is a feature its later issues add; nothing else may appear.
    known_gaps = ("oidc", "oauth2_provider", "tracing", "code")
    assert all(any(gap in problem for gap in known_gaps) for problem in refused), refused


def test_default_config_without_mfa_starts_the_workload(tmp_path: Path) -> None:
    """Recovery by code, verification and xchacha20 ciphers: refused by nothing, wired into running apps."""
    asyncio = pytest.importorskip("asyncio")
    driver = pytest.importorskip("kratos.driver.app")
    registry_module = pytest.importorskip("kratos.driver.registry")
    config = CharmConfig.from_mapping({"enforce_mfa": False, "enable_verification": True})
    (tmp_path / "kratos.yaml").write_text(
        render_kratos_config(RenderInputs(config=config, public_url=PUBLIC, login_ui=LOGIN_UI))
    )
    env = environment(config, "memory", PUBLIC + "/")
    loaded = kratos_config.load_config([tmp_path / "kratos.yaml"], env=env)  # refuses what is unsupported
    flows = loaded.selfservice.flows
    assert (flows.recovery.enabled, flows.recovery.use) == (True, "code")
    assert flows.verification.enabled is True
    assert loaded.ciphers.algorithm == "xchacha20-poly1305"

    async def start() -> tuple[dict[str, Any], int]:
        import httpx

        registry = await registry_module.Registry.open(loaded)
        try:
            assert registry.cipher.decrypt(registry.cipher.encrypt(b"token")) == b"token"
            public = httpx.AsyncClient(
                transport=httpx.ASGITransport(driver.public_app(registry)), base_url=PUBLIC
            )
            admin = httpx.AsyncClient(
                transport=httpx.ASGITransport(driver.admin_app(registry)), base_url=PUBLIC
            )
            async with public, admin:
                flow = (await public.get("/self-service/recovery/api")).json()
                unknown = await admin.post("/admin/recovery/code", json={"identity_id": str(uuid.uuid4())})
            return flow, unknown.status_code
        finally:
            await registry.close()

    flow, unknown = asyncio.run(start())
    assert flow["state"] == "choose_method"
    assert [node["attributes"]["name"] for node in flow["ui"]["nodes"]] == ["csrf_token", "email", "method"]
    assert unknown == 404


@pytest.mark.parametrize(
    ("options", "passwordless"),
    [
        ({}, False),  # enforce_mfa: TOTP, backup codes and security keys as second factors
        ({"enable_passwordless_login_method": True}, True),
        ({"enable_oidc_webauthn_sequencing": True}, False),
    ],
)
def test_mfa_configs_start_the_workload(options: dict[str, Any], passwordless: bool, tmp_path: Path) -> None:
    """The defaults and both security-key options: nothing refused, second factors wired into the apps."""
    asyncio = pytest.importorskip("asyncio")
    httpx = pytest.importorskip("httpx")
    driver = pytest.importorskip("kratos.driver.app")
    registry_module = pytest.importorskip("kratos.driver.registry")
    config = CharmConfig.from_mapping(options)
    rendered = render_kratos_config(RenderInputs(config=config, public_url=PUBLIC, login_ui=LOGIN_UI))
    (tmp_path / "kratos.yaml").write_text(rendered)
    env = environment(config, "memory", PUBLIC + "/")
    loaded = kratos_config.load_config([tmp_path / "kratos.yaml"], env=env)  # refuses what is unsupported
    methods = loaded.selfservice.methods
    assert (methods.totp.enabled, methods.lookup_secret.enabled, methods.webauthn.enabled) == (
        True,
        True,
        True,
    )
    assert methods.webauthn.config.passwordless is passwordless
    assert methods.webauthn.config.rp is not None
    assert methods.webauthn.config.rp.id == "id.example.com"
    assert loaded.session.whoami.required_aal == "highest_available"

    async def start() -> tuple[int, dict[str, Any], int]:
        registry = await registry_module.Registry.open(loaded)
        try:
            transport = httpx.ASGITransport(driver.public_app(registry))
            async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as public:
                script = await public.get("/.well-known/ory/webauthn.js")
                flow = await public.get("/self-service/login/browser", headers={"Accept": "application/json"})
                step_up = await public.get("/self-service/login/api", params={"aal": "aal2"})
            return script.status_code, flow.json(), step_up.status_code
        finally:
            await registry.close()

    script, flow, step_up = asyncio.run(start())
    assert script == 200
    assert [n["attributes"].get("name") for n in flow["ui"]["nodes"]][:2] == ["identifier", "method"]
    assert step_up == 401  # aal2 needs a session first, as upstream


def test_external_idps_and_hydra_start_the_workload(tmp_path: Path) -> None:
    """Every provider shape the integrator publishes and Hydra's admin URL: refused by nothing, wired in.

    Each provider gets its sign-in button and its callback route; a Hydra login challenge reaches the
    configured Hydra (unreachable here: the error says so).
    """
    asyncio = pytest.importorskip("asyncio")
    httpx = pytest.importorskip("httpx")
    driver = pytest.importorskip("kratos.driver.app")
    registry_module = pytest.importorskip("kratos.driver.registry")
    from test_upstream_schema import PROVIDERS

    providers = [ExternalProvider.model_validate(p) for p in PROVIDERS]
    config = CharmConfig.from_mapping({"enforce_mfa": False})
    inputs = RenderInputs(
        config=config,
        public_url=PUBLIC,
        login_ui=LOGIN_UI,
        oauth2_provider_url="http://127.0.0.1:9/hydra-admin",
        oidc_providers=[p.kratos_config() for p in providers],
    )
    (tmp_path / "kratos.yaml").write_text(render_kratos_config(inputs))
    loaded = kratos_config.load_config(
        [tmp_path / "kratos.yaml"], env=environment(config, "memory", PUBLIC + "/")
    )
    assert str(loaded.oauth2_provider.url) == "http://127.0.0.1:9/hydra-admin"

    async def start() -> tuple[dict[str, Any], list[int], httpx.Response]:
        registry = await registry_module.Registry.open(loaded)
        try:
            transport = httpx.ASGITransport(driver.public_app(registry))
            async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as public:
                json_ = {"Accept": "application/json"}
                flow = (await public.get("/self-service/login/browser", headers=json_)).json()
                callbacks = [
                    (await public.get(p.redirect_path, params={"code": "c"})).status_code for p in providers
                ]
                challenge = await public.get(
                    "/self-service/login/browser", params={"login_challenge": "abc"}, headers=json_
                )
            return flow, callbacks, challenge
        finally:
            await registry.close()

    flow, callbacks, challenge = asyncio.run(start())
    buttons = [n["attributes"]["value"] for n in flow["ui"]["nodes"] if n["group"] == "oidc"]
    assert buttons == [p.provider_id for p in providers]
    assert callbacks == [303] * len(providers)  # a callback without state: the error UI, as upstream
    assert challenge.status_code == 500, challenge.text
    assert challenge.json()["error"]["reason"] == "Unable to get OAuth 2.0 Login Challenge."


def test_the_charm_accepts_exactly_the_provider_types_the_workload_builds() -> None:
    """The charm's copy of the list (it cannot import the workload in production) stays the workload's."""
    from integrations.identity import SUPPORTED_PROVIDERS

    providers = pytest.importorskip("kratos.selfservice.strategy.oidc.providers")
    assert set(providers.PROVIDER_TYPES) == SUPPORTED_PROVIDERS
