"""Turn ``jsonschema`` errors into upstream's validation messages and UI message ids.

Upstream validates with ``ory/jsonschema`` and maps each leaf error to a ``uiText`` by the last segment
of its schema pointer (``ui/container``'s ``translateValidationError``); this module reproduces both the
validator's message texts and that mapping.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

from jsonschema import ValidationError
from jsonschema.protocols import Validator

from kratos.schema.errors import FieldError, Violation
from kratos.schema.gofmt import escape_token, go_float, go_quote, go_sharp_v, go_type, json_equal, json_number
from kratos.ui.text import Message, message

EXTENSION = "ory.sh/kratos"
_FORMAT_MESSAGE = re.compile(r"\s*(\S+)\s+is\s+not\s+valid\s+(\S+)")

# Upstream checks keywords of one schema in this order; messages on one field follow it.
_ORDER = {
    keyword: rank
    for rank, keyword in enumerate(
        [
            *("type", "const", "enum", "format", "not", "allOf", "anyOf", "oneOf", "if", "then", "else"),
            *("minProperties", "maxProperties", "required", "additionalProperties", "dependencies"),
            *("minItems", "maxItems", "uniqueItems", "additionalItems", "contains"),
            *("minLength", "maxLength", "pattern"),
            *("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf"),
        ]
    )
}


def leaves(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    """Yield the leaf errors, replacing ``anyOf``/``oneOf`` failures by their branches' errors."""
    for error in errors:
        if error.validator in ("anyOf", "oneOf") and error.context:
            yield from leaves(error.context)
        else:
            yield error


def _under_failed_type(error: ValidationError, failed: list[tuple[tuple[Any, ...], tuple[Any, ...]]]) -> bool:
    """Tell whether ``error`` sits in a schema node whose ``type`` check failed (upstream stops there)."""
    path, schema = tuple(error.absolute_path), tuple(error.absolute_schema_path)
    return any(path[: len(p)] == p and schema[: len(s)] == s for p, s in failed)


def relevant(errors: list[ValidationError]) -> list[ValidationError]:
    """Drop what upstream never reports: checks of a node whose type is wrong, duplicate "required" errors."""
    failed = [
        (tuple(e.absolute_path), tuple(e.absolute_schema_path)[:-1]) for e in errors if e.validator == "type"
    ]
    kept: list[ValidationError] = []
    seen_required: set[tuple[Any, ...]] = set()
    for error in errors:
        if error.validator != "type" and _under_failed_type(error, failed):
            continue
        if error.validator == "required":
            key = (tuple(error.absolute_path), tuple(error.absolute_schema_path))
            if key in seen_required:
                continue
            seen_required.add(key)
        kept.append(error)
    return sorted(kept, key=_position(kept))


def _node(error: ValidationError) -> tuple[Any, ...]:
    """Give the path of the schema object the error comes from (without the keyword)."""
    path = tuple(error.absolute_schema_path)
    return path[: path.index(EXTENSION)] if EXTENSION in path else path[:-1]


def _position(errors: list[ValidationError]) -> Callable[[ValidationError], tuple[int, int, int]]:
    """Sort by field, then schema object (first appearance), then upstream's keyword order."""
    fields: dict[tuple[Any, ...], int] = {}
    nodes: dict[tuple[Any, ...], int] = {}
    for i, error in enumerate(errors):
        fields.setdefault(tuple(error.absolute_path), i)
        nodes.setdefault(_node(error), i)
    return lambda e: (
        fields[tuple(e.absolute_path)],
        nodes[_node(e)],
        _ORDER.get(str(e.validator), len(_ORDER)),
    )


def _schema_tokens(error: ValidationError) -> tuple[str, ...]:
    """Escape the schema pointer tokens, keeping an extension error's own Go pointer suffix verbatim."""
    tokens: list[str] = []
    raw = list(error.absolute_schema_path)
    if EXTENSION in raw:
        cut = raw.index(EXTENSION)
        return tuple([escape_token(t) for t in raw[:cut]] + [str(t) for t in raw[cut + 1 :]])
    tokens = [escape_token(t) for t in raw]
    return tuple(tokens)


def _required(name: str) -> Message:
    """4000002 for one missing property."""
    return message(4000002, f"Property {name} is missing.", property=name)


def format_message(text: str) -> Message:
    """Map a ``"<value>" is not valid "<format>"`` text to 4000040 (email), 4000041 (tel) or 4000001."""
    match = _FORMAT_MESSAGE.match(text)
    value = match.group(1) if match else (text.split() or [""])[0]
    kind = match.group(2).replace('"', "") if match else ""
    if len(value) < 3:
        return generic(text)
    if kind == "email":
        return message(4000040, value=value[1:-1])
    if kind == "tel":
        return message(4000041, value=value[1:-1])
    return generic(text)


def generic(text: str) -> Message:
    """Wrap the validator's own text as 4000001."""
    return message(4000001, text, reason=text)


class Translator:
    """Converts the errors of one validation run of ``validator``."""

    def __init__(self, validator: Validator) -> None:
        self._validator = validator

    def convert(self, error: ValidationError) -> tuple[Violation, list[FieldError]]:
        """Give upstream's violation text and the UI messages for one leaf error."""
        instance = tuple(escape_token(t) for t in error.absolute_path)
        schema = _schema_tokens(error)
        where = "/".join(["#", *instance])
        if EXTENSION in error.absolute_schema_path:
            text = error.message
            ui = format_message(text) if schema and schema[-1] == "format" else generic(text)
            return Violation(instance, schema, text), [FieldError(where, ui)]
        if error.validator == "required":
            present = cast(dict[str, Any], error.instance)
            missing = [p for p in cast(list[str], error.validator_value) if p not in present]
            text = "missing properties: " + ", ".join(go_quote(p) for p in missing)
            fields = [FieldError(f"{where}/{escape_token(p)}", _required(escape_token(p))) for p in missing]
            return Violation(instance, schema, text), fields
        text, ui = self._describe(error)
        return Violation(instance, schema, text), [FieldError(where, ui)]

    def _describe(self, error: ValidationError) -> tuple[str, Message]:
        """Give the message text and UI message of one non-``required`` leaf."""
        keyword, bound, value = (
            str(error.validator),
            cast(Any, error.validator_value),
            cast(Any, error.instance),
        )
        if keyword == "type":
            allowed = list(bound) if isinstance(bound, list) else [bound]
            actual = go_type(value)
            text = f"expected {' or '.join(allowed)}, but got {actual}"
            return text, message(4000026, text, allowed_types=allowed, actual_type=actual)
        if keyword in ("minLength", "maxLength"):
            op, mid = (">=", 4000003) if keyword == "minLength" else ("<=", 4000017)
            name = "min_length" if keyword == "minLength" else "max_length"
            text = f"length must be {op} {bound}, but got {len(value)}"
            return text, message(mid, text, **{name: bound, "actual_length": len(value)})
        if keyword == "pattern":
            text = f"does not match pattern {go_quote(bound)}"
            return text, message(4000004, text, pattern=bound)
        if keyword == "format":
            text = f"{go_quote(str(value))} is not valid {go_quote(bound)}"
            return text, format_message(text)
        if keyword in _NUMBER_BOUNDS:
            mid, op, name = _NUMBER_BOUNDS[keyword]
            text = f"must be {op} {go_float(bound)} but found {go_float(value)}"
            return text, message(mid, text, **{name: json_number(bound), "actual": json_number(value)})
        if keyword == "multipleOf":
            text = f"{go_float(value)} not multipleOf {go_float(bound)}"
            return text, message(4000022, text, base=json_number(bound), actual=json_number(value))
        if keyword in ("minItems", "maxItems"):
            mid, word, name = (4000024, "minimum", "min_items") if keyword == "minItems" else _MAX_ITEMS
            text = f"{word} {bound} items allowed, but found {len(value)} items"
            return text, message(mid, text, **{name: bound, "actual_items": len(value)})
        if keyword == "uniqueItems":
            first, second = _duplicate(value)
            text = f"items at index {first} and {second} are equal"
            return text, message(4000025, text, index_a=first, index_b=second)
        if keyword == "const":
            if isinstance(bound, dict | list):
                return "const failed", message(4000030)
            expected = go_sharp_v(bound)
            return f"value must be {expected}", message(
                4000029, f"must be equal to constant {expected}", expected=expected
            )
        text = self._other_text(error)
        return text, generic(text)

    def _other_text(self, error: ValidationError) -> str:
        """Give upstream's text for the keywords the UI shows verbatim (4000001)."""
        keyword, bound, value = error.validator, cast(Any, error.validator_value), cast(Any, error.instance)
        schema = cast(dict[str, Any], error.schema)
        if keyword == "enum":
            return _enum_text(bound)
        if keyword == "additionalProperties" and bound is False:
            known = set(schema.get("properties", {}))
            patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
            extra = [k for k in value if k not in known and not any(p.search(k) for p in patterns)]
            return "additionalProperties " + ", ".join(go_quote(k) for k in extra) + " not allowed"
        if keyword in ("minProperties", "maxProperties"):
            word = "minimum" if keyword == "minProperties" else "maximum"
            return f"{word} {bound} properties allowed, but found {len(value)} properties"
        if keyword == "additionalItems":
            allowed = len(schema.get("items", []))
            return f"only {allowed} items are allowed, but found {len(value)} items"
        if keyword == "oneOf":
            valid = [i for i, sub in enumerate(bound) if self._validator.evolve(schema=sub).is_valid(value)]
            return "valid against schemas at indexes {} and {}".format(*valid[:2])
        if keyword == "dependencies":
            match = re.match(r"'(.*)' is a dependency of '(.*)'", error.message)
            if match:
                needed, present = go_quote(match.group(1)), go_quote(match.group(2))
                return f"property {needed} is required, if {present} property exists"
        simple = {
            "not": "not failed",
            "contains": "contains failed",
            None: "always fail",
            False: "always fail",
        }
        return simple.get(keyword, error.message)


_NUMBER_BOUNDS = {
    "minimum": (4000018, ">=", "minimum"),
    "exclusiveMinimum": (4000019, ">", "minimum"),
    "maximum": (4000020, "<=", "maximum"),
    "exclusiveMaximum": (4000021, "<", "maximum"),
}
_MAX_ITEMS = (4000023, "maximum", "max_items")


def _duplicate(items: list[Any]) -> tuple[int, int]:
    """Find the first pair of equal items (earlier index first)."""
    for j, item in enumerate(items):
        for i in range(j):
            if json_equal(items[i], item):
                return i, j
    return -1, -1


def _enum_text(values: list[Any]) -> str:
    if any(isinstance(v, dict | list) for v in values):
        return "enum failed"
    if len(values) == 1:
        return f"value must be {go_sharp_v(values[0])}"
    return "value must be one of " + ", ".join(go_sharp_v(v) for v in values)
