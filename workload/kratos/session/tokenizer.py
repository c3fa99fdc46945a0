"""``/sessions/whoami?tokenize_as=<template>``: the session as a JWT signed with a key of the template's JWKS.

Claims as upstream's: ``jti, iss, exp, sid, nbf, iat, sub`` (``sub`` the identity's id or external id),
then the claims mapper's ``claims`` (Jsonnet, given ``std.extVar('session')`` and
``std.extVar('claims')``) on top, but never ``sub``. Key sets and mappers are kept an hour once fetched.
Jsonnet and signing run in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from kratos.config.sections import TokenizerTemplate as Template
from kratos.session.errors import TokenizeFailed

Fetch = Callable[[str], Awaitable[bytes]]
"""Reads a ``file://``, ``base64://`` or ``http(s)://`` URL; raises ``ValueError`` with the reason."""

CACHE_SECONDS = 3600.0
ALGORITHMS = frozenset(
    {
        *(f"{family}{bits}" for family in ("HS", "RS", "PS", "ES") for bits in (256, 384, 512)),
        "EdDSA",
    }
)


@dataclass(frozen=True, slots=True)
class _SigningKey:
    key: Any  # a joserfc key
    algorithm: str
    key_id: str | None


class Tokenizer:
    """Signs sessions per template; ``issuer`` is the public base URL (claim ``iss``)."""

    def __init__(self, templates: Mapping[str, Template], issuer: str, fetch: Fetch) -> None:
        self.templates = dict(templates)
        self.issuer = issuer
        self.fetch = fetch
        self._keys: dict[str, tuple[float, _SigningKey]] = {}
        self._mappers: dict[str, tuple[float, str]] = {}

    async def tokenize(self, name: str, session: Mapping[str, Any]) -> str:
        """The JWT of ``session`` (its public wire form) per template ``name``; :class:`TokenizeFailed`."""
        template = self.templates.get(name)
        if template is None:
            raise TokenizeFailed(f'Unable to find tokenizer template "{name}".')
        key = await self._key(template.jwks_url)
        mapper = await self._mapper(template.claims_mapper_url) if template.claims_mapper_url else None
        return await asyncio.to_thread(_sign, template, key, self.issuer, session, mapper)

    async def _key(self, url: str) -> _SigningKey:
        cached = self._keys.get(url)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        raw = await self._read(url, "JSON Web Key Set")
        key = _first_key(raw)
        self._keys[url] = (time.monotonic() + CACHE_SECONDS, key)
        return key

    async def _mapper(self, url: str) -> tuple[str, str]:
        cached = self._mappers.get(url)
        if cached and cached[0] > time.monotonic():
            return url, cached[1]
        raw = await self._read(url, "claims mapper")
        try:
            source = raw.decode()
        except UnicodeDecodeError:
            raise TokenizeFailed("The tokenizer claims mapper is not UTF-8.", client_error=False) from None
        self._mappers[url] = (time.monotonic() + CACHE_SECONDS, source)
        return url, source

    async def _read(self, url: str, what: str) -> bytes:
        try:
            return await self.fetch(url)
        except ValueError as exc:
            reason = f"Unable to fetch the tokenizer {what}."
            raise TokenizeFailed(reason, client_error=False, debug=f"{url}: {exc}") from None


def _first_key(raw: bytes) -> _SigningKey:
    from joserfc.errors import JoseError
    from joserfc.jwk import import_key

    try:
        document = orjson.loads(raw)
        keys = document.get("keys") if isinstance(document, dict) else None
    except orjson.JSONDecodeError:
        keys = None
    if not keys or not isinstance(keys[0], dict):
        raise TokenizeFailed("Could not find key a suitable key for tokenization in the JWKS url.")
    jwk: dict[str, Any] = keys[0]
    algorithm = jwk.get("alg")
    if algorithm not in ALGORITHMS:
        raise TokenizeFailed(
            f'The JSON Web Key must include a valid "alg" parameter but "{algorithm or ""}" was given.'
        )
    try:
        key = import_key(jwk)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise TokenizeFailed("Unable to decode the given private key.", debug=str(exc)) from None
    return _SigningKey(key, algorithm, jwk.get("kid"))


def _subject(session: Mapping[str, Any], source: str) -> str:
    identity = session["identity"]
    if source == "external_id":
        external = identity.get("external_id")
        if not external:
            raise TokenizeFailed(
                "The session's identity does not have an external ID set, "
                "but it is required for the subject claim."
            )
        return str(external)
    return str(identity["id"])


def _dumps(value: Any) -> str:
    return orjson.dumps(
        value, default=str, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS
    ).decode()


def _sign(
    template: Template,
    key: _SigningKey,
    issuer: str,
    session: Mapping[str, Any],
    mapper: tuple[str, str] | None,
) -> str:
    """Build the claims (running the mapper) and sign them: CPU work, for a thread."""
    from joserfc import jwt
    from joserfc.errors import JoseError

    now = time.time()
    claims: dict[str, Any] = {
        "jti": str(uuid.uuid4()),
        "iss": issuer,
        "exp": int(now + template.ttl.total_seconds()),
        "sid": str(session["id"]),
        "nbf": int(now),
        "iat": int(now),
        "sub": _subject(session, template.subject_source),
    }
    if mapper is not None:
        claims.update(_mapped_claims(*mapper, _dumps(session), _dumps(claims)))
        claims["sub"] = _subject(session, template.subject_source)
    header: dict[str, Any] = {"alg": key.algorithm}
    if key.key_id:
        header["kid"] = key.key_id
    try:
        return jwt.encode(header, claims, key.key, algorithms=[key.algorithm])
    except (JoseError, ValueError, TypeError) as exc:
        raise TokenizeFailed("Unable to sign JSON Web Token.", debug=str(exc)) from None


def _refuse_import(_base: str, path: str) -> tuple[str, bytes]:
    raise RuntimeError(f"imports are not allowed ({path})")


def _mapped_claims(name: str, source: str, session: str, claims: str) -> dict[str, Any]:
    import _jsonnet

    try:
        evaluated = _jsonnet.evaluate_snippet(
            name, source, ext_codes={"session": session, "claims": claims}, import_callback=_refuse_import
        )
    except RuntimeError as exc:
        raise TokenizeFailed("Unable to execute tokenizer JsonNet.", debug=str(exc)) from None
    mapped = orjson.loads(evaluated)
    if not isinstance(mapped, dict) or not isinstance(mapped.get("claims"), dict):
        raise TokenizeFailed("Expected tokenizer JsonNet to return a claims object but it did not.")
    return mapped["claims"]
