"""Talking to a social sign-in provider: the authorization URL, the code exchange, and its claims.

:class:`OAuth2Provider` is the authorization code grant (authlib builds the requests); subclasses say where
the claims come from. :class:`OpenIdProvider` is any OpenID Connect issuer found by discovery: it verifies
id_tokens against the issuer's keys (signature, ``iss``, ``aud``, ``exp``, ``nonce``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Self
from urllib.parse import quote_plus

import httpx
import orjson
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from kratos.config.oidc import OidcProvider
from kratos.selfservice.strategy.oidc.claims import Claims

TIMEOUT = httpx.Timeout(20.0, connect=10.0)
UPSTREAM_PARAMETERS = frozenset({"login_hint", "hd", "prompt", "auth_type", "acr_values"})
_DISCOVERY_TTL = 3600.0

ErrorKind = Literal["bad_request", "upstream", "forbidden", "misconfiguration"]
ID_TOKEN_MISSING = (
    "Authentication failed because no id_token was returned. "
    'Please accept the "openid" permission and try again.'
)


class ProviderError(Exception):
    """The provider refused, failed or could not be reached; ``reason`` is what the user is told."""

    def __init__(self, reason: str, kind: ErrorKind = "bad_request") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


@dataclass(frozen=True, slots=True)
class TokenSet:
    """What the token endpoint answered."""

    access_token: str
    refresh_token: str = ""
    id_token: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the browser is sent, and where the code is redeemed."""

    authorization: str
    token: str


class OAuth2Provider:
    """A provider reached through the OAuth2 authorization code grant."""

    default_scopes: tuple[str, ...] = ()
    client_auth: Literal["basic", "post"] = "basic"  # how the token endpoint wants the client credentials

    def __init__(self, config: OidcProvider, http: httpx.AsyncClient, redirect_uri: str) -> None:
        self.config = config
        self.http = http
        self.redirect_uri = redirect_uri

    @classmethod
    def configured(cls, config: OidcProvider) -> OidcProvider:
        """The config as the type runs it (upstream's constructors fix some keys, e.g. ``pkce``)."""
        return config

    @classmethod
    def create(
        cls, config: OidcProvider, http: httpx.AsyncClient, redirect_uri: Callable[[OidcProvider], str]
    ) -> Self:
        """The provider for ``config`` as :meth:`configured` changes it; ``redirect_uri`` reads the result."""
        effective = cls.configured(config)
        return cls(effective, http, redirect_uri(effective))

    # what subclasses provide

    async def endpoints(self) -> Endpoints:
        """The authorization and token endpoints (``auth_url`` / ``token_url`` unless the type knows them)."""
        if not (self.config.auth_url and self.config.token_url):
            raise ProviderError(
                f"The {self.config.provider} provider {self.config.id!r} needs auth_url and token_url",
                "misconfiguration",
            )
        return Endpoints(self.config.auth_url, self.config.token_url)

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """The user's claims after a code exchange; ``query``: the callback's parameters (Apple: ``user``)."""
        raise NotImplementedError

    async def supports_pkce(self) -> bool:
        """Whether ``pkce: auto`` uses PKCE: only issuers whose discovery advertises S256."""
        return False

    async def verify_id_token(self, id_token: str, *, nonce: str | None) -> Claims:
        """Claims from an id_token an app obtained itself (native sign-in)."""
        raise ProviderError(
            f"The provider {self.config.provider} does not support id_token verification", "upstream"
        )

    def scopes(self) -> list[str]:
        """The configured scopes, plus those the type always needs."""
        scopes = list(self.config.scope)
        scopes.extend(scope for scope in self.default_scopes if scope not in scopes)
        return scopes

    def authorization_parameters(self, *, forced: bool) -> dict[str, str]:
        """Extra parameters of the authorization request (``prompt=login`` on a refresh, ...)."""
        return {}

    def token_parameters(self) -> dict[str, str]:
        """Extra parameters of the token request (LINE's ``id_token_key_type``)."""
        return {}

    # the grant

    async def use_pkce(self) -> bool:
        """``pkce``: never, force, or auto (when the provider advertises S256)."""
        if self.config.pkce == "never":
            return False
        if self.config.pkce == "force":
            return True
        try:
            return await self.supports_pkce()
        except ProviderError:
            return False

    async def authorization_url(
        self,
        *,
        state: str,
        nonce: str | None = None,
        code_verifier: str | None = None,
        upstream_parameters: dict[str, str] | None = None,
        forced: bool = False,
    ) -> str:
        """Where to send the browser to sign in at the provider."""
        endpoints = await self.endpoints()
        extra: dict[str, str] = dict(self.authorization_parameters(forced=forced))
        if nonce:
            extra["nonce"] = nonce
        if code_verifier:
            extra["code_challenge"] = create_s256_code_challenge(code_verifier)
            extra["code_challenge_method"] = "S256"
        for name, value in (upstream_parameters or {}).items():
            if name in UPSTREAM_PARAMETERS:
                extra[name] = value
        return prepare_grant_uri(
            endpoints.authorization,
            self.config.client_id,
            "code",
            redirect_uri=self.redirect_uri,
            scope=" ".join(self.scopes()) or None,
            state=state,
            **extra,
        )

    async def exchange_code(self, code: str, *, code_verifier: str | None = None) -> TokenSet:
        """Redeem the authorization code at the token endpoint."""
        endpoints = await self.endpoints()
        params: dict[str, str] = {"code": code, "redirect_uri": self.redirect_uri, **self.token_parameters()}
        if code_verifier:
            params["code_verifier"] = code_verifier
        auth: httpx.Auth | None = None
        if self.client_auth == "basic":
            # RFC 6749 section 2.3.1: both are form-encoded before they go into the header.
            auth = httpx.BasicAuth(quote_plus(self.config.client_id), quote_plus(self.client_secret()))
        else:
            params.update(client_id=self.config.client_id, client_secret=self.client_secret())
        body = prepare_token_request("authorization_code", **params)
        answer = await self.request(
            "POST",
            endpoints.token,
            content=body,
            auth=auth,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        document = json_object(answer, "token endpoint")
        if answer.status_code != 200 or "error" in document:
            error = document.get("error") or f"HTTP {answer.status_code}"
            description = document.get("error_description") or ""
            raise ProviderError(f'oauth2: "{error}" "{description}"'.replace(' ""', ""))
        access_token = document.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise ProviderError("oauth2: server response missing access_token")
        return TokenSet(
            access_token=access_token,
            refresh_token=_string(document.get("refresh_token")),
            id_token=_string(document.get("id_token")),
            raw=document,
        )

    def client_secret(self) -> str:
        """The client secret sent to the token endpoint (Apple signs one)."""
        return self.config.client_secret

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """An HTTP request to the provider; an unreachable provider is a :class:`ProviderError`."""
        try:
            return await self.http.request(method, url, timeout=TIMEOUT, **kwargs)
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"Unable to reach the provider {self.config.id!r}: {exc}", "upstream"
            ) from None

    async def get_json(self, url: str, token: str, what: str, **headers: str) -> Any:
        """A JSON API answer, fetched with ``token`` as a bearer token (none when it is empty)."""
        sent = {"Accept": "application/json", **headers}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        answer = await self.request("GET", url, headers=sent)
        if answer.status_code != 200:
            raise ProviderError(
                f"OpenID Connect provider returned a {answer.status_code} status code but 200 is expected.",
                "upstream",
            )
        return json_document(answer, what)


class OpenIdProvider(OAuth2Provider):
    """An OpenID Connect issuer (``issuer_url``) found through its discovery document."""

    default_scopes = ("openid",)
    fixed_issuer = ""  # the issuer of types that know theirs (upstream overrides issuer_url with it)
    verifies_app_tokens = (
        False  # whether verify_id_token takes an app's id_token (upstream's IDTokenVerifier)
    )

    def __init__(self, config: OidcProvider, http: httpx.AsyncClient, redirect_uri: str) -> None:
        super().__init__(config, http, redirect_uri)
        self._discovery: tuple[float, dict[str, Any]] | None = None
        self._keys: KeySet | None = None
        self._lock = asyncio.Lock()

    def issuer(self) -> str:
        """The issuer whose discovery document and keys are used: the type's own, else ``issuer_url``."""
        return self.fixed_issuer or self.config.issuer_url

    def audiences(self) -> list[str]:
        """Who id_tokens may be issued to: the client, plus ``additional_id_token_audiences``."""
        return [self.config.client_id, *self.config.additional_id_token_audiences]

    def authorization_parameters(self, *, forced: bool) -> dict[str, str]:
        """``prompt=login`` on a refresh and the configured ``requested_claims``, as upstream."""
        extra: dict[str, str] = {}
        if forced:
            extra["prompt"] = "login"
        if self.config.requested_claims:
            extra["claims"] = orjson.dumps(self.config.requested_claims).decode()
        return extra

    async def discovery(self) -> dict[str, Any]:
        """The issuer's ``/.well-known/openid-configuration`` (kept for an hour)."""
        cached = self._discovery
        if cached is not None and time.monotonic() - cached[0] < _DISCOVERY_TTL:
            return cached[1]
        async with self._lock:
            issuer = self.issuer().rstrip("/")
            url = f"{issuer}/.well-known/openid-configuration"
            try:
                answer = await self.request("GET", url, headers={"Accept": "application/json"})
            except ProviderError as unreachable:
                raise ProviderError(
                    f"Unable to initialize OpenID Connect Provider: {unreachable.reason}", "misconfiguration"
                ) from None
            if answer.status_code != 200:
                raise ProviderError(
                    f"Unable to initialize OpenID Connect Provider: {answer.status_code} "
                    f"{answer.reason_phrase}: {answer.text[:200]}",
                    "misconfiguration",
                )
            document = json_object(answer, "discovery document")
            if not self.accepts_issuer(str(document.get("issuer", ""))):
                raise ProviderError(
                    "Unable to initialize OpenID Connect Provider: oidc: issuer did not match the issuer "
                    f'returned by provider, expected "{self.issuer()}" got "{document.get("issuer")}"',
                    "misconfiguration",
                )
            self._discovery = (time.monotonic(), document)
            return document

    def accepts_issuer(self, issuer: str) -> bool:
        """Whether an id_token or discovery document from ``issuer`` is this provider's."""
        return issuer.rstrip("/") == self.issuer().rstrip("/")

    async def endpoints(self) -> Endpoints:
        """The discovered endpoints, unless ``auth_url`` and ``token_url`` are set."""
        if self.config.auth_url and self.config.token_url:
            return Endpoints(self.config.auth_url, self.config.token_url)
        document = await self.discovery()
        authorization, token = document.get("authorization_endpoint"), document.get("token_endpoint")
        if not isinstance(authorization, str) or not isinstance(token, str):
            raise ProviderError(
                "The discovery document names no authorization_endpoint or token_endpoint", "misconfiguration"
            )
        return Endpoints(authorization, token)

    async def supports_pkce(self) -> bool:
        """Whether discovery lists S256 among ``code_challenge_methods_supported`` (no issuer: no PKCE)."""
        if not self.issuer():
            return False
        methods = (await self.discovery()).get("code_challenge_methods_supported") or []
        return isinstance(methods, list) and "S256" in methods

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """From the id_token (``claims_source: id_token``) or the userinfo endpoint, with the same ``sub``."""
        if not tokens.id_token:
            raise ProviderError(ID_TOKEN_MISSING)
        from_token = await self.decode_id_token(tokens.id_token, nonce=nonce)
        if self.config.claims_source == "id_token":
            return from_token
        endpoint = (await self.discovery()).get("userinfo_endpoint")
        if not isinstance(endpoint, str):
            raise ProviderError("The provider has no userinfo endpoint", "misconfiguration")
        document = await self.get_json(endpoint, tokens.access_token, "userinfo")
        if not isinstance(document, dict):
            raise ProviderError("The provider's userinfo answer is not a JSON object", "upstream")
        claims = Claims.from_mapping(document)
        if claims.sub != from_token.sub:
            raise ProviderError("sub (Subject) claim mismatch between ID token and UserInfo endpoint")
        claims.iss = claims.iss or from_token.iss
        return claims

    async def verify_id_token(self, id_token: str, *, nonce: str | None) -> Claims:
        """An app's id_token: verified, and its nonce compared with the one the app submitted, as upstream."""
        if not self.verifies_app_tokens:
            return await super().verify_id_token(id_token, nonce=nonce)
        try:
            claims = await self.decode_app_token(id_token)
        except ProviderError as exc:
            raise ProviderError(f"Could not verify id_token: {exc.reason}", "forbidden") from None
        if not claims.nonce:
            if not self.nonce_optional(claims):
                raise ProviderError(
                    "No nonce was included in the id_token but is required by the provider", "upstream"
                )
        elif not nonce:
            raise ProviderError("No nonce was provided but is required by the provider", "upstream")
        elif nonce != claims.nonce:
            raise ProviderError("The supplied nonce does not match the nonce from the id_token", "upstream")
        return claims

    async def decode_app_token(self, id_token: str) -> Claims:
        """The verified claims of an app's token (netID exchanges a FedCM token for an id_token first)."""
        return await self.decode_id_token(id_token, nonce=None)

    def nonce_optional(self, claims: Claims) -> bool:
        """Whether an id_token without a nonce is accepted (some Apple devices send none)."""
        return False

    async def decode_id_token(self, id_token: str, *, nonce: str | None) -> Claims:
        """Verify the signature against the issuer's keys, then ``iss``, ``aud``, ``exp`` and ``nonce``."""
        try:
            token = await self._verified(id_token)
        except JoseError as exc:
            raise ProviderError(f"oidc: failed to verify signature: {exc.description or exc.error}") from None
        raw = token.claims
        audience = raw.get("aud")
        audiences = (
            [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
        )
        if not self.accepts_issuer(str(raw.get("iss", ""))):
            raise ProviderError(
                "oidc: id token issued by a different provider, "
                f'expected "{self.issuer()}" got "{raw.get("iss")}"'
            )
        if not any(allowed in audiences for allowed in self.audiences()):
            raise ProviderError(
                f'oidc: expected audience "{self.config.client_id}" got {orjson.dumps(audiences).decode()}'
            )
        expires = raw.get("exp")
        if not isinstance(expires, (int, float)) or expires < time.time() - 30:
            raise ProviderError("oidc: token is expired")
        if nonce is not None and raw.get("nonce") != nonce:
            raise ProviderError("The nonce of the id_token does not match the one sent with the request.")
        claims = Claims.from_mapping(raw)
        if not claims.sub:
            raise ProviderError("The id_token has no subject (sub).")
        return claims

    async def _verified(self, id_token: str) -> jwt.Token:
        """The decoded token; the key set is fetched again once when no known key verifies it."""
        keys = self._keys or await self._fetch_keys()
        try:
            return jwt.decode(id_token, keys, algorithms=_ALGORITHMS)
        except JoseError:
            keys = await self._fetch_keys()
            return jwt.decode(id_token, keys, algorithms=_ALGORITHMS)

    async def _fetch_keys(self) -> KeySet:
        url = (await self.discovery()).get("jwks_uri")
        if not isinstance(url, str):
            raise ProviderError("The discovery document names no jwks_uri", "misconfiguration")
        answer = await self.request("GET", url, headers={"Accept": "application/json"})
        if answer.status_code != 200:
            raise ProviderError(f"Unable to fetch the provider's keys: HTTP {answer.status_code}", "upstream")
        try:
            self._keys = KeySet.import_key_set(json_object(answer, "key set"))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError) as exc:
            raise ProviderError(f"The provider's key set is unusable: {exc}", "upstream") from None
        return self._keys


_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"]


def json_document(answer: httpx.Response, what: str) -> Any:
    """The answer's JSON (any shape); anything else is an upstream :class:`ProviderError`."""
    try:
        return orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        raise ProviderError(f"The provider's {what} answer is not JSON", "upstream") from None


def json_object(answer: httpx.Response, what: str) -> dict[str, Any]:
    """The answer as a JSON object; anything else is an upstream :class:`ProviderError`."""
    try:
        document = orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        raise ProviderError(
            f"The provider's {what} is not JSON (HTTP {answer.status_code})", "upstream"
        ) from None
    if not isinstance(document, dict):
        raise ProviderError(f"The provider's {what} is not a JSON object", "upstream")
    return document


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""
