"""Provider types built on OpenID Connect, each with upstream's endpoints, scopes and claim rules.

Google, Microsoft, GitLab, Auth0, Salesforce, netID, LinkedIn, LINE and UAE PASS.

Fixed issuers and URLs are class attributes (``fixed_issuer``, ``login_base``, ...), so a subclass or an
instance can point them elsewhere.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from kratos.config.oidc import OidcProvider
from kratos.selfservice.strategy.oidc.claims import Claims
from kratos.selfservice.strategy.oidc.provider import (
    ID_TOKEN_MISSING,
    Endpoints,
    OpenIdProvider,
    ProviderError,
    TokenSet,
    json_object,
)
from kratos.selfservice.strategy.oidc.provider_common import decoded_claims, text

OFFLINE_ACCESS = "offline_access"
_TENANTS_KEPT = 64


class GoogleProvider(OpenIdProvider):
    """``google``: issuer accounts.google.com; ``offline_access`` becomes ``access_type=offline``."""

    fixed_issuer = "https://accounts.google.com"
    issuer_aliases: tuple[str, ...] = ("accounts.google.com",)  # Google's tokens sometimes name it so
    verifies_app_tokens = True

    def accepts_issuer(self, issuer: str) -> bool:
        """The issuer, or the scheme-less form Google sometimes puts in ``iss`` (as go-oidc allows)."""
        return super().accepts_issuer(issuer) or issuer in self.issuer_aliases

    def scopes(self) -> list[str]:
        """The configured scopes and ``openid``, without ``offline_access`` (Google refuses it as a scope)."""
        return [scope for scope in super().scopes() if scope != OFFLINE_ACCESS]

    def authorization_parameters(self, *, forced: bool) -> dict[str, str]:
        """The OpenID parameters, and ``access_type=offline`` for a refresh token."""
        extra = super().authorization_parameters(forced=forced)
        if OFFLINE_ACCESS in self.config.scope:
            extra["access_type"] = "offline"
        return extra

    def nonce_optional(self, claims: Claims) -> bool:
        """Not every Google SDK sends a nonce: an app's id_token without one is accepted, as upstream."""
        return True


class MicrosoftProvider(OpenIdProvider):
    """``microsoft``: Entra ID v2 endpoints of ``microsoft_tenant``.

    Each token is verified against the issuer of its own tenant (``tid``), so ``common``, ``organizations``
    and ``consumers`` work; ``subject_source`` picks the subject: the token's ``sub``, Graph's ``/me`` id,
    or the ``oid``.
    """

    login_base = "https://login.microsoftonline.com"
    graph_me_url = "https://graph.microsoft.com/v1.0/me"

    def __init__(self, config: OidcProvider, http: httpx.AsyncClient, redirect_uri: str) -> None:
        super().__init__(config, http, redirect_uri)
        self._tenants: dict[str, OpenIdProvider] = {}

    async def endpoints(self) -> Endpoints:
        """``<login>/<tenant>/oauth2/v2.0/authorize`` and ``.../token``."""
        tenant = self.config.microsoft_tenant.strip()
        if not tenant:
            raise ProviderError(
                f"No Tenant specified for the `microsoft` oidc provider {self.config.id}", "misconfiguration"
            )
        prefix = f"{self.login_base}/{tenant}/oauth2/v2.0"
        return Endpoints(f"{prefix}/authorize", f"{prefix}/token")

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """The id_token verified by its tenant's issuer, with the subject ``subject_source`` names."""
        if not tokens.id_token:
            raise ProviderError(ID_TOKEN_MISSING)
        tenant = text(_unverified_payload(tokens.id_token), "tid")
        try:
            uuid.UUID(tenant)
        except ValueError:
            raise ProviderError(f"TenantID claim is not a valid UUID: {tenant!r}") from None
        issuer = self.tenant_issuer(tenant)
        try:
            await issuer.discovery()
        except ProviderError as exc:
            raise ProviderError(exc.reason, "upstream") from None
        claims = await issuer.decode_id_token(tokens.id_token, nonce=nonce)
        if self.config.subject_source == "me":
            me = await self.get_json(self.graph_me_url, tokens.access_token, "me")
            claims.sub = text(me, "id")
        elif self.config.subject_source == "oid":
            claims.sub = claims.oid
        return claims

    def tenant_issuer(self, tenant: str) -> OpenIdProvider:
        """The OpenID issuer ``<login>/<tid>/v2.0`` (its discovery and keys kept for the recent tenants)."""
        found = self._tenants.get(tenant)
        if found is None:
            issuer_url = f"{self.login_base}/{tenant}/v2.0"
            found = OpenIdProvider(
                self.config.model_copy(update={"issuer_url": issuer_url}), self.http, self.redirect_uri
            )
            if len(self._tenants) >= _TENANTS_KEPT:
                self._tenants.pop(next(iter(self._tenants)))
            self._tenants[tenant] = found
        return found


class UserinfoProvider(OpenIdProvider):
    """An OAuth2 server at ``issuer_url`` whose ``userinfo`` answer is the claims (no ``openid`` added)."""

    default_scopes = ()
    default_base = ""
    authorize_path = "/authorize"
    token_path = "/oauth/token"
    userinfo_path = "/userinfo"

    def base(self) -> str:
        """``issuer_url``, else the type's default server."""
        return (self.config.issuer_url or self.default_base).rstrip("/")

    async def endpoints(self) -> Endpoints:
        """The type's paths under :meth:`base`."""
        if not self.base():
            raise ProviderError(
                f"issuer_url: is required for the {self.config.provider} provider {self.config.id!r}",
                "misconfiguration",
            )
        return Endpoints(f"{self.base()}{self.authorize_path}", f"{self.base()}{self.token_path}")

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """The userinfo document in the claims fields (a string ``updated_at`` read as RFC 3339)."""
        document = await self.get_json(f"{self.base()}{self.userinfo_path}", tokens.access_token, "userinfo")
        if not isinstance(document, dict):
            raise ProviderError("The provider's userinfo answer is not a JSON object", "upstream")
        claims = decoded_claims(document)
        claims.iss = claims.iss or self.base()
        return claims


class GitLabProvider(UserinfoProvider):
    """``gitlab``: gitlab.com, or the instance at ``issuer_url``; claims from ``/oauth/userinfo``."""

    default_base = "https://gitlab.com"
    authorize_path = "/oauth/authorize"
    userinfo_path = "/oauth/userinfo"


class Auth0Provider(UserinfoProvider):
    """``auth0``: the tenant at ``issuer_url``: ``/authorize``, ``/oauth/token``, ``/userinfo``."""


class SalesforceProvider(UserinfoProvider):
    """``salesforce``: the org at ``issuer_url`` under ``/services/oauth2/``."""

    authorize_path = "/services/oauth2/authorize"
    token_path = "/services/oauth2/token"
    userinfo_path = "/services/oauth2/userinfo"


class NetIdProvider(OpenIdProvider):
    """``netid``: the netID broker; claims from its userinfo, ``iss``/``sub`` from the verified id_token.

    A FedCM token from an app is exchanged at the broker for an id_token.
    """

    fixed_issuer = "https://broker.netid.de/"
    broker_base = "https://broker.netid.de"
    verifies_app_tokens = True

    async def endpoints(self) -> Endpoints:
        """``<broker>/authorize`` and ``<broker>/token``."""
        return Endpoints(f"{self.broker_base}/authorize", f"{self.broker_base}/token")

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """The userinfo document, with the id_token's issuer and subject."""
        userinfo = await self.get_json(f"{self.broker_base}/userinfo", tokens.access_token, "userinfo")
        if not tokens.id_token:
            raise ProviderError(ID_TOKEN_MISSING)
        verified = await self.decode_id_token(tokens.id_token, nonce=nonce)
        if not isinstance(userinfo, dict):
            raise ProviderError("The provider's userinfo answer is not a JSON object", "upstream")
        claims = decoded_claims(userinfo)
        claims.iss, claims.sub = verified.iss, verified.sub
        return claims

    async def decode_app_token(self, id_token: str) -> Claims:
        """Exchange the FedCM token (``grant_type=netid_fedcm``) and verify the id_token it brings."""
        answer = await self.request(
            "POST",
            f"{self.broker_base}/token",
            data={"grant_type": "netid_fedcm", "fedcm_token": id_token},
            headers={"Origin": self.config.net_id_token_origin_header, "Accept": "application/json"},
        )
        exchanged = text(json_object(answer, "token endpoint"), "id_token")
        if not exchanged:
            raise ProviderError(ID_TOKEN_MISSING)
        return await self.decode_id_token(exchanged, nonce=None)


class LinkedInProvider(OpenIdProvider):
    """``linkedin_v2``: LinkedIn's OpenID Connect, claims always from userinfo."""

    fixed_issuer = "https://www.linkedin.com/oauth"

    @classmethod
    def configured(cls, config: OidcProvider) -> OidcProvider:
        """``claims_source: userinfo``, whatever is configured, as upstream."""
        return config.model_copy(update={"claims_source": "userinfo"})


class LineProvider(OpenIdProvider):
    """``line``: LINE Login v2.1; the token request asks for an ES256 id_token (``id_token_key_type=JWK``)."""

    fixed_issuer = "https://access.line.me"

    def token_parameters(self) -> dict[str, str]:
        """``id_token_key_type=JWK``."""
        return {"id_token_key_type": "JWK"}


class UaePassProvider(OpenIdProvider):
    """``uaepass``: UAE PASS (``issuer_url`` picks staging); PKCE always, web ``acr_values``.

    Claims come from ``/idshub/userinfo``, the whole document as ``raw_claims``.
    """

    default_scopes = ()
    default_base = "https://id.uaepass.ae"
    web_acr = "urn:safelayer:tws:policies:authentication:level:low"

    @classmethod
    def configured(cls, config: OidcProvider) -> OidcProvider:
        """``pkce: auto`` means ``force``: UAE PASS supports PKCE but does not advertise it."""
        return config.model_copy(update={"pkce": "force"}) if config.pkce == "auto" else config

    def base(self) -> str:
        """``issuer_url``, else production."""
        return (self.config.issuer_url or self.default_base).rstrip("/")

    async def endpoints(self) -> Endpoints:
        """``<base>/idshub/authorize`` and ``<base>/idshub/token``."""
        return Endpoints(f"{self.base()}/idshub/authorize", f"{self.base()}/idshub/token")

    def authorization_parameters(self, *, forced: bool) -> dict[str, str]:
        """``acr_values``: web authentication (an upstream parameter may ask for the app instead)."""
        return {"acr_values": self.web_acr}

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """The English names and the email of the profile."""
        document = await self.get_json(f"{self.base()}/idshub/userinfo", tokens.access_token, "userinfo")
        if not isinstance(document, dict):
            raise ProviderError("The provider's userinfo answer is not a JSON object", "upstream")
        return Claims(
            sub=_string(document, "sub"),
            iss=self.base(),
            email=_string(document, "email"),
            name=_string(document, "fullnameEN"),
            given_name=_string(document, "firstnameEN"),
            last_name=_string(document, "lastnameEN"),
            raw_claims=document,
        )


def _unverified_payload(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified (to find which tenant issued it)."""
    try:
        payload = token.split(".")[1]
        document = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, orjson.JSONDecodeError):
        raise ProviderError("oidc: malformed jwt: the id_token is not a JWT") from None
    if not isinstance(document, dict):
        raise ProviderError("oidc: malformed jwt: the id_token's claims are not an object")
    return document


def _string(document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    return value if isinstance(value, str) else ""
