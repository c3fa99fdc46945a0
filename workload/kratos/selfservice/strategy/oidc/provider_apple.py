"""``apple``: Sign in with Apple.

The client secret is a short-lived ES256 JWT signed with the team's key; asking for ``email`` or ``name``
makes Apple post the callback (``response_mode=form_post``), and on the first sign-in only that post carries
the user's name in its ``user`` field.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt
from joserfc.jwk import ECKey

from kratos.selfservice.strategy.oidc.claims import Claims
from kratos.selfservice.strategy.oidc.provider import Endpoints, OpenIdProvider, ProviderError, TokenSet

APPLE_ISSUER = "https://appleid.apple.com"
CLIENT_SECRET_LIFETIME = 300  # seconds, as upstream


class AppleProvider(OpenIdProvider):
    """Apple's OpenID Connect with a signed client secret sent in the token request's body."""

    fixed_issuer = APPLE_ISSUER
    authorize_url = "https://appleid.apple.com/auth/authorize"
    token_url = "https://appleid.apple.com/auth/token"
    client_auth: Literal["basic", "post"] = "post"
    verifies_app_tokens = True

    async def endpoints(self) -> Endpoints:
        """``/auth/authorize`` and ``/auth/token``."""
        return Endpoints(self.authorize_url, self.token_url)

    def authorization_parameters(self, *, forced: bool) -> dict[str, str]:
        """The OpenID parameters, and ``response_mode=form_post`` when ``email`` or ``name`` is asked for."""
        extra = super().authorization_parameters(forced=forced)
        if any(scope in ("email", "name") for scope in self.config.scope):
            extra["response_mode"] = "form_post"
        return extra

    def client_secret(self) -> str:
        """A JWT from the team to Apple about the client, signed with ``apple_private_key`` (ES256)."""
        now = int(time.time())
        claims = {
            "iss": self.config.apple_team_id,
            "sub": self.config.client_id,
            "aud": [APPLE_ISSUER],
            "iat": now,
            "exp": now + CLIENT_SECRET_LIFETIME,
        }
        header = {"alg": "ES256", "kid": self.config.apple_private_key_id}
        return jwt.encode(header, claims, _signing_key(self.config.apple_private_key), algorithms=["ES256"])

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """The id_token's claims, completed with the name Apple posts once (``user``, not verified)."""
        claims = await super().claims(tokens, nonce=nonce)
        name = _posted_name((query or {}).get("user", ""))
        first, last = name.get("firstName"), name.get("lastName")
        if isinstance(first, str) and not claims.given_name:
            claims.given_name = first
        if isinstance(last, str):
            claims.last_name = claims.last_name or last
            claims.family_name = claims.family_name or last
        return claims

    def nonce_optional(self, claims: Claims) -> bool:
        """Apple's ``nonce_supported`` claim, as upstream reads it."""
        return claims.nonce_supported


def _signing_key(pem: str) -> ECKey:
    """The PKCS #8 EC key of ``apple_private_key``; a clear misconfiguration error otherwise."""
    if "-----BEGIN PRIVATE KEY-----" not in pem:
        raise ProviderError(
            "apple_private_key: failed to decode PEM block containing private key", "misconfiguration"
        )
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ProviderError(
            f"apple_private_key: Private key decoding failed: {exc}", "misconfiguration"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ProviderError("apple_private_key: Private key is not ecdsa key", "misconfiguration")
    return ECKey.import_key(key)  # type: ignore[arg-type]


def _posted_name(user: str) -> dict[str, Any]:
    """``{"name": {"firstName", "lastName"}}`` of Apple's ``user`` field (anything unreadable: nothing)."""
    try:
        document = orjson.loads(user) if user else None
    except orjson.JSONDecodeError:
        return {}
    name = document.get("name") if isinstance(document, dict) else None
    return name if isinstance(name, dict) else {}
