"""Wiring of sessions and the self-service flows: the one place that picks strategies and settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.routing import Route

from kratos.config import KratosConfig
from kratos.driver.registry import Registry
from kratos.http.urls import fetch_url
from kratos.hydra import HydraClient
from kratos.selfservice.flow.address_flow import disabled_routes
from kratos.selfservice.flow.context import CookiePolicy, FlowContext
from kratos.selfservice.flow.error_endpoint import error_routes
from kratos.selfservice.flow.exchange import SessionTokenExchange
from kratos.selfservice.flow.login import LoginEndpoints
from kratos.selfservice.flow.logout import LogoutEndpoints
from kratos.selfservice.flow.onetime import Digester
from kratos.selfservice.flow.recovery import RecoveryEndpoints
from kratos.selfservice.flow.recovery_admin import RecoveryAdmin
from kratos.selfservice.flow.registration import RegistrationEndpoints
from kratos.selfservice.flow.sender import AddressSender, Challenge, identity_for_template
from kratos.selfservice.flow.settings import SettingsEndpoints
from kratos.selfservice.flow.verification import VerificationEndpoints
from kratos.selfservice.hook.executor import FlowHooks, build_hooks
from kratos.selfservice.strategy.base import SecondFactorStrategy, SettingsStrategy
from kratos.selfservice.strategy.code.strategy import CodeStrategy
from kratos.selfservice.strategy.lookup_secret.strategy import LookupSecretStrategy
from kratos.selfservice.strategy.oidc.callback import OidcCallback
from kratos.selfservice.strategy.oidc.completion import SocialSignIn
from kratos.selfservice.strategy.oidc.mapper import ClaimsMapper
from kratos.selfservice.strategy.oidc.providers import build_provider
from kratos.selfservice.strategy.oidc.state import StateSealer
from kratos.selfservice.strategy.oidc.strategy import OidcStrategy
from kratos.selfservice.strategy.passkey.strategy import PasskeyStrategy
from kratos.selfservice.strategy.password.policy import PasswordPolicy
from kratos.selfservice.strategy.password.strategy import PasswordStrategy
from kratos.selfservice.strategy.profile.strategy import ProfileStrategy
from kratos.selfservice.strategy.totp.strategy import TotpStrategy
from kratos.selfservice.strategy.webauthn.ceremony import RelyingParty
from kratos.selfservice.strategy.webauthn.script import webauthn_js_routes
from kratos.selfservice.strategy.webauthn.strategy import WebAuthnStrategy
from kratos.session.handlers import SessionHandlers
from kratos.session.tokenizer import Tokenizer
from kratos.session.whoami import Whoami


def flow_context(registry: Registry) -> FlowContext:
    """URLs, cookie policy and pools shared by every flow."""
    config = registry.config
    selfservice = config.selfservice
    return FlowContext(
        public_base_url=str(config.serve.public.base_url),
        default_return_url=str(selfservice.default_browser_return_url),
        allowed_return_urls=[str(url) for url in selfservice.allowed_return_urls],
        error_ui_url=str(selfservice.flows.error.ui_url),
        cookies=CookiePolicy(
            domain=config.cookies.domain,
            path=config.cookies.path,
            same_site=config.cookies.same_site,
            secure=bool(config.cookies.secure),
        ),
        flows=registry.flows,
        sessions=registry.sessions,
        exchange=SessionTokenExchange(
            registry.exchanges, registry.sessions.pool, registry.cipher, str(config.serve.public.base_url)
        ),
    )


@dataclass(slots=True)
class SelfService:
    """Every flow's endpoints, built once per app from the config."""

    login: LoginEndpoints
    registration: RegistrationEndpoints
    settings: SettingsEndpoints
    recovery: RecoveryEndpoints | None
    verification: VerificationEndpoints | None
    recovery_admin: RecoveryAdmin | None
    oidc_callback: OidcCallback | None


def build_selfservice(registry: Registry) -> SelfService:
    """Pick the strategies and hooks the config asks for and build the flows."""
    config: KratosConfig = registry.config
    methods = config.selfservice.methods
    flows = config.selfservice.flows
    context = flow_context(registry)
    policy = PasswordPolicy(methods.password.config, registry.http)
    password = (
        [PasswordStrategy(registry.identities.pool, registry.hasher, policy)]
        if methods.password.enabled
        else []
    )
    profile = [ProfileStrategy()] if methods.profile.enabled else []
    totp = [TotpStrategy(registry.identities.pool, _totp_issuer(config))] if methods.totp.enabled else []
    lookup = [LookupSecretStrategy(registry.identities.pool)] if methods.lookup_secret.enabled else []
    code_method = methods.code
    sender = AddressSender(
        registry.courier,
        registry.codes,
        Digester(config.secrets.default_secrets()),
        str(config.serve.public.base_url),
        lambda identity: identity_for_template(identity, registry.identities.schema_url(identity)),
    )
    code = Challenge("code", code_method.config.lifespan)
    code_strategy = CodeStrategy(
        registry.identities.pool,
        sender,
        code,
        passwordless=code_method.passwordless_enabled,
        mfa=code_method.mfa_enabled,
        max_submissions=code_method.config.max_submissions,
        two_step=flows.registration.two_steps,
    )
    passwordless = [code_strategy] if code_method.enabled and code_method.passwordless_enabled else []
    code_mfa = [code_strategy] if code_method.enabled and code_method.mfa_enabled else []
    # Code before password, TOTP and backup codes: the order upstream sorts their nodes in.
    webauthn, passkey = _key_strategies(registry)
    keys_alone = webauthn if methods.webauthn.config.passwordless else []  # security keys as first factor
    keys_mfa = [] if methods.webauthn.config.passwordless else webauthn
    social = _social_strategy(registry, context)
    oidc = [social] if social else []
    login = [*passwordless, *password, *oidc, *keys_alone, *passkey]
    second_factors: list[SecondFactorStrategy] = [*code_mfa, *totp, *lookup, *keys_mfa]
    registration = [*passwordless, *password, *oidc, *keys_alone, *passkey]
    settings: list[SettingsStrategy] = [*profile, *password, *oidc, *lookup, *totp, *webauthn, *passkey]

    def hooks(name: str, flow: Any, strategies: list[str]) -> FlowHooks:
        return build_hooks(
            f"selfservice.flows.{name}",
            flow.before.hooks,
            flow.after,
            strategies,
            registry.http,
            list(config.clients.web_hook.header_allowlist),
        )

    def ids(strategies: list[Any]) -> list[str]:
        return [strategy.id for strategy in strategies]

    built = SelfService(
        login=LoginEndpoints(
            context,
            flows.login,
            hooks("login", flows.login, ids([*login, *second_factors])),
            registry.schemas,
            registry.identities.pool,
            login,
            second_factors=second_factors,
            required_aal=config.session.whoami.required_aal,
            aal_policy=registry.identities.aal,
            mitigate_enumeration=config.security.account_enumeration.mitigate,
        ),
        registration=RegistrationEndpoints(
            context,
            flows.registration,
            hooks("registration", flows.registration, ids(registration)),
            registry.identities,
            registration,
        ),
        settings=SettingsEndpoints(
            context,
            flows.settings,
            hooks("settings", flows.settings, ids(settings)),
            registry.identities,
            settings,
        ),
        recovery=None,
        verification=None,
        recovery_admin=None,
        oidc_callback=None,
    )
    if config.oauth2_provider.url:
        hydra = HydraClient(config.oauth2_provider, registry.http)
        built.login.hydra = built.registration.hydra = hydra
        built.login.override_return_to = config.oauth2_provider.override_return_to
    if social is not None:
        completion = SocialSignIn(
            registry.identities, registry.cipher, ClaimsMapper(registry.http), str(flows.login.ui_url)
        )
        completion.login, completion.registration, completion.settings = (
            built.login,
            built.registration,
            built.settings,
        )
        social.completion = completion
        built.oidc_callback = OidcCallback(context, social, completion)
    if not (flows.recovery.enabled or flows.verification.enabled):
        return built
    link = Challenge("link", methods.link.config.lifespan)
    challenges = {"code": code, "link": link}
    shared: dict[str, Any] = {
        "sender": sender,
        "identities": registry.identities.pool,
        "max_submissions": methods.code.config.max_submissions,
    }
    if flows.verification.enabled:
        verification = flows.verification
        built.verification = VerificationEndpoints(
            context,
            verification.ui_url,
            verification.lifespan,
            hooks("verification", verification, [verification.use]),
            challenge=challenges[_usable(config, "verification")],
            notify_unknown=verification.notify_unknown_recipients,
            after_return_url=verification.after.default_browser_return_url,
            **shared,
        )
        built.login.verifier = built.registration.verifier = built.settings.verifier = built.verification
    if flows.recovery.enabled:
        recovery = flows.recovery
        built.recovery = RecoveryEndpoints(
            context,
            recovery.ui_url,
            recovery.lifespan,
            hooks("recovery", recovery, [recovery.use]),
            challenge=challenges[_usable(config, "recovery")],
            also=[code, link],
            notify_unknown=recovery.notify_unknown_recipients,
            settings=built.settings,
            continue_with_transitions=config.feature_flags.use_continue_with_transitions,
            **shared,
        )
        built.recovery_admin = RecoveryAdmin(built.recovery, registry.identities, code, link)
    return built


def _social_strategy(registry: Registry, context: FlowContext) -> OidcStrategy | None:
    """Social sign-in with the configured providers, when ``selfservice.methods.oidc`` is enabled."""
    oidc = registry.config.selfservice.methods.oidc
    if not oidc.enabled:
        return None
    base_url = oidc.config.base_redirect_uri or str(registry.config.serve.public.base_url)
    providers = {
        config.id: build_provider(config, registry.http, base_url) for config in oidc.config.providers
    }
    sealer = StateSealer(registry.cipher, registry.config.secrets.cookie_secrets())
    cookies = context.cookies
    return OidcStrategy(
        providers,
        sealer,
        cookie_secure=cookies.secure,
        cookie_path=cookies.path,
        cookie_domain=cookies.domain,
    )


def _key_strategies(registry: Registry) -> tuple[list[WebAuthnStrategy], list[PasskeyStrategy]]:
    """Security keys and passkeys, when enabled, each with its relying party."""
    methods = registry.config.selfservice.methods
    base_url = str(registry.config.serve.public.base_url)
    pool = registry.identities.pool
    webauthn = []
    if methods.webauthn.enabled:
        rp = RelyingParty.for_webauthn(methods.webauthn.config, base_url)
        passwordless = methods.webauthn.config.passwordless
        webauthn.append(WebAuthnStrategy(pool, registry.schemas, rp, base_url, passwordless=passwordless))
    passkey = []
    if methods.passkey.enabled:
        passkey.append(
            PasskeyStrategy(pool, RelyingParty.for_passkey(methods.passkey.config, base_url), base_url)
        )
    return webauthn, passkey


def _totp_issuer(config: KratosConfig) -> str:
    """``totp.config.issuer``, else the public URL's host name, as upstream."""
    issuer = config.selfservice.methods.totp.config.issuer
    return issuer or (urlsplit(str(config.serve.public.base_url)).hostname or "")


def _usable(config: KratosConfig, flow: str) -> str:
    """The method ``selfservice.flows.<flow>.use`` names, refused when that method is disabled."""
    use: str = getattr(config.selfservice.flows, flow).use
    if not getattr(config.selfservice.methods, use).enabled:
        raise ValueError(
            f"selfservice.flows.{flow}.use: the {use} method is disabled; "
            f"set selfservice.methods.{use}.enabled to true or use another method"
        )
    return use


def public_routes(registry: Registry) -> list[Route]:
    """Sessions, logout, errors and every enabled self-service flow."""
    flows = build_selfservice(registry)
    context = flow_context(registry)
    address_routes = [
        route
        for kind, endpoints in (("recovery", flows.recovery), ("verification", flows.verification))
        for route in (endpoints.routes() if endpoints else disabled_routes(context, kind))
    ]
    return [
        *session_handlers(registry).public_routes(),
        *flows.login.routes(),
        *flows.registration.routes(),
        *flows.settings.routes(),
        *address_routes,
        *LogoutEndpoints(
            context, registry.config.selfservice.flows.logout.after.default_browser_return_url
        ).routes(),
        *(flows.oidc_callback.routes() if flows.oidc_callback else []),
        *(context.exchange.routes() if context.exchange else []),
        *error_routes(registry.flows),
        *webauthn_js_routes(),
    ]


def admin_selfservice_routes(registry: Registry) -> list[Route]:
    """``/admin/recovery/{code,link}`` when recovery is enabled."""
    recovery_admin = build_selfservice(registry).recovery_admin
    return recovery_admin.routes() if recovery_admin else []


def session_handlers(registry: Registry) -> SessionHandlers:
    """The session endpoints of both ports."""
    return SessionHandlers(
        registry.sessions,
        whoami_app(registry),
        public_base_url=str(registry.config.serve.public.base_url),
        admin_base_url=str(registry.config.serve.admin.base_url),
        earliest_possible_extend=registry.config.session.earliest_possible_extend,
    )


def whoami_app(registry: Registry) -> Whoami:
    """``/sessions/whoami`` with ``session.whoami``'s required AAL and tokenizer templates."""
    public_base_url = str(registry.config.serve.public.base_url)
    whoami = registry.config.session.whoami
    templates = whoami.tokenizer.templates

    async def fetch(url: str) -> bytes:
        return await fetch_url(url, registry.http)

    return Whoami(
        registry.sessions,
        public_base_url,
        required_aal=whoami.required_aal,
        tokenizer=Tokenizer(templates, public_base_url, fetch) if templates else None,
    )
