"""Pieces the provider types share: granted-scope checks, typed reads of API answers, claims documents."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from kratos.selfservice.strategy.oidc.claims import Claims
from kratos.selfservice.strategy.oidc.provider import (
    Endpoints,
    OAuth2Provider,
    ProviderError,
    TokenSet,
)

SCOPE_MISSING = (
    "Unable to finish because one or more permissions were not granted. "
    "Please retry and accept all permissions."
)


class FixedEndpoints(OAuth2Provider):
    """A type whose authorization and token endpoints are fixed (class attributes, so tests can move them)."""

    authorize_url = ""
    token_url = ""

    async def endpoints(self) -> Endpoints:
        """The type's own endpoints (``auth_url``/``token_url`` are not read, as upstream)."""
        return Endpoints(self.authorize_url, self.token_url)


def granted_scopes(tokens: TokenSet, separator: str) -> set[str]:
    """The scopes the token response says were granted (GitHub and Slack list them with commas)."""
    granted = tokens.raw.get("scope")
    return set(granted.split(separator)) if isinstance(granted, str) and granted else set()


def require_scopes(granted: set[str], wanted: Iterable[str]) -> None:
    """Refuse when a configured scope was not granted, as upstream."""
    if any(scope not in granted for scope in wanted):
        raise ProviderError(SCOPE_MISSING)


def text(document: Any, *path: str) -> str:
    """The string at ``path`` in nested JSON objects, or ``""`` (numbers as their digits)."""
    value = document
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, (int, float, str)):
        return str(value)
    return ""


def flag(document: Any, key: str) -> bool:
    """A JSON boolean member (anything else is false)."""
    return isinstance(document, dict) and document.get(key) is True


def unix_time(value: Any, what: str = "updated_at") -> int:
    """An RFC 3339 time (``2011-01-26T19:01:12Z``) as Unix seconds; 0 when absent."""
    if value is None or value == "":
        return 0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    try:
        return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp())
    except ValueError:
        raise ProviderError(f"bad time format in {what}", "upstream") from None


def decoded_claims(document: dict[str, Any]) -> Claims:
    """A userinfo document read into the claims fields only, as upstream decodes it (no ``raw_claims``)."""
    claims = Claims.from_mapping({**document, "updated_at": unix_time(document.get("updated_at"))})
    claims.raw_claims = {}
    return claims
