"""Which class talks to each ``provider`` type of ``selfservice.methods.oidc.config.providers``."""

from __future__ import annotations

import httpx

from kratos.config.oidc import OidcProvider
from kratos.selfservice.strategy.oidc.provider import OAuth2Provider, OpenIdProvider

CALLBACK_PATH = "/self-service/methods/oidc/callback"

PROVIDER_TYPES: dict[str, type[OAuth2Provider]] = {
    "generic": OpenIdProvider,
}


def redirect_uri(config: OidcProvider, base_url: str) -> str:
    """The provider's callback: ``<base>/self-service/methods/oidc/callback/<id>``.

    Without the id when ``pkce: force``, as upstream: the provider then comes from the state.
    """
    base = base_url.rstrip("/")
    if config.pkce == "force":
        return f"{base}{CALLBACK_PATH}"
    return f"{base}{CALLBACK_PATH}/{config.id}"


def build_provider(config: OidcProvider, http: httpx.AsyncClient, base_url: str) -> OAuth2Provider:
    """The client for one configured provider; ``ValueError`` for a type not supported here."""
    kind = PROVIDER_TYPES.get(config.provider)
    if kind is None:
        raise ValueError(
            f"selfservice.methods.oidc.config.providers: provider {config.id!r} has type "
            f"{config.provider!r}, "
            f"which is not supported (supported: {', '.join(sorted(PROVIDER_TYPES))})"
        )
    return kind(config, http, redirect_uri(config, base_url))
