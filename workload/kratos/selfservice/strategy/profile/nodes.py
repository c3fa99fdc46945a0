"""Form inputs for an identity schema's traits, in schema order, as upstream renders them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kratos.http.body import FormSubmission
from kratos.schema import IdentitySchema
from kratos.ui.node import Node, input_node
from kratos.ui.text import message

_FORMAT_TYPES = {"email": "email", "date": "date", "date-time": "datetime-local", "uri": "url", "tel": "tel"}
_AUTOCOMPLETE = {"email": "email", "tel": "tel"}


def trait_fields(schema: IdentitySchema) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """``(dotted name, sub-schema, required)`` of every leaf trait, in document order."""
    traits = schema.raw.get("properties", {}).get("traits", {})
    yield from _walk(traits, "traits", True)


def _walk(node: dict[str, Any], name: str, required: bool) -> Iterator[tuple[str, dict[str, Any], bool]]:
    if node.get("type") == "object" and "properties" in node:
        wanted = set(node.get("required") or ())
        for key, sub in node["properties"].items():
            if isinstance(sub, dict):
                yield from _walk(sub, f"{name}.{key}", required and key in wanted)
        return
    yield name, node, required


def _input_type(field: dict[str, Any]) -> str:
    kind = field.get("type")
    if kind in ("number", "integer"):
        return "number"
    if kind == "boolean":
        return "checkbox"
    return _FORMAT_TYPES.get(field.get("format", ""), "text")


def trait_nodes(schema: IdentitySchema, group: str, traits: Any = None) -> list[Node]:
    """One input per trait, filled with ``traits`` where known."""
    nodes = []
    for name, field, required in trait_fields(schema):
        value = lookup(traits, name.split(".")[1:])
        extra: dict[str, Any] = {}
        if isinstance(field.get("pattern"), str):
            extra["pattern"] = field["pattern"]
        if isinstance(field.get("maxLength"), int):
            extra["maxlength"] = field["maxLength"]
        title = field.get("title")
        nodes.append(
            input_node(
                name,
                group,
                _input_type(field),
                value=value,
                required=required,
                autocomplete=_AUTOCOMPLETE.get(field.get("format", "")),
                label=message(1070002, text=title, name=name, title=title) if title else None,
                **extra,
            )
        )
    return nodes


def identifier_label(schema: IdentitySchema) -> Any:
    """The login identifier's label: the title of the schema's only identifier field, else "ID".

    As upstream, a field counts when any method names it (password, code, webauthn identifiers, the
    passkey display name, the TOTP account name), whether or not that method is enabled.
    """
    identifiers = [(name, field) for name, field, _ in trait_fields(schema) if _names_identifier(field)]
    if len(identifiers) == 1 and identifiers[0][1].get("title"):
        name, field = identifiers[0]
        return message(1070002, text=field["title"], name=name, title=field["title"])
    return message(1070004)


def _names_identifier(field: dict[str, Any]) -> bool:
    credentials = field.get("ory.sh/kratos", {}).get("credentials", {})
    return any(credentials.get(method, {}).get(key) for method, key in _IDENTIFIER_KEYS)


_IDENTIFIER_KEYS = (
    ("password", "identifier"),
    ("webauthn", "identifier"),
    ("passkey", "display_name"),
    ("totp", "account_name"),
    ("code", "identifier"),
)


def lookup(traits: Any, path: list[str]) -> Any:
    """The value at ``path`` inside ``traits`` (None when absent)."""
    for key in path:
        if not isinstance(traits, dict):
            return None
        traits = traits.get(key)
    return traits


def coerce_traits(schema: IdentitySchema, traits: Any, body: Any) -> Any:
    """Traits as a form submitted them, made what the schema asks for (JSON bodies stay as sent).

    Form fields arrive as text: empty ones are left out (an empty optional number or boolean too; a
    required one becomes 0 or false), numbers and booleans are converted, as upstream's form decoder does.
    """
    if not isinstance(body, FormSubmission) or not isinstance(traits, dict):
        return traits
    for name, field, required in trait_fields(schema):
        path = name.split(".")[1:]
        parent = lookup(traits, path[:-1]) if len(path) > 1 else traits
        if not isinstance(parent, dict) or not isinstance(parent.get(path[-1]), str):
            continue
        key, raw = path[-1], parent[path[-1]]
        kind = field.get("type")
        if raw == "" and (kind not in ("integer", "number", "boolean") or not required):
            del parent[key]
            continue
        try:
            if kind == "integer":
                parent[key] = int(raw or 0)
            elif kind == "number":
                parent[key] = float(raw or 0)
            elif kind == "boolean":
                parent[key] = raw.lower() in ("true", "on", "1")
        except ValueError:
            continue
    return traits
