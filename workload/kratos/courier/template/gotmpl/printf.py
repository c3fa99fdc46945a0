"""Go's ``fmt.Sprint``, ``Sprintln`` and ``Sprintf`` for template values (the verbs templates use)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kratos.courier.template.gotmpl.values import (
    MISSING,
    format_float,
    format_time,
    go_quote,
    go_type,
    is_int,
    sprint_one,
)


def sprint(args: list[Any]) -> str:
    """``fmt.Sprint``: a space between two operands only when neither is a string."""
    out: list[str] = []
    for index, arg in enumerate(args):
        if index and not isinstance(arg, str) and not isinstance(args[index - 1], str):
            out.append(" ")
        out.append(sprint_one(arg))
    return "".join(out)


def sprintln(args: list[Any]) -> str:
    """``fmt.Sprintln``: operands separated by spaces, then a newline."""
    return " ".join(sprint_one(arg) for arg in args) + "\n"


@dataclass(slots=True)
class _Spec:
    minus: bool = False
    plus: bool = False
    sharp: bool = False
    space: bool = False
    zero: bool = False
    width: int | None = None
    prec: int | None = None


def sprintf(fmt: str, args: list[Any]) -> str:
    """``fmt.Sprintf`` with flags, width and precision, Go's ``%!verb(type=value)`` for mismatches."""
    out: list[str] = []
    used = 0
    i = 0
    size = len(fmt)
    while i < size:
        pct = fmt.find("%", i)
        if pct < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:pct])
        i = pct + 1
        spec = _Spec()
        while i < size and fmt[i] in "-+# 0":
            flag = fmt[i]
            spec.minus |= flag == "-"
            spec.plus |= flag == "+"
            spec.sharp |= flag == "#"
            spec.space |= flag == " "
            spec.zero |= flag == "0"
            i += 1
        spec.width, i, used = _number(fmt, i, args, used)
        if i < size and fmt[i] == ".":
            prec, i, used = _number(fmt, i + 1, args, used)
            spec.prec = prec or 0
        if i >= size:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if used >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(_pad(format_arg(args[used], verb, spec), spec, args[used]))
        used += 1
    if used < len(args):
        extra = ", ".join(f"{go_type(arg)}={sprint_one(arg)}" for arg in args[used:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _number(fmt: str, i: int, args: list[Any], used: int) -> tuple[int | None, int, int]:
    if i < len(fmt) and fmt[i] == "*":
        value = args[used] if used < len(args) else None
        return (value if is_int(value) else None), i + 1, used + 1
    start = i
    while i < len(fmt) and fmt[i].isdigit():
        i += 1
    return (int(fmt[start:i]) if i > start else None), i, used


def _pad(text: str, spec: _Spec, arg: Any) -> str:
    if spec.width is None or len(text) >= spec.width:
        return text
    fill = spec.width - len(text)
    if spec.minus:
        return text + " " * fill
    if spec.zero and not isinstance(arg, list | dict):
        sign = text[0] if text[:1] in ("-", "+", " ") and not isinstance(arg, str) else ""
        return sign + "0" * fill + text[len(sign) :]
    return " " * fill + text


def _bad(verb: str, arg: Any) -> str:
    if arg is None or arg is MISSING:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(arg)}={sprint_one(arg)})"


def format_arg(arg: Any, verb: str, spec: _Spec, nested: bool = False) -> str:
    """One operand under one verb (containers apply the verb to each element)."""
    if arg is None or arg is MISSING:
        return "<nil>" if verb == "v" or nested else _bad(verb, arg)
    if verb == "T":
        return go_type(arg)
    if isinstance(arg, bool):
        return ("true" if arg else "false") if verb in "tv" else _bad(verb, arg)
    if isinstance(arg, int):
        return _integer(arg, verb, spec)
    if isinstance(arg, float):
        return _float(arg, verb, spec)
    if isinstance(arg, str):
        return _string(arg, verb, spec)
    if isinstance(arg, list | tuple):
        return "[" + " ".join(format_arg(item, verb, spec, True) for item in arg) + "]"
    if isinstance(arg, dict):
        items = sorted(arg.items(), key=lambda kv: str(kv[0]))
        inner = " ".join(
            f"{format_arg(k, verb, spec, True)}:{format_arg(v, verb, spec, True)}" for k, v in items
        )
        return "map[" + inner + "]"
    if isinstance(arg, datetime) and verb in "vsq":
        return _string(format_time(arg), verb, spec) if verb != "v" else format_time(arg)
    return sprint_one(arg) if verb in "vs" else _bad(verb, arg)


def _sign(value: float | int, spec: _Spec) -> str:
    if value < 0:
        return "-"
    return "+" if spec.plus else " " if spec.space else ""


def _integer(value: int, verb: str, spec: _Spec) -> str:
    if verb == "c":
        return chr(value) if 0 <= value <= 0x10FFFF else "\ufffd"
    if verb == "q":
        return go_quote(chr(value) if 0 <= value <= 0x10FFFF else "\ufffd", "'")
    if verb == "U":
        return f"U+{value:04X}"
    bases = {"d": "d", "v": "d", "x": "x", "X": "X", "o": "o", "O": "o", "b": "b"}
    if verb not in bases:
        return _bad(verb, value)
    digits = format(abs(value), bases[verb])
    if spec.prec is not None:
        digits = digits.rjust(spec.prec, "0") if spec.prec else ("" if value == 0 else digits)
    prefix = ""
    if spec.sharp or verb == "O":
        prefix = {"x": "0x", "X": "0X", "o": "0", "O": "0o", "b": "0b"}.get(verb, "")
        if verb == "o" and digits.startswith("0"):
            prefix = ""
    return _sign(value, spec) + prefix + digits


def _float(value: float, verb: str, spec: _Spec) -> str:
    if verb not in "eEfFgGv":
        return _bad(verb, value)
    lower = verb.lower()
    fmt = "g" if lower == "v" else lower
    prec = spec.prec
    if prec is None and fmt in "ef":
        prec = 6
    text = format_float(abs(value), fmt, -1 if prec is None else prec)
    if verb in "EG":
        text = text.upper()
    if text in ("NaN", "+Inf"):
        return text if text == "NaN" else ("+Inf" if spec.plus else "Inf")
    return _sign(value, spec) + text


def _string(value: str, verb: str, spec: _Spec) -> str:
    if spec.prec is not None and verb in "sqv":
        value = value[: spec.prec]
    if verb in "sv":
        return value
    if verb == "q":
        if spec.sharp and "`" not in value and all(ch.isprintable() or ch == "\t" for ch in value):
            return "`" + value + "`"
        return go_quote(value, '"', ascii_only=spec.plus)
    if verb in "xX":
        data = value.encode("utf-8", "surrogateescape")
        if spec.prec is not None:
            data = data[: spec.prec]
        parts = [format(byte, "02x" if verb == "x" else "02X") for byte in data]
        prefix = ("0x" if verb == "x" else "0X") if spec.sharp else ""
        if spec.space:
            return " ".join(prefix + part for part in parts)
        return prefix + "".join(parts)
    return _bad(verb, value)
