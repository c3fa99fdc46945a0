"""The Sprig functions (github.com/Masterminds/sprig/v3) Kratos templates use.

With Sprig's argument order (``trimPrefix "-" .X``), its conversions (``toInt64`` via spf13/cast) and
its quirks (``split`` returns a map keyed ``_0, _1, ...``; ``b64dec`` returns the error text).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kratos.courier.template.gotmpl.builtins import Func, func
from kratos.courier.template.gotmpl.encode import UnsupportedValue, go_json
from kratos.courier.template.gotmpl.errors import CallError
from kratos.courier.template.gotmpl.gotime import go_format
from kratos.courier.template.gotmpl.literals import parse_go_int
from kratos.courier.template.gotmpl.printf import sprintf
from kratos.courier.template.gotmpl.values import MISSING, go_type, is_int, is_true, sprint_one, to_string

GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u202f\u205f\u3000\u2028\u2029" + "".join(
    map(chr, range(0x2000, 0x200B))
)
_SPACE_RUN = re.compile(f"[{re.escape(GO_SPACE)}]")


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _per_rune(text: str, convert: str) -> str:
    out = []
    for ch in text:
        mapped = getattr(ch, convert)()
        out.append(mapped if len(mapped) == 1 else ch)
    return "".join(out)


def _title(text: str) -> str:
    """``strings.Title``: upper-case the first letter of each word."""
    out = []
    previous = " "
    for ch in text:
        separator = (
            not (previous.isalnum() or previous == "_") if previous.isascii() else previous in GO_SPACE
        )
        if separator:
            mapped = ch.title()
            out.append(mapped if len(mapped) == 1 else ch)
        else:
            out.append(ch)
        previous = ch
    return "".join(out)


def _untitle(text: str) -> str:
    words = re.split(f"([{re.escape(GO_SPACE)}]+)", text)
    return "".join(word[:1].lower() + word[1:] for word in words)


def to_int64(value: Any) -> int:
    """spf13/cast's ``ToInt64``: numbers truncated, numeric strings parsed, anything else 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) != float("inf") else 0
    if isinstance(value, str):
        return parse_go_int(_trim_zero_decimal(value)) or 0
    return 0


def to_float64(value: Any) -> float:
    """spf13/cast's ``ToFloat64``."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace("_", "")) if "_" not in value else 0.0
        except ValueError:
            return 0.0
    return 0.0


def _trim_zero_decimal(text: str) -> str:
    head, dot, tail = text.partition(".")
    if dot and tail and set(tail) == {"0"}:
        return head
    return text


def _empty(value: Any) -> bool:
    return not is_true(value)


def _strslice(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [to_string(item) for item in value if item is not None and item is not MISSING]
    if value is None or value is MISSING:
        return []
    return [to_string(value)]


def _split(sep: str, text: str) -> list[str]:
    return list(text) if sep == "" else text.split(sep)


def _substr(start: int, end: int, text: str) -> str:
    data = _bytes(text)
    try:
        if start < 0:
            return _text(_slice_bytes(data, 0, end))
        if end < 0 or end > len(data):
            return _text(_slice_bytes(data, start, len(data)))
        return _text(_slice_bytes(data, start, end))
    except IndexError as exc:
        raise CallError(str(exc)) from None


def _slice_bytes(data: bytes, start: int, end: int) -> bytes:
    if not 0 <= start <= end <= len(data):
        raise IndexError(f"runtime error: slice bounds out of range [{start}:{end}] with length {len(data)}")
    return data[start:end]


def _trunc(count: int, text: str) -> str:
    data = _bytes(text)
    if count < 0 and len(data) + count > 0:
        return _text(data[len(data) + count :])
    if count >= 0 and len(data) > count:
        return _text(data[:count])
    return text


def _abbrev(width: int, text: str) -> str:
    data = _bytes(text)
    if width < 4 or len(data) <= width:
        return text
    return _text(data[: width - 3]) + "..."


def _cat(*values: Any) -> str:
    kept = [value for value in values if value is not None and value is not MISSING]
    return sprintf(" ".join(["%v"] * len(kept)), kept)


def _indent(spaces: int, text: str) -> str:
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


def _dict(*values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index in range(0, len(values), 2):
        key = to_string(values[index])
        out[key] = values[index + 1] if index + 1 < len(values) else ""
    return out


def _coalesce(*values: Any) -> Any:
    for value in values:
        if not _empty(value):
            return value
    return None


def _json(value: Any, indent: str | None = None, escape_html: bool = True) -> str:
    try:
        return go_json(value, indent, escape_html)
    except UnsupportedValue:
        return ""


def _b64dec(text: str) -> str:
    try:
        return _text(base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True))
    except (binascii.Error, ValueError):
        alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        bad = next((i for i, ch in enumerate(text) if ch not in alphabet and ch != "="), None)
        position = bad if bad is not None else len(text) - len(text) % 4
        return f"illegal base64 data at input byte {position}"


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if is_int(value):
        return datetime.fromtimestamp(value, UTC)
    return datetime.now(UTC)


def _date_in_zone(layout: str, value: Any, zone: str) -> str:
    moment = _moment(value)
    if zone == "Local":
        return go_format(moment.astimezone(), layout)
    try:
        tz: Any = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    return go_format(moment.astimezone(tz), layout)


def _first(value: Any) -> Any:
    items = _list_of(value, "first")
    return items[0] if items else None


def _last(value: Any) -> Any:
    items = _list_of(value, "last")
    return items[-1] if items else None


def _list_of(value: Any, name: str) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    raise CallError(f"Cannot find {name} on type {go_type(value)}")


def _div(a: Any, b: Any) -> int:
    x, y = to_int64(a), to_int64(b)
    if y == 0:
        raise CallError("runtime error: integer divide by zero")
    quotient = abs(x) // abs(y)
    return quotient if (x >= 0) == (y >= 0) else -quotient


def _mod(a: Any, b: Any) -> int:
    x, y = to_int64(a), to_int64(b)
    if y == 0:
        raise CallError("runtime error: integer divide by zero")
    return x - y * _div(x, y)


def _slice(items: Any, *indexes: Any) -> Any:
    if not isinstance(items, list | tuple):
        kind = "string" if isinstance(items, str) else go_type(items)
        raise CallError(f"list should be type of slice or array but {kind}")
    if not items:
        return None
    start = to_int64(indexes[0]) if indexes else 0
    end = to_int64(indexes[1]) if len(indexes) > 1 else len(items)
    if not 0 <= start <= end <= len(items):
        raise CallError("reflect: slice index out of range")
    return list(items[start:end])


def _repeat(count: int, text: str) -> str:
    if count < 0:
        raise CallError("strings: negative Repeat count")
    return text * count


def _atoi(text: str) -> int:
    return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else 0


def _has_key(mapping: dict[str, Any], key: str) -> bool:
    return key in mapping


def _get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "")


SPRIG: dict[str, Func] = {
    # strings
    "upper": func("str")(lambda s: _per_rune(s, "upper")),
    "lower": func("str")(lambda s: _per_rune(s, "lower")),
    "title": func("str")(_title),
    "untitle": func("str")(_untitle),
    "trim": func("str")(lambda s: s.strip(GO_SPACE)),
    "trimAll": func("str", "str")(lambda cut, s: s.strip(cut)),
    "trimPrefix": func("str", "str")(lambda prefix, s: s.removeprefix(prefix)),
    "trimSuffix": func("str", "str")(lambda suffix, s: s.removesuffix(suffix)),
    "replace": func("str", "str", "str")(lambda old, new, s: s.replace(old, new)),
    "contains": func("str", "str")(lambda sub, s: sub in s),
    "hasPrefix": func("str", "str")(lambda prefix, s: s.startswith(prefix)),
    "hasSuffix": func("str", "str")(lambda suffix, s: s.endswith(suffix)),
    "nospace": func("str")(lambda s: _SPACE_RUN.sub("", s)),
    "repeat": func("int", "str")(_repeat),
    "substr": func("int", "int", "str")(_substr),
    "trunc": func("int", "str")(_trunc),
    "abbrev": func("int", "str")(_abbrev),
    "indent": func("int", "str")(_indent),
    "nindent": func("int", "str")(lambda n, s: "\n" + _indent(n, s)),
    "quote": func(variadic="any")(
        lambda *v: " ".join(sprintf("%q", [to_string(x)]) for x in v if x is not None and x is not MISSING)
    ),
    "squote": func(variadic="any")(
        lambda *v: " ".join(f"'{sprint_one(x)}'" for x in v if x is not None and x is not MISSING)
    ),
    "cat": func(variadic="any")(_cat),
    "join": func("str", "any")(lambda sep, v: sep.join(_strslice(v))),
    "split": func("str", "str")(lambda sep, s: {f"_{i}": part for i, part in enumerate(_split(sep, s))}),
    "splitList": func("str", "str")(_split),
    "toString": func("any")(to_string),
    "b64enc": func("str")(lambda s: base64.b64encode(_bytes(s)).decode("ascii")),
    "b64dec": func("str")(_b64dec),
    "sha256sum": func("str")(lambda s: hashlib.sha256(_bytes(s)).hexdigest()),
    # defaults and logic
    "default": func("any", variadic="any")(
        lambda d, *given: d if not given or _empty(given[0]) else given[0]
    ),
    "empty": func("any")(_empty),
    "coalesce": func(variadic="any")(_coalesce),
    "ternary": func("any", "any", "bool")(lambda yes, no, cond: yes if cond else no),
    "toJson": func("any")(_json),
    "toPrettyJson": func("any")(lambda v: _json(v, "  ")),
    "toRawJson": func("any")(lambda v: _json(v, escape_html=False)),
    # dates
    "now": func()(lambda: datetime.now().astimezone()),
    "date": func("str", "any")(lambda layout, v: _date_in_zone(layout, v, "Local")),
    "dateInZone": func("str", "any", "str")(_date_in_zone),
    "htmlDate": func("any")(lambda v: _date_in_zone("2006-01-02", v, "Local")),
    "unixEpoch": func("any")(lambda v: str(int(_moment(v).timestamp()))),
    # lists and dicts
    "list": func(variadic="any")(lambda *v: list(v)),
    "dict": func(variadic="any")(_dict),
    "get": func("map", "str")(_get),
    "hasKey": func("map", "str")(_has_key),
    "keys": func(variadic="map")(lambda *maps: [key for m in maps for key in m]),
    "first": func("any")(_first),
    "last": func("any")(_last),
    "has": func("any", "any")(
        lambda needle, haystack: needle in _list_of(haystack, "has") if haystack else False
    ),
    "slice": func("any", variadic="any")(_slice),
    # numbers
    "int": func("any")(to_int64),
    "int64": func("any")(to_int64),
    "float64": func("any")(to_float64),
    "atoi": func("str")(_atoi),
    "add": func(variadic="any")(lambda *v: sum(to_int64(x) for x in v)),
    "add1": func("any")(lambda v: to_int64(v) + 1),
    "sub": func("any", "any")(lambda a, b: to_int64(a) - to_int64(b)),
    "mul": func("any", variadic="any")(lambda a, *v: _product([a, *v])),
    "div": func("any", "any")(_div),
    "mod": func("any", "any")(_mod),
    "max": func("any", variadic="any")(lambda a, *v: max(to_int64(x) for x in (a, *v))),
    "min": func("any", variadic="any")(lambda a, *v: min(to_int64(x) for x in (a, *v))),
}


def _product(values: list[Any]) -> int:
    total = 1
    for value in values:
        total *= to_int64(value)
    return total
