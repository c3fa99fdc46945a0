"""JSON read as Go's ``encoding/json`` reads it, with its error texts, which upstream puts in its error JSON.

:func:`decode_first` is ``json.NewDecoder(body).Decode`` (the first value counts, the rest is never read),
:func:`decode_all` is ``json.Unmarshal``. :func:`check_shape` walks a decoded document against the Go type it
is decoded into and raises the first type error or unknown field, in document order, as Go does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

_SPACE = b" \t\r\n"
_DIGITS = b"0123456789"
_HEX = b"0123456789abcdefABCDEF"
_ESCAPES = b'"\\/bfnrtu'
_LITERALS = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}
_QUOTED = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 0x5C: "\\\\"}


class GoJSONError(ValueError):
    """A body Go's decoder refuses; ``str()`` is Go's error text."""


class _EndOfInput(Exception):
    """The input ended inside a value."""


def decode_first(body: bytes) -> Any:
    """The first JSON value of ``body``, as ``json.Decoder.Decode`` reads it."""
    start = _skip_space(body, 0)
    if start == len(body):
        raise GoJSONError("EOF")
    try:
        end = _value(body, start)
    except _EndOfInput:
        raise GoJSONError("unexpected EOF") from None
    return _load(body[start:end])


def decode_all(body: bytes) -> Any:
    """The JSON document ``body``, as ``json.Unmarshal`` reads it."""
    try:
        end = _skip_space(body, _value(body, 0))
    except _EndOfInput:
        raise GoJSONError("unexpected end of JSON input") from None
    if end < len(body):
        raise _invalid(body[end], "after top-level value")
    return _load(body)


def _load(document: bytes) -> Any:
    # Go replaces invalid UTF-8, and lone surrogate escapes, with U+FFFD instead of refusing them.
    text = document.decode("utf-8", "replace")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return orjson.loads(text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))


def _skip_space(data: bytes, at: int) -> int:
    while at < len(data) and data[at] in _SPACE:
        at += 1
    return at


def _byte(data: bytes, at: int) -> int:
    if at >= len(data):
        raise _EndOfInput
    return data[at]


def _value(data: bytes, at: int) -> int:
    """The end of the value starting at ``at`` (after spaces); raises Go's syntax error."""
    at = _skip_space(data, at)
    c = _byte(data, at)
    if c == ord("{"):
        return _object(data, at + 1)
    if c == ord("["):
        return _array(data, at + 1)
    if c == ord('"'):
        return _string(data, at + 1)
    if c == ord("-") or c in _DIGITS:
        return _number(data, at)
    literal = _LITERALS.get(c)
    if literal is None:
        raise _invalid(c, "looking for beginning of value")
    for offset in range(1, len(literal)):
        if _byte(data, at + offset) != literal[offset]:
            expecting = chr(literal[offset])
            raise _invalid(data[at + offset], f"in literal {literal.decode()} (expecting '{expecting}')")
    return at + len(literal)


def _object(data: bytes, at: int) -> int:
    at = _skip_space(data, at)
    if _byte(data, at) == ord("}"):
        return at + 1
    while True:
        at = _skip_space(data, at)
        if _byte(data, at) != ord('"'):
            raise _invalid(data[at], "looking for beginning of object key string")
        at = _skip_space(data, _string(data, at + 1))
        if _byte(data, at) != ord(":"):
            raise _invalid(data[at], "after object key")
        at = _skip_space(data, _value(data, at + 1))
        c = _byte(data, at)
        if c == ord("}"):
            return at + 1
        if c != ord(","):
            raise _invalid(c, "after object key:value pair")
        at += 1


def _array(data: bytes, at: int) -> int:
    at = _skip_space(data, at)
    if _byte(data, at) == ord("]"):
        return at + 1
    while True:
        at = _skip_space(data, _value(data, at))
        c = _byte(data, at)
        if c == ord("]"):
            return at + 1
        if c != ord(","):
            raise _invalid(c, "after array element")
        at += 1


def _string(data: bytes, at: int) -> int:
    while True:
        c = _byte(data, at)
        if c == ord('"'):
            return at + 1
        if c < 0x20:
            raise _invalid(c, "in string literal")
        if c == ord("\\"):
            at += 1
            escape = _byte(data, at)
            if escape not in _ESCAPES:
                raise _invalid(escape, "in string escape code")
            if escape == ord("u"):
                for offset in range(1, 5):
                    if _byte(data, at + offset) not in _HEX:
                        raise _invalid(data[at + offset], "in \\u hexadecimal character escape")
                at += 4
        at += 1


def _digits(data: bytes, at: int) -> int:
    while at < len(data) and data[at] in _DIGITS:
        at += 1
    return at


def _number(data: bytes, at: int) -> int:
    if data[at] == ord("-"):
        at += 1
        if _byte(data, at) not in _DIGITS:
            raise _invalid(data[at], "in numeric literal")
    at = at + 1 if data[at] == ord("0") else _digits(data, at)
    if at < len(data) and data[at] == ord("."):
        at += 1
        if _byte(data, at) not in _DIGITS:
            raise _invalid(data[at], "after decimal point in numeric literal")
        at = _digits(data, at)
    if at < len(data) and data[at] in b"eE":
        at += 1
        if _byte(data, at) in b"+-":
            at += 1
        if _byte(data, at) not in _DIGITS:
            raise _invalid(data[at], "in exponent of numeric literal")
        at = _digits(data, at)
    return at


def _invalid(c: int, context: str) -> GoJSONError:
    return GoJSONError(f"invalid character {_quote_char(c)} {context}")


def _quote_char(c: int) -> str:
    """Go's ``quoteChar``: the byte as a rune, quoted as ``strconv.Quote`` does, in single quotes."""
    if c == ord("'"):
        return "'\\''"
    if c == ord('"'):
        return "'\"'"
    if c in _QUOTED:
        text = _QUOTED[c]
    elif c < 0x20 or c == 0x7F:
        text = f"\\x{c:02x}"
    elif 0x80 <= c < 0xA0 or c == 0xAD:
        text = f"\\u{c:04x}"
    else:
        text = chr(c)
    return f"'{text}'"


Kind = Literal["string", "bool", "any", "struct", "slice", "text"]


@dataclass(frozen=True)
class GoType:
    """A Go type a JSON value is decoded into: enough of it to refuse what Go refuses, in Go's words.

    A ``text`` type takes a JSON string (anything else is a type error); ``parse`` returns the error text
    of its ``UnmarshalText`` (or, on an ``any`` type, of its ``UnmarshalJSON``), or None.
    """

    name: str
    kind: Kind
    fields: Mapping[str, GoType] = field(default_factory=dict)
    elem: GoType | None = None
    parse: Callable[[Any], str | None] | None = None


_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "text": str,
    "bool": bool,
    "struct": dict,
    "slice": list,
}


def check_shape(document: Any, go_type: GoType, *, strict: bool = True) -> None:
    """Raise the first error Go reports decoding ``document`` into ``go_type``.

    ``strict`` is ``DisallowUnknownFields``: an unknown key is an error, else it is ignored.
    """
    _check(document, go_type, None, (), strict)


def known_fields(document: Any, go_type: GoType) -> Any:
    """``document`` without the keys ``go_type`` does not know (which a lenient Go decoder ignores)."""
    if go_type.kind == "struct" and isinstance(document, dict):
        return {
            key: known_fields(value, go_type.fields[key])
            for key, value in document.items()
            if key in go_type.fields
        }
    if go_type.kind == "slice" and go_type.elem is not None and isinstance(document, list):
        return [known_fields(item, go_type.elem) for item in document]
    return document


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _check(value: Any, go_type: GoType, struct: str | None, path: tuple[str, ...], strict: bool) -> None:
    if value is None:  # null leaves any Go value as it is
        return
    if go_type.kind != "any":
        expected = _JSON_TYPES[go_type.kind]
        if not isinstance(value, expected) or (go_type.kind != "bool" and isinstance(value, bool)):
            where = f"Go struct field {struct}.{'.'.join(path)}" if struct else "Go value"
            raise GoJSONError(f"json: cannot unmarshal {_kind_of(value)} into {where} of type {go_type.name}")
    if go_type.parse is not None:
        problem = go_type.parse(value)
        if problem:
            raise GoJSONError(problem)
    if go_type.kind == "slice" and go_type.elem is not None:
        for item in value:
            _check(item, go_type.elem, struct, path, strict)
    elif go_type.kind == "struct":
        own = go_type.name.rpartition(".")[2]
        for key, item in value.items():
            member = go_type.fields.get(key)
            if member is not None:
                _check(item, member, own, (*path, key), strict)
            elif strict:
                raise GoJSONError(f'json: unknown field "{key}"')
