"""Loaded identity schemas: traits validation and extension data, and the registry of all schemas."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any

from jsonschema import Draft7Validator, validators
from jsonschema.protocols import Validator

from kratos.schema.errors import FieldError, TraitsValidationError, Violation
from kratos.schema.extension import TraitsExtension, collecting, kratos_keyword, stop_collecting
from kratos.schema.formats import FORMAT_CHECKER
from kratos.schema.translate import EXTENSION, Translator, leaves, relevant
from kratos.schema.urls import decode_schema_id

IdentityValidator = validators.extend(Draft7Validator, {EXTENSION: kratos_keyword})


class IdentitySchema:
    """One configured identity schema."""

    def __init__(self, schema_id: str, url: str, raw: dict[str, Any], raw_bytes: bytes) -> None:
        self.id = schema_id
        self.url = url
        self.raw = raw
        self.raw_bytes = raw_bytes

    def __repr__(self) -> str:
        return f"IdentitySchema(id={self.id!r}, url={self.url!r})"

    @cached_property
    def validator(self) -> Validator:
        """The compiled validator for identity documents (``{"traits": ...}``)."""
        return IdentityValidator(self.raw, format_checker=FORMAT_CHECKER)

    def _check(self, traits: Any) -> TraitsExtension:
        found, token = collecting()
        try:
            errors = relevant(list(leaves(self.validator.iter_errors({"traits": traits}))))
        finally:
            stop_collecting(token)
        if errors:
            translator = Translator(self.validator)
            violations: list[Violation] = []
            fields: list[FieldError] = []
            for error in errors:
                violation, messages = translator.convert(error)
                violations.append(violation)
                fields.extend(m for m in messages if m not in fields)
            raise TraitsValidationError(fields, violations)
        return found

    def validate_traits(self, traits: Any) -> None:
        """Check ``traits`` against the schema and its extension; raises :class:`TraitsValidationError`."""
        self._check(traits)

    def extract(self, traits: Any) -> TraitsExtension:
        """Return identifiers and addresses in ``traits``; raises :class:`TraitsValidationError`."""
        return self._check(traits)

    def keys_in_order(self) -> list[str]:
        """Dotted names of the schema's leaf fields in document order (upstream ``GetKeysInOrder``)."""
        return list(_keys(self.raw, []))


def _keys(schema: Any, parents: list[str]) -> Iterator[str]:
    if isinstance(schema, dict) and schema.get("type") == "object":
        for key, sub in schema.get("properties", {}).items():
            yield from _keys(sub, [*parents, key.replace(".", "\\.")])
    else:
        yield ".".join(parents)


class SchemaRegistry:
    """All configured identity schemas, in configuration order, and the default one."""

    def __init__(self, schemas: list[IdentitySchema], default_id: str) -> None:
        self._schemas = list(schemas)
        self._by_id = {s.id: s for s in schemas}
        self._default = self._by_id[default_id]

    @property
    def default(self) -> IdentitySchema:
        """The schema of ``identity.default_schema_id``."""
        return self._default

    def get(self, schema_id: str) -> IdentitySchema | None:
        """Return the schema with this id (an empty id means the default schema)."""
        return self._by_id.get(schema_id) if schema_id else self._default

    def all(self) -> list[IdentitySchema]:
        """Every schema, in configuration order."""
        return list(self._schemas)

    def find(self, segment: str) -> IdentitySchema | None:
        """Return the schema a ``/schemas/{id}`` segment names: the raw id, else its base64url form."""
        return self._by_id.get(segment) or self._by_id.get(decode_schema_id(segment))
