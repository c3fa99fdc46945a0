"""The Jsonnet claims mapper (``mapper_url``): a provider's claims become the new identity's traits.

The snippet reads ``std.extVar('claims')`` and returns ``{identity: {traits, metadata_public?,
metadata_admin?, verified_addresses?}}``, as upstream. Snippets (``file://``, ``base64://``, ``http(s)://``)
are fetched once per URL and evaluated off the event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from kratos.http.urls import fetch_url
from kratos.selfservice.strategy.oidc.claims import Claims
from kratos.selfservice.strategy.oidc.provider import ProviderError


@dataclass(slots=True)
class MappedIdentity:
    """What the mapper made of the claims."""

    traits: dict[str, Any]
    metadata_public: dict[str, Any] | None = None
    metadata_admin: dict[str, Any] | None = None
    verified_addresses: list[tuple[str, str]] = field(default_factory=list)  # (via, value)


class ClaimsMapper:
    """Evaluates the mapper snippets of the configured providers."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self._snippets: dict[str, str] = {}

    async def snippet(self, url: str) -> str:
        """The Jsonnet source at ``url`` (kept after the first fetch)."""
        cached = self._snippets.get(url)
        if cached is None:
            try:
                cached = (await fetch_url(url, self.http)).decode()
            except (ValueError, UnicodeDecodeError) as exc:
                raise ProviderError(
                    f"Unable to fetch the OpenID Connect Jsonnet mapper {url}: {exc}", "misconfiguration"
                ) from None
            self._snippets[url] = cached
        return cached

    async def map(self, url: str, claims: Claims) -> MappedIdentity:
        """Run the mapper at ``url`` on ``claims``."""
        source = await self.snippet(url)
        encoded = orjson.dumps(claims.to_json()).decode()
        try:
            evaluated = await asyncio.to_thread(_evaluate, url, source, encoded)
        except RuntimeError as exc:
            raise ProviderError(
                f"OpenID Connect Jsonnet mapper failed: {str(exc).strip()}", "misconfiguration"
            ) from None
        return _mapped(orjson.loads(evaluated))


def _evaluate(name: str, source: str, claims: str) -> str:
    import _jsonnet

    return _jsonnet.evaluate_snippet(name, source, ext_codes={"claims": claims})


def _mapped(output: Any) -> MappedIdentity:
    """Read the mapper's output; a wrong shape is a misconfiguration, named as upstream names it."""
    identity = output.get("identity") if isinstance(output, dict) else None
    traits = identity.get("traits") if isinstance(identity, dict) else None
    if not isinstance(traits, dict):
        raise ProviderError(
            "OpenID Connect Jsonnet mapper did not return an object for key identity.traits. "
            "Please check your Jsonnet code!",
            "misconfiguration",
        )
    assert isinstance(identity, dict)
    mapped = MappedIdentity(traits=traits)
    for key in ("metadata_public", "metadata_admin"):
        value = identity.get(key)
        if value is not None and not isinstance(value, dict):
            raise ProviderError(
                f"OpenID Connect Jsonnet mapper did not return an object for key identity.{key}. "
                "Please check your Jsonnet code!",
                "misconfiguration",
            )
        setattr(mapped, key, value)
    addresses = identity.get("verified_addresses")
    if addresses is not None:
        if not isinstance(addresses, list):
            raise ProviderError(
                "OpenID Connect Jsonnet mapper did not return an array for key "
                "identity.verified_addresses. Please check your Jsonnet code!"
            )
        for entry in addresses:
            if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
                raise ProviderError(
                    "Failed to unmarshal value for key identity.verified_addresses. "
                    "Please check your Jsonnet code!"
                )
            via = str(entry.get("via", "email"))
            value = entry["value"].strip().lower() if via == "email" else entry["value"]
            mapped.verified_addresses.append((via, value))
    return mapped
