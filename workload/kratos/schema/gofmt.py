"""Go-style rendering of JSON values, so validation messages read exactly as upstream's."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote


def go_quote(value: str) -> str:
    """Go's ``%q`` of a string: double-quoted with escapes."""
    return json.dumps(value, ensure_ascii=False)


def go_float(value: float) -> str:
    """Go's ``%v`` of a float64: shortest form, exponent from 1e21 and below 1e-4."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return repr(float(value)).replace("inf", "+Inf")


def json_number(value: float) -> int | float:
    """Render a float64 as Go marshals it to JSON: integral values without a fraction."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e21:
        return int(value)
    return float(value)


def go_sharp_v(value: Any) -> str:
    """Go's ``%#v`` of a decoded JSON primitive (numbers are ``json.Number``, so quoted)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return go_quote(json.dumps(value))
    return go_quote(str(value))


def go_type(value: Any) -> str:
    """Name the JSON type as upstream's validator does (every number is ``number``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def go_string(value: Any) -> str:
    """Go's ``%s`` of a trait value as upstream's extensions stringify it."""
    return value if isinstance(value, str) else json.dumps(value)


def json_equal(left: Any, right: Any) -> bool:
    """JSON equality: booleans never equal numbers, ``1 == 1.0``."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    return left == right and go_type(left) == go_type(right)


def escape_token(token: str | int) -> str:
    """One JSON pointer token as upstream writes it: ``~0``/``~1`` escapes, then URL path escaping."""
    text = str(token).replace("~", "~0").replace("/", "~1")
    return quote(text, safe="$&+,:;=@~")


def pointer(tokens: list[str] | tuple[str, ...]) -> str:
    """``#/a/b`` from already escaped tokens."""
    return "/".join(["#", *tokens])
