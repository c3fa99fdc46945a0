"""Errors of the schema package: load failures and traits validation failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

from kratos.schema.gofmt import pointer
from kratos.ui.text import Message


class SchemaLoadError(Exception):
    """An identity schema that cannot be loaded or is not a valid identity schema."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One UI message for one field; ``pointer`` is a JSON pointer like ``#/traits/email``."""

    pointer: str
    message: Message

    @property
    def name(self) -> str:
        """The field's node name in dot notation (``traits.email``); empty for the whole form."""
        tokens = self.pointer.removeprefix("#").removeprefix("/")
        if not tokens:
            return ""
        return ".".join(unquote(t).replace("~1", "/").replace("~0", "~") for t in tokens.split("/"))


@dataclass(frozen=True, slots=True)
class Violation:
    """One failed check as upstream's validator reports it (escaped pointer tokens)."""

    instance: tuple[str, ...]
    schema: tuple[str, ...]
    message: str

    def line(self) -> str:
        """``I[<instance>] S[<schema>] <message>``."""
        return f"I[{pointer(self.instance)}] S[{pointer(self.schema)}] {self.message}"


@dataclass(frozen=True, slots=True)
class _Group:
    """Several failures under one instance location (upstream's ``validation failed``)."""

    instance: tuple[str, ...]
    schema: tuple[str, ...]
    children: list[_Group | Violation] = field(default_factory=list)

    def line(self) -> str:
        lines = [Violation(self.instance, self.schema, "validation failed").line()]
        for child in self.children:
            lines.extend("  " + text for text in child.line().split("\n"))
        return "\n".join(lines)


_NAMED = ("properties", "patternProperties")
_DESCENDING = (*_NAMED, "items", "additionalProperties", "additionalItems")


def _schema_prefix(schema: tuple[str, ...], depth: int) -> tuple[str, ...]:
    """Cut a schema pointer after the tokens that descend ``depth`` instance levels."""
    consumed, i = 0, 0
    while consumed < depth and i < len(schema):
        keyword = schema[i]
        nxt = schema[i + 1] if i + 1 < len(schema) else None
        descends = nxt is not None and keyword in _DESCENDING
        i += 2 if descends and (keyword in _NAMED or str(nxt).isdigit()) else 1
        consumed += descends
    return schema[:i]


def _tree(violations: list[Violation], depth: int) -> _Group | Violation:
    items: list[_Group | Violation] = [v for v in violations if len(v.instance) == depth]
    children: dict[str, list[Violation]] = {}
    for v in violations:
        if len(v.instance) > depth:
            children.setdefault(v.instance[depth], []).append(v)
    items.extend(_tree(group, depth + 1) for group in children.values())
    if len(items) == 1:
        return items[0]
    first = violations[0]
    return _Group(first.instance[:depth], _schema_prefix(first.schema, depth), items)


class TraitsValidationError(Exception):
    """Traits that do not satisfy the identity schema.

    ``errors`` carries the UI messages per field; :meth:`reason` the one text the admin API returns.
    """

    def __init__(self, errors: list[FieldError], violations: list[Violation]) -> None:
        self.errors = errors
        self.violations = violations
        super().__init__(self.reason())

    def reason(self) -> str:
        """Upstream's rendering: ``I[#/traits/email] S[#/properties/traits/...] <message>``.

        Several failures nest under ``validation failed`` lines, two spaces per level.
        """
        if not self.violations:
            return "validation failed"
        return _tree(self.violations, 0).line()
