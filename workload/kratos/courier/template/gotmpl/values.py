"""Python values seen as the Go values a template works on, and Go's way of printing them.

The data handed to a template is JSON-like: ``dict`` is ``map[string]interface{}``, ``list`` is
``[]interface{}``, ``str``/``int``/``float``/``bool`` are Go's basic kinds, ``None`` is a nil interface and
:data:`MISSING` is what Go calls an invalid value (a map key that is not there), printed ``<no value>``.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import Any, Final


class _Missing:
    """The "no value" of a missing map key."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


def go_type(value: Any) -> str:
    """The Go type name of ``value`` as Go's error messages spell it."""
    if value is None or value is MISSING:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    if isinstance(value, datetime):
        return "time.Time"
    if isinstance(value, bytes):
        return "[]uint8"
    return type(value).__name__


def is_true(value: Any) -> bool:
    """Go's ``isTrue``: the zero value of a kind, nil and empty containers are false."""
    if value is None or value is MISSING:
        return False
    if isinstance(value, bool | int | float | str | dict | list | tuple | bytes):
        return bool(value)
    return True


def is_int(value: Any) -> bool:
    """An ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def format_float(value: float, fmt: str = "g", prec: int = -1) -> str:
    """``strconv.FormatFloat(value, fmt, prec, 64)`` for ``fmt`` in ``g e f`` (``prec=-1``: shortest)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if prec >= 0:
        return _format_fixed_precision(value, fmt, prec)
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    digits, point = _shortest_digits(abs(value))
    if fmt == "f":
        return sign + _fixed(digits, point, None)
    if fmt == "e":
        return sign + _exponent(digits, point, None)
    exp = point - 1
    if exp < -4 or exp >= 6:
        return sign + _exponent(digits, point, None)
    return sign + _fixed(digits, point, None)


def _shortest_digits(value: float) -> tuple[str, int]:
    """The shortest digits that read back as ``value``, and where the decimal point goes."""
    if value == 0:
        return "0", 1
    _, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    point = len(digit_tuple) + exponent
    return digits, point


def _fixed(digits: str, point: int, prec: int | None) -> str:
    if point <= 0:
        text = "0." + "0" * -point + digits
    elif point >= len(digits):
        text = digits + "0" * (point - len(digits))
    else:
        text = digits[:point] + "." + digits[point:]
    if prec is not None:
        whole, _, frac = text.partition(".")
        frac = (frac + "0" * prec)[:prec]
        text = whole + ("." + frac if prec else "")
    return text


def _exponent(digits: str, point: int, prec: int | None) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp = point - 1 if digits != "0" else 0
    return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _format_fixed_precision(value: float, fmt: str, prec: int) -> str:
    if fmt == "f":
        return f"{value:.{prec}f}"
    if fmt == "e":
        text = f"{value:.{prec}e}"
        mantissa, _, exp = text.partition("e")
        return f"{mantissa}e{exp[0]}{int(exp[1:]):02d}"
    text = f"{value:.{max(prec, 1)}g}"
    if "e" in text:
        mantissa, _, exp = text.partition("e")
        return f"{mantissa}e{exp[0]}{int(exp[1:]):02d}"
    return text


def format_time(value: datetime) -> str:
    """``time.Time.String()``: ``2006-01-02 15:04:05.999999999 -0700 MST``."""
    if value.tzinfo is None:
        value = value.astimezone()
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    offset = value.strftime("%z") or "+0000"
    return f"{text} {offset} {value.tzname() or ''}".rstrip()


def sprint_one(value: Any) -> str:
    """``fmt.Sprint(value)``, i.e. ``%v``, for one operand."""
    if isinstance(value, str):
        return value
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "<nil>"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: str(kv[0]))
        return "map[" + " ".join(f"{sprint_one(k)}:{sprint_one(v)}" for k, v in items) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(sprint_one(item) for item in value) + "]"
    if isinstance(value, bytes):
        return "[" + " ".join(str(b) for b in value) + "]"
    if isinstance(value, datetime):
        return format_time(value)
    return str(value)


def to_string(value: Any) -> str:
    """Sprig's ``strval``: strings as they are, bytes decoded, everything else ``%v``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is MISSING:
        return "<nil>"
    return sprint_one(value)


_QUOTE_ESCAPES = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v", 0x5C: "\\\\"}


def go_quote(text: str, quote: str = '"', ascii_only: bool = False) -> str:
    """``strconv.Quote`` (``quote='"'``) or ``QuoteRune`` style escaping between ``quote`` characters."""
    out = [quote]
    for ch in text:
        code = ord(ch)
        if ch == quote:
            out.append("\\" + ch)
        elif code in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[code])
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        elif ch.isprintable() and (code < 0x80 or not ascii_only):
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append(quote)
    return "".join(out)
