"""Wiring of sessions and the self-service flows: the one place that picks strategies and settings."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from kratos.config import KratosConfig
from kratos.driver.registry import Registry
from kratos.http.urls import fetch_url
from kratos.selfservice.flow.context import CookiePolicy, FlowContext
from kratos.selfservice.flow.error_endpoint import error_routes
from kratos.selfservice.flow.login import LoginEndpoints
from kratos.selfservice.flow.logout import LogoutEndpoints
from kratos.selfservice.flow.registration import RegistrationEndpoints
from kratos.selfservice.flow.settings import SettingsEndpoints
from kratos.selfservice.hook.executor import FlowHooks, build_hooks
from kratos.selfservice.strategy.password.policy import PasswordPolicy
from kratos.selfservice.strategy.password.strategy import PasswordStrategy
from kratos.selfservice.strategy.profile.strategy import ProfileStrategy
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
    )


def public_routes(registry: Registry) -> list[Route]:
    """Sessions, logout, errors and the login, registration and settings flows."""
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
    login = [*password]
    registration = [*password]
    settings = [*profile, *password]

    def hooks(name: str, flow: Any, strategies: list[Any]) -> FlowHooks:
        return build_hooks(
            f"selfservice.flows.{name}",
            flow.before.hooks,
            flow.after,
            [strategy.id for strategy in strategies],
            registry.http,
            list(config.clients.web_hook.header_allowlist),
        )

    return [
        *session_handlers(registry).public_routes(),
        *LoginEndpoints(
            context,
            flows.login,
            hooks("login", flows.login, login),
            registry.schemas,
            registry.identities.pool,
            login,
            mitigate_enumeration=config.security.account_enumeration.mitigate,
        ).routes(),
        *RegistrationEndpoints(
            context,
            flows.registration,
            hooks("registration", flows.registration, registration),
            registry.identities,
            registration,
        ).routes(),
        *SettingsEndpoints(
            context,
            flows.settings,
            hooks("settings", flows.settings, settings),
            registry.identities,
            settings,
        ).routes(),
        *LogoutEndpoints(context, flows.logout.after.default_browser_return_url).routes(),
        *error_routes(registry.flows),
    ]


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
