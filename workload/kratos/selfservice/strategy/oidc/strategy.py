"""The ``oidc`` method: provider buttons, the trip to the provider, native id_tokens, link and unlink."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from kratos.config.oidc import OidcProvider
from kratos.http.errors import BadRequest, Forbidden, KratosError, NotFound
from kratos.identity.factors import count_first_factors
from kratos.identity.model import Identity
from kratos.identity.social import links, remove_link
from kratos.schema import IdentitySchema
from kratos.selfservice.flow.context import error_json, redirect, wants_json
from kratos.selfservice.flow.errors import BrowserLocationChangeRequired
from kratos.selfservice.flow.model import Flow, FlowType
from kratos.selfservice.strategy.base import Handover, SettingsUpdate, missing, refusal, text_field
from kratos.selfservice.strategy.oidc.nodes import GROUP, LINK, SIGN_IN, SIGN_UP, UNLINK, provider_button
from kratos.selfservice.strategy.oidc.provider import OAuth2Provider, ProviderError
from kratos.selfservice.strategy.oidc.state import CONTINUITY_COOKIE, FLOW_KEY, StateSealer
from kratos.session.model import Session

if TYPE_CHECKING:
    from kratos.selfservice.strategy.oidc.completion import SocialSignIn

METHOD = "oidc"


class UpstreamError(KratosError):
    """The provider failed (502), as upstream's ``upstream_error``."""

    status = 502
    error_id = "upstream_error"


def provider_failure(error: ProviderError) -> KratosError:
    """A provider's failure for clients that get errors rather than flows (native sign-in)."""
    if error.kind == "upstream":
        return UpstreamError(error.reason)
    if error.kind == "forbidden":
        return Forbidden(error.reason)
    if error.kind == "misconfiguration":
        return KratosError(
            error.reason, message="Invalid configuration", error_id="invalid_configuration", status=500
        )
    return BadRequest(error.reason)


class OidcStrategy:
    """Social sign-in for login, registration and settings."""

    id = METHOD
    provides_traits = True  # the provider's claims make the traits; registration checks them afterwards

    def __init__(
        self,
        providers: Mapping[str, OAuth2Provider],
        sealer: StateSealer,
        *,
        cookie_secure: bool,
        cookie_path: str = "/",
        cookie_domain: str | None = None,
    ) -> None:
        self.providers = dict(providers)
        self.sealer = sealer
        self.cookie_secure = cookie_secure
        self.cookie_path = cookie_path
        self.cookie_domain = cookie_domain
        self.completion: SocialSignIn | None = None  # set once the flows exist

    def configs(self) -> list[OidcProvider]:
        """The configured providers, in order."""
        return [provider.config for provider in self.providers.values()]

    def claims(self, body: dict[str, Any]) -> bool:
        """Provider buttons post ``provider`` (``link``/``unlink`` in settings) without ``method``."""
        return any(isinstance(body.get(name), str) for name in ("provider", "link", "unlink"))

    # forms

    def populate_login(self, flow: Flow, schema: IdentitySchema) -> None:
        """The "Sign in with <provider>" buttons."""
        flow.ui.nodes.extend(provider_button(config, SIGN_IN) for config in self.configs())

    def populate_registration(self, flow: Flow, schema: IdentitySchema) -> None:
        """The "Sign up with <provider>" buttons."""
        flow.ui.nodes.extend(provider_button(config, SIGN_UP) for config in self.configs())

    def keep_linked(self, flow: Flow, identity: Identity) -> None:
        """The identified screen of ``identifier_first``: only the providers the account is linked to."""
        linked = {link.provider for link in links(identity)}
        flow.ui.nodes = [
            node for node in flow.ui.nodes if node.group != GROUP or node.attributes.get("value") in linked
        ]

    def populate_settings(self, flow: Flow, identity: Identity, schema: IdentitySchema) -> None:
        """Link providers not linked yet; unlink only while another first factor remains."""
        linked = {link.provider for link in links(identity)}
        can_unlink = count_first_factors(identity.credentials) > 1
        for config in self.configs():
            if config.id not in linked:
                flow.ui.nodes.append(provider_button(config, LINK, name="link"))
            elif can_unlink:
                flow.ui.nodes.append(provider_button(config, UNLINK, name="unlink"))

    # submissions

    async def login(self, flow: Flow, body: dict[str, Any], session: Session | None) -> Identity:
        """Go to the provider, or (apps) sign in with the id_token they got from it."""
        provider = self._provider(text_field(body, "provider"))
        id_token = text_field(body, "id_token")
        if id_token:
            raise await self._native(flow, provider, id_token, text_field(body, "id_token_nonce"), body)
        raise await self.begin(flow, provider, body, forced=bool(flow.extra.get("refresh")))

    async def register(self, flow: Flow, body: dict[str, Any], identity: Identity) -> None:
        """The same trip as a login: the provider's claims make the identity (with submitted traits)."""
        provider = self._provider(text_field(body, "provider"))
        id_token = text_field(body, "id_token")
        if id_token:
            raise await self._native(flow, provider, id_token, text_field(body, "id_token_nonce"), body)
        raise await self.begin(flow, provider, body)

    async def update_settings(
        self, flow: Flow, body: dict[str, Any], identity: Identity, schema: IdentitySchema
    ) -> SettingsUpdate:
        """Link a provider (a trip to it) or unlink one, never the last way to sign in."""
        unlink = text_field(body, "unlink")
        if unlink:
            if unlink not in {link.provider for link in links(identity)}:
                raise refusal("can not unlink non-existing OpenID Connect connection")
            if count_first_factors(identity.credentials) <= 1:
                raise refusal(
                    "can not unlink OpenID Connect connection because it is the last remaining first "
                    "factor credential"
                )
            remove_link(identity, unlink)
            return SettingsUpdate()
        target = text_field(body, "link")
        if not target:
            raise refusal("link or unlink is required")
        if target in {link.provider for link in links(identity)}:
            raise refusal("can not link unknown or already existing OpenID Connect connection")
        provider = self._provider(target)
        return SettingsUpdate(handover=await self.begin(flow, provider, body))

    # the trip to the provider

    async def begin(
        self, flow: Flow, provider: OAuth2Provider, body: dict[str, Any], *, forced: bool = False
    ) -> Handover:
        """Seal a state, remember it in the flow and send the browser to the provider."""
        try:
            verifier = secrets.token_urlsafe(48) if await provider.use_pkce() else None
            traits = body.get("traits") if isinstance(body.get("traits"), dict) else None
            state, pending = self.sealer.begin(
                flow, provider.config.id, code_verifier=verifier, traits=traits
            )
            url = await provider.authorization_url(
                state=state,
                nonce=pending.nonce,
                code_verifier=verifier,
                upstream_parameters=_upstream_parameters(body),
                forced=forced,
            )
        except ProviderError as exc:
            if exc.kind == "misconfiguration":  # the provider cannot even be reached: an error, as upstream
                raise provider_failure(exc) from None
            raise refusal(exc.reason) from None
        flow.internal[FLOW_KEY] = pending.to_storage()
        flow.active = METHOD
        cookie = self.sealer.cookie_value(state)

        async def respond(request: Request, stored: Flow) -> Response:
            if wants_json(request) or stored.type == FlowType.API:
                response = error_json(BrowserLocationChangeRequired(url))
            else:
                response = redirect(url)
            response.set_cookie(
                CONTINUITY_COOKIE,
                cookie,
                max_age=max(60, int((stored.expires_at - stored.updated_at).total_seconds())),
                path=self.cookie_path,
                domain=self.cookie_domain,
                secure=self.cookie_secure,
                httponly=True,
                samesite="lax",
            )
            return response

        return Handover(respond)

    async def _native(
        self, flow: Flow, provider: OAuth2Provider, id_token: str, nonce: str, body: dict[str, Any]
    ) -> Handover:
        """An app's id_token: verified here, then the same sign-in as after a callback."""
        try:
            claims = await provider.verify_id_token(id_token, nonce=nonce or None)
        except ProviderError as exc:
            raise provider_failure(exc) from None
        completion = self.completion
        assert completion is not None
        traits = body.get("traits") if isinstance(body.get("traits"), dict) else None

        async def respond(request: Request, stored: Flow) -> Response:
            return await completion.complete(request, stored, provider, claims, None, traits)

        return Handover(respond)

    def _provider(self, provider_id: str) -> OAuth2Provider:
        if not provider_id:
            raise missing("provider")
        provider = self.providers.get(provider_id)
        if provider is None:
            raise NotFound(f'OpenID Connect Provider "{provider_id}" is unknown or has not been configured')
        return provider


def _upstream_parameters(body: dict[str, Any]) -> dict[str, str]:
    """The allowed ``upstream_parameters`` (string values only)."""
    given = body.get("upstream_parameters")
    if not isinstance(given, dict):
        return {}
    return {name: value for name, value in given.items() if isinstance(value, str)}


__all__ = ["GROUP", "METHOD", "OidcStrategy", "UpstreamError", "provider_failure"]
