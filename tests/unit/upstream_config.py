"""Upstream Ory Kratos's view of a config: its config schema, and its environment overrides.

Upstream (ory/x configx) merges environment variables over the config files before validating: a
variable names a schema path (`SERVE_PUBLIC_BASE_URL` -> `serve.public.base_url`, with `_` and `.` treated
alike) and its value is cast by the type the schema gives that path (lists and objects are JSON).
Variables that name no schema path are ignored. `UpstreamSchema` does the same with the copies of
upstream's schemas in `data/upstream/`.
"""

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, ValidationError
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing._core import Resolver
from referencing.jsonschema import DRAFT7

DATA = Path(__file__).resolve().parent / "data" / "upstream"
TRACING_SCHEMA_ID = "ory://tracing-config"
# Formats upstream's schemas use on what the charm renders: they must be checked, not skipped.
CHECKED_FORMATS = ("email", "uri", "uri-reference")
_MAX_DEPTH = 24  # the schema's `$ref`s nest well below this; it only stops a cycle


def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def _json_type(node: Mapping[str, Any]) -> str | None:
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _cast(kind: str, raw: str) -> Any:
    """Cast an environment value as upstream does for a path of JSON type `kind`."""
    if kind == "boolean":
        return raw.strip().lower() in ("1", "t", "true")
    if kind == "integer":
        return int(raw)
    if kind == "number":
        return float(raw)
    if kind in ("array", "object"):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return [part.strip() for part in raw.split(",")] if kind == "array" else None
    return raw


def _put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Write `value` at `path` in `data`, in place, replacing whatever is not an object on the way."""
    node = data
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value


@dataclass(frozen=True)
class SchemaError:
    """One reason upstream refuses a config: where (a JSON path) and why."""

    json_path: str
    message: str

    def __str__(self) -> str:
        return f"{self.json_path}: {self.message}"


class UpstreamSchema:
    """Upstream v26.2.0's config schema, with ory://tracing-config resolved and formats checked."""

    def __init__(self) -> None:
        self.schema = _load("config.schema.json")
        tracing = DRAFT7.create_resource(_load("tracing-config.schema.json"))
        self.registry: Registry[Any] = Registry().with_resources(
            [(self.schema["$id"], DRAFT7.create_resource(self.schema)), (TRACING_SCHEMA_ID, tracing)]
        )
        Draft7Validator.check_schema(self.schema)
        self.validator = Draft7Validator(
            self.schema, registry=self.registry, format_checker=Draft7Validator.FORMAT_CHECKER
        )

    @cached_property
    def env_paths(self) -> dict[str, tuple[tuple[str, ...], str]]:
        """Every schema path with a type, by its environment name (lower case, `_` -> `.`)."""
        paths: dict[str, tuple[tuple[str, ...], str]] = {}
        resolver = self.registry.resolver(base_uri=self.schema["$id"])
        for path, kind in self._walk(self.schema, resolver, (), 0):
            paths.setdefault(".".join(path).replace("_", ".").lower(), (path, kind))
        return paths

    def _walk(
        self, node: Any, resolver: Resolver[Any], path: tuple[str, ...], depth: int
    ) -> Iterator[tuple[tuple[str, ...], str]]:
        if not isinstance(node, dict) or depth > _MAX_DEPTH:
            return
        if "$ref" in node:
            resolved = resolver.lookup(node["$ref"])
            yield from self._walk(resolved.contents, resolved.resolver, path, depth + 1)
        if path and (kind := _json_type(node)):
            yield path, kind
        for keyword in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(keyword, []):
                yield from self._walk(sub, resolver, path, depth + 1)
        for key, sub in (node.get("properties") or {}).items():
            yield from self._walk(sub, resolver, (*path, key), depth + 1)

    def with_environment(self, data: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
        """The config upstream validates: `data` with the variables of `env` that name a schema path."""
        merged = copy.deepcopy(dict(data))
        for name, raw in sorted(env.items()):
            if found := self.env_paths.get(name.lower().replace("_", ".")):
                path, kind = found
                _put(merged, path, _cast(kind, raw))
        return merged

    def errors(self, config: Mapping[str, Any]) -> list[SchemaError]:
        """Every reason upstream refuses `config`, the innermost one for `anyOf`/`oneOf` failures."""
        found = []
        for error in self.validator.iter_errors(config):
            cause: ValidationError = best_match(error.context) if error.context else error
            found.append(SchemaError(cause.json_path, cause.message))
        return sorted(found, key=str)
