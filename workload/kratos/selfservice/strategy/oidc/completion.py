"""A provider's claims complete the flow: a login, a registration (and back), a link, or "sign in and link".

A login for an account nobody registered continues as a registration, and a registration of an account
already registered continues as its login, as upstream. A new account whose email (or other identifier)
belongs to an existing identity is never merged into it: the browser gets a login flow for that identity
(message 1010016) that links the account only once its owner has signed in.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from kratos.hash.cipher import Cipher
from kratos.identity.errors import DuplicateIdentifier, InvalidIdentity
from kratos.identity.manager import IdentityManager
from kratos.identity.model import CredentialsType, Identity
from kratos.identity.social import SocialLink, add_link, links
from kratos.schema import TraitsValidationError
from kratos.selfservice.flow.context import error_json, redirect, wants_json
from kratos.selfservice.flow.duplicates import Hints, find_conflict, hints_for
from kratos.selfservice.flow.errors import BrowserLocationChangeRequired, SessionInactive
from kratos.selfservice.flow.login import PENDING_LINK, LoginEndpoints
from kratos.selfservice.flow.model import Flow, FlowType, Kind
from kratos.selfservice.flow.registration import RegistrationEndpoints
from kratos.selfservice.flow.settings import IdentityMismatch, SettingsEndpoints
from kratos.selfservice.strategy.base import ValidationFailed, refusal
from kratos.selfservice.strategy.oidc.claims import Claims
from kratos.selfservice.strategy.oidc.mapper import ClaimsMapper
from kratos.selfservice.strategy.oidc.nodes import CONTINUE, GROUP, SIGN_IN, provider_button
from kratos.selfservice.strategy.oidc.provider import OAuth2Provider, ProviderError, TokenSet
from kratos.selfservice.strategy.profile.nodes import trait_nodes
from kratos.ui.text import message

if TYPE_CHECKING:
    from kratos.selfservice.flow.endpoints import FlowEndpoints

METHOD = "oidc"
_CURRENT: ContextVar[Flow] = ContextVar("oidc_current_flow")  # the flow a failure of this request shows in
_LINK_TEXT = (
    "You tried to sign in with {0}, but that email is already used by another account. Sign in to your "
    "account with one of the options below to add your account {0} at {1} as another way to sign in."
)


class SocialSignIn:
    """Finishes flows with a provider's claims; the flow endpoints are set once they exist."""

    def __init__(
        self, identities: IdentityManager, cipher: Cipher, mapper: ClaimsMapper, login_ui_url: str
    ) -> None:
        self.identities = identities
        self.cipher = cipher
        self.mapper = mapper
        self.login_ui_url = login_ui_url
        self.login: LoginEndpoints | None = None
        self.registration: RegistrationEndpoints | None = None
        self.settings: SettingsEndpoints | None = None

    def endpoints(self, kind: Kind) -> FlowEndpoints | None:
        """The endpoints of a flow kind social sign-in takes part in."""
        return {
            Kind.LOGIN: self.login,
            Kind.REGISTRATION: self.registration,
            Kind.SETTINGS: self.settings,
        }.get(kind)

    async def complete(
        self,
        request: Request,
        flow: Flow,
        provider: OAuth2Provider,
        claims: Claims,
        tokens: TokenSet | None,
        traits: dict[str, Any] | None,
    ) -> Response:
        """Finish ``flow`` for the provider account ``claims`` describe.

        What the user must correct is shown in the flow it belongs to (a registration made from a login).
        """
        _CURRENT.set(flow)
        try:
            link = self._link(provider, claims, tokens)
            if flow.kind == Kind.SETTINGS:
                return await self._link_in_settings(request, flow, link)
            existing = await self.identities.pool.find_by_identifier(CredentialsType.OIDC, link.identifier)
            if existing is not None:
                return await self._sign_in(request, flow, existing, provider)
            return await self._register(request, flow, provider, claims, link, traits)
        except ProviderError as exc:
            failure: ValidationFailed = refusal(exc.reason)
        except ValidationFailed as exc:
            failure = exc
        current = _CURRENT.get()
        endpoints = self.endpoints(current.kind)
        assert endpoints is not None
        return await endpoints.show_again(request, current, failure)

    def _link(self, provider: OAuth2Provider, claims: Claims, tokens: TokenSet | None) -> SocialLink:
        """The account's link, its tokens encrypted with the cipher."""
        tokens = tokens or TokenSet(access_token="")
        encrypt = self.cipher.encrypt
        return SocialLink(
            provider=provider.config.id,
            subject=claims.sub,
            id_token=encrypt(tokens.id_token.encode()),
            access_token=encrypt(tokens.access_token.encode()),
            refresh_token=encrypt(tokens.refresh_token.encode()),
            organization=provider.config.organization_id,
        )

    # login

    async def _sign_in(
        self, request: Request, flow: Flow, identity: Identity, provider: OAuth2Provider
    ) -> Response:
        """Sign the account's identity in, on this login flow or a new one made from a registration."""
        login = self.login
        assert login is not None
        if flow.kind != Kind.LOGIN:
            flow = await self._successor(request, flow, Kind.LOGIN)
        session = await login.context.sessions.optional(request.headers, request.cookies)
        return await login.sign_in(
            request,
            flow,
            METHOD,
            identity,
            session if flow.extra.get("refresh") else None,
            provider=provider.config.id,
        )

    # registration

    async def _register(
        self,
        request: Request,
        flow: Flow,
        provider: OAuth2Provider,
        claims: Claims,
        link: SocialLink,
        traits: dict[str, Any] | None,
    ) -> Response:
        """Create the identity the mapper makes of the claims; a login flow becomes a registration first."""
        registration = self.registration
        assert registration is not None
        if flow.kind != Kind.REGISTRATION:
            flow = await self._successor(request, flow, Kind.REGISTRATION)
        mapped = await self.mapper.map(provider.config.mapper_url, claims)
        identity = Identity(
            schema_id=registration.schema().id,
            traits={**mapped.traits, **(traits or {})},
            metadata_public=mapped.metadata_public,
            metadata_admin=mapped.metadata_admin,
        )
        add_link(identity, link)
        try:
            self.identities.validate(identity)
        except TraitsValidationError as exc:
            self._continue_registration(flow, provider, identity.traits)
            raise ValidationFailed(fields=[(error.name, error.message) for error in exc.errors]) from None
        except InvalidIdentity as exc:
            raise refusal(str(exc)) from None
        verified = set(mapped.verified_addresses)
        for address in identity.verifiable_addresses:
            if (address.via, address.value) in verified:
                address.mark_verified()
        try:
            return await registration.register_identity(
                request,
                flow,
                METHOD,
                identity,
                provider=provider.config.id,
            )
        except DuplicateIdentifier:
            return await self._offer_linking(request, flow, identity, provider, link)

    def _continue_registration(self, flow: Flow, provider: OAuth2Provider, traits: Any) -> None:
        """The form to complete what the provider did not say: its traits and "Continue", as upstream."""
        registration = self.registration
        assert registration is not None
        nodes = [node for node in flow.ui.nodes if node.name == "csrf_token"]
        nodes.append(provider_button(provider.config, CONTINUE))
        nodes.extend(trait_nodes(registration.schema(), "default", traits))
        flow.ui.nodes = nodes

    # "sign in and link"

    async def _offer_linking(
        self, request: Request, flow: Flow, identity: Identity, provider: OAuth2Provider, link: SocialLink
    ) -> Response:
        """A login flow for the identity that has the account's identifier, which links it after sign-in.

        With ``login_hints`` the flow offers only the ways that identity signs in, as upstream.
        """
        assert self.login is not None
        assert self.registration is not None
        conflict = await find_conflict(self.identities.pool, identity)
        duplicate = conflict.identifier
        hinted = self.registration.config.login_hints
        hints = await hints_for(self.identities.pool, conflict) if hinted else Hints()
        login = await self._successor(request, flow, Kind.LOGIN)
        login.internal[PENDING_LINK] = {"duplicate_identifier": duplicate, "link": link.to_config()}
        label = provider.config.label or provider.config.provider
        nodes = []
        for node in login.ui.nodes:
            if node.name == "identifier":
                node.attributes["type"] = "hidden"
                node.attributes["value"] = duplicate
            if node.label is None or node.group == "default":
                nodes.append(node)
                continue
            if node.group == GROUP and (
                node.attributes.get("value") == provider.config.id  # not the one that brought the user here
                or (hinted and node.attributes.get("value") not in hints.oidc_providers)
            ):
                continue
            if node.label.id == 1010001:
                node.label = message(1010017)
            elif node.label.id == SIGN_IN:
                other = node.label.context.get("provider", "")
                node.label = message(1010018, f"Confirm with {other}", provider=other)
            if not hinted or node.group in hints.credential_types:
                nodes.append(node)
        login.ui.nodes = nodes
        login_ui = self.login_ui_url
        login.ui.messages = [
            message(
                1010016,
                _LINK_TEXT.format(_go_quote(duplicate), _go_quote(label)),
                available_credential_types=hints.credential_types or None,
                available_providers=hints.oidc_providers or None,
                duplicateIdentifier=duplicate,
                duplicate_identifier=duplicate,
                newLoginUrl=login_ui,
                new_login_url=login_ui,
                provider=label,
            )
        ]
        await self.login.context.flows.update(login)
        separator = "&" if "?" in login_ui else "?"
        location = f"{login_ui}{separator}flow={login.id}&no_org_ui=true"
        if wants_json(request) or flow.type == FlowType.API:
            return error_json(BrowserLocationChangeRequired(location))
        return redirect(location)

    # settings

    async def _link_in_settings(self, request: Request, flow: Flow, link: SocialLink) -> Response:
        """Add the account to the signed-in identity, unless another identity has it."""
        settings = self.settings
        assert settings is not None
        session = await settings.context.sessions.optional(request.headers, request.cookies)
        if session is None:
            raise SessionInactive()
        if session.identity_id != flow.identity_id:
            raise IdentityMismatch()
        owner = await self.identities.pool.find_by_identifier(CredentialsType.OIDC, link.identifier)
        identity = await self.identities.get(session.identity_id)
        if owner is not None and owner.id != identity.id:
            raise refusal("can not link unknown or already existing OpenID Connect connection")
        if link.identifier not in {existing.identifier for existing in links(identity)}:
            add_link(identity, link)
        return await settings.apply(request, flow, session, identity, METHOD)

    # flows made from flows

    async def _successor(self, request: Request, flow: Flow, kind: Kind) -> Flow:
        """A new flow of ``kind`` carrying on ``flow`` (its type, return_to, request URL and payload)."""
        endpoints = self.endpoints(kind)
        assert endpoints is not None
        successor = await endpoints.new_flow(request, flow.type, None)
        successor.request_url = flow.request_url
        successor.return_to = flow.return_to
        successor.transient_payload = flow.transient_payload
        successor.csrf_token = flow.csrf_token
        successor.ui.set_value("csrf_token", flow.csrf_token)
        for key in ("oauth2_login_challenge", "oauth2_login_request"):
            if key in flow.extra:
                successor.extra[key] = flow.extra[key]
        successor.active = METHOD
        await endpoints.context.flows.create(successor)
        if endpoints.context.exchange is not None:
            await endpoints.context.exchange.move(flow, successor)
        _CURRENT.set(successor)
        return successor


def _go_quote(text: str) -> str:
    """Go's ``%q`` of a plain string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = ["SocialSignIn"]
