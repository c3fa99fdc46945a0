"""Load identity schemas from ``file://``, ``base64://`` and ``http(s)://`` URLs and check them."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT7

from kratos.http.urls import fetch_url
from kratos.schema.errors import SchemaLoadError
from kratos.schema.formats import FORMAT_CHECKER
from kratos.schema.gofmt import escape_token, pointer
from kratos.schema.model import IdentitySchema, SchemaRegistry

if TYPE_CHECKING:  # httpx is loaded only when a schema is fetched over HTTP
    import httpx


@cache
def _meta_validator() -> Draft7Validator:
    """Build the validator of identity schemas: draft-07 plus the ``ory.sh/kratos`` extension."""
    files = resources.files("kratos.schema")
    meta = json.loads(files.joinpath("identity_meta.schema.json").read_text())
    extension = json.loads(files.joinpath("identity_extension.schema.json").read_text())
    registry: Registry[Any] = Registry().with_resources(
        [(s["$id"], Resource.from_contents(s, default_specification=DRAFT7)) for s in (meta, extension)]
    )
    return Draft7Validator(meta, registry=registry, format_checker=FORMAT_CHECKER)


def _refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` value in a schema document."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _check(document: Any) -> None:
    """Raise ``ValueError`` unless ``document`` is a well-formed identity schema."""
    if not isinstance(document, dict):
        raise ValueError("the identity schema must be a JSON object")
    error = best_match(_meta_validator().iter_errors(document))
    if error is not None:
        where = pointer(tuple(escape_token(t) for t in error.absolute_path))
        raise ValueError(f"not a valid identity schema: {where}: {error.message}")
    own_id = document.get("$id", "")
    for ref in _refs(document):
        base = ref.partition("#")[0]
        if base and base != own_id:
            raise ValueError(f"remote $ref {ref!r} is not supported")
    unresolvable = [ref for ref in _refs(document) if not _resolves(document, ref)]
    if unresolvable:
        raise ValueError(f"unresolvable $ref {unresolvable[0]!r}")


def _resolves(document: dict[str, Any], ref: str) -> bool:
    base = document.get("$id") or "urn:kratos:identity-schema"
    resolver = Registry().with_resource(base, DRAFT7.create_resource(document)).resolver(base_uri=base)
    try:
        resolver.lookup(ref)
    except Unresolvable:
        return False
    return True


def _parse(raw_bytes: bytes) -> Any:
    try:
        document = json.loads(raw_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"invalid JSON: {exc}") from None
    _check(document)
    return document


def parse_schema(schema_id: str, raw_bytes: bytes, url: str = "") -> IdentitySchema:
    """An identity schema from its JSON bytes, as a server serves it; raises :class:`SchemaLoadError`."""
    try:
        return IdentitySchema(schema_id, url, _parse(raw_bytes), raw_bytes)
    except ValueError as exc:
        raise SchemaLoadError(f'identity schema "{schema_id}": {exc}') from None


async def load_schema(
    index: int, schema_id: str, url: str, http: httpx.AsyncClient | None = None
) -> IdentitySchema:
    """Load and check ``identity.schemas[index]``; raises :class:`SchemaLoadError`."""
    try:
        raw_bytes = await fetch_url(url, http)
        document = _parse(raw_bytes)
    except ValueError as exc:
        raise SchemaLoadError(f'identity.schemas[{index}] (id "{schema_id}"): {url}: {exc}') from None
    return IdentitySchema(schema_id, url, document, raw_bytes)


async def load_schemas(
    entries: Sequence[tuple[str, str]], default_id: str, *, http: httpx.AsyncClient | None = None
) -> SchemaRegistry:
    """Load every ``(id, url)`` of ``identity.schemas``; ``default_id`` must be one of them."""
    schemas: list[IdentitySchema] = []
    for index, (schema_id, url) in enumerate(entries):
        if any(s.id == schema_id for s in schemas):
            raise SchemaLoadError(f'identity.schemas[{index}] (id "{schema_id}"): duplicate schema id')
        schemas.append(await load_schema(index, schema_id, url, http))
    if not any(s.id == default_id for s in schemas):
        known = ", ".join(f'"{s.id}"' for s in schemas) or "none"
        raise SchemaLoadError(
            f'identity.default_schema_id "{default_id}" is not a configured schema (known: {known})'
        )
    return SchemaRegistry(schemas, default_id)
