"""Go's constant syntax: ``strconv.Unquote`` for strings and characters, and number literals."""

from __future__ import annotations

import re

_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_OCTAL_INT = re.compile(r"[+-]?0[0-7_]+")


def unquote(literal: str) -> str:
    """The value of a Go string (``"..."``, ```...```) or character (``'x'``) literal, else ``ValueError``."""
    quote, body = literal[0], literal[1:-1]
    if len(literal) < 2 or literal[-1] != quote:
        raise ValueError("invalid syntax")
    if quote == "`":
        return body.replace("\r", "")
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            if ch == quote:
                raise ValueError("invalid syntax")
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(body):
            raise ValueError("invalid syntax")
        esc = body[i + 1]
        if esc in _SIMPLE:
            out.append(_SIMPLE[esc])
            i += 2
        elif esc in "\"'":
            if esc != quote:
                raise ValueError("invalid syntax")
            out.append(esc)
            i += 2
        elif esc in "xuU":
            size = {"x": 2, "u": 4, "U": 8}[esc]
            digits = body[i + 2 : i + 2 + size]
            if len(digits) != size or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise ValueError("invalid syntax")
            code = int(digits, 16)
            if esc == "x":
                out.append(bytes([code]).decode("latin-1") if code < 0x80 else chr(code))
            else:
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise ValueError("invalid syntax")
                out.append(chr(code))
            i += 2 + size
        elif esc in "01234567":
            digits = body[i + 1 : i + 4]
            if len(digits) != 3 or not all(c in "01234567" for c in digits) or int(digits, 8) > 255:
                raise ValueError("invalid syntax")
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise ValueError("invalid syntax")
    text = "".join(out)
    if quote == "'" and len(text) != 1:
        raise ValueError("invalid syntax")
    return text


def parse_number(text: str) -> tuple[int | None, float | None, int | float]:
    """(its int value, its float value, the value Go gives it untyped); ``ValueError`` with Go's message."""
    if text.startswith("'"):
        code = ord(unquote(text))
        return code, float(code), code
    clean = text.replace("_", "")
    int_value: int | None = None
    float_value: float | None = None
    try:
        int_value = int(clean, 8) if _OCTAL_INT.fullmatch(clean) else int(clean, 0)
    except ValueError:
        int_value = None
    if int_value is not None and not -(2**63) <= int_value < 2**64:
        raise ValueError(f'integer overflow: "{text}"')
    try:
        lowered = clean.lower()
        is_hex = lowered.lstrip("+-").startswith("0x")
        float_value = float.fromhex(clean) if is_hex and "p" in lowered else float(clean)
    except ValueError:
        float_value = float(int_value) if int_value is not None else None
    if int_value is None and float_value is None:
        raise ValueError(f'illegal number syntax: "{text}"')
    if (
        int_value is None
        and float_value is not None
        and float_value.is_integer()
        and abs(float_value) < 2**63
    ):
        int_value = int(float_value)
    is_hex_int = clean.lower().lstrip("+-").startswith("0x") and "p" not in clean.lower()
    if float_value is not None and not is_hex_int and any(c in clean for c in ".eEpP"):
        ideal: int | float = float_value
    elif int_value is not None:
        if int_value >= 2**63:
            raise ValueError(f"{text} overflows int")
        ideal = int_value
    else:
        assert float_value is not None
        ideal = float_value
    return int_value, float_value, ideal


def parse_go_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 0, 64)``: decimal, ``0x``/``0o``/``0b``/leading-0 octal; None if invalid."""
    if not re.fullmatch(r"[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)", text):
        return None
    clean = text.replace("_", "")
    try:
        value = int(clean, 8) if _OCTAL_INT.fullmatch(clean) else int(clean, 0)
    except ValueError:
        return None
    return value if -(2**63) <= value < 2**63 else None
