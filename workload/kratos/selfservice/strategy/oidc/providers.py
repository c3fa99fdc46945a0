"""Which class talks to each ``provider`` type of ``selfservice.methods.oidc.config.providers``."""

from __future__ import annotations

import httpx

from kratos.config.oidc import OidcProvider
from kratos.selfservice.strategy.oidc.provider import OAuth2Provider, OpenIdProvider
from kratos.selfservice.strategy.oidc.provider_apple import AppleProvider
from kratos.selfservice.strategy.oidc.provider_oauth2 import (
    DiscordProvider,
    FacebookProvider,
    GitHubAppProvider,
    GitHubProvider,
    PatreonProvider,
    SlackProvider,
    SpotifyProvider,
)
from kratos.selfservice.strategy.oidc.provider_oidc import (
    Auth0Provider,
    GitLabProvider,
    GoogleProvider,
    LineProvider,
    LinkedInProvider,
    MicrosoftProvider,
    NetIdProvider,
    SalesforceProvider,
    UaePassProvider,
)
from kratos.selfservice.strategy.oidc.provider_regional import (
    AmazonProvider,
    DingTalkProvider,
    LarkProvider,
    VkProvider,
    YandexProvider,
)

CALLBACK_PATH = "/self-service/methods/oidc/callback"

PROVIDER_TYPES: dict[str, type[OAuth2Provider]] = {
    "generic": OpenIdProvider,
    "google": GoogleProvider,
    "github": GitHubProvider,
    "github-app": GitHubAppProvider,
    "gitlab": GitLabProvider,
    "microsoft": MicrosoftProvider,
    "discord": DiscordProvider,
    "salesforce": SalesforceProvider,
    "slack": SlackProvider,
    "facebook": FacebookProvider,
    "auth0": Auth0Provider,
    "vk": VkProvider,
    "yandex": YandexProvider,
    "apple": AppleProvider,
    "spotify": SpotifyProvider,
    "netid": NetIdProvider,
    "dingtalk": DingTalkProvider,
    "linkedin_v2": LinkedInProvider,
    "patreon": PatreonProvider,
    "lark": LarkProvider,
    "line": LineProvider,
    "amazon": AmazonProvider,
    "uaepass": UaePassProvider,
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
    return kind.create(config, http, lambda effective: redirect_uri(effective, base_url))
