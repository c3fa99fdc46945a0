"""Go's encoders and escapers.

``encoding/json``, ``template.HTMLEscapeString``/``JSEscapeString``, ``url.QueryEscape``, and the
escapers ``html/template`` applies inside HTML, URLs and JavaScript.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from kratos.courier.template.gotmpl.values import MISSING, format_float, sprint_one


class UnsupportedValue(ValueError):
    """``json: unsupported value`` (NaN, infinities, values JSON has no form for)."""


def go_json(value: Any, indent: str | None = None, escape_html: bool = True) -> str:
    """``json.Marshal`` (``MarshalIndent`` with ``indent``): sorted keys, ``<>&`` escaped by default."""
    parts: list[str] = []
    _json(value, parts, indent, "", escape_html)
    return "".join(parts)


def _json(value: Any, out: list[str], indent: str | None, prefix: str, escape_html: bool) -> None:
    if value is None or value is MISSING:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_json_float(value))
    elif isinstance(value, str):
        out.append(json_string(value, escape_html))
    elif isinstance(value, datetime):
        out.append(json_string(value.isoformat().replace("+00:00", "Z"), escape_html))
    elif isinstance(value, dict | list | tuple):
        is_map = isinstance(value, dict)
        items = sorted(value.items(), key=lambda kv: str(kv[0])) if is_map else list(enumerate(value))
        if not items:
            out.append("{}" if is_map else "[]")
            return
        inner = None if indent is None else prefix + indent
        out.append("{" if is_map else "[")
        for index, (key, item) in enumerate(items):
            if index:
                out.append(",")
            if inner is not None:
                out.append("\n" + inner)
            if is_map:
                out.append(json_string(str(key), escape_html) + (": " if inner is not None else ":"))
            _json(item, out, indent, inner or "", escape_html)
        if inner is not None:
            out.append("\n" + prefix)
        out.append("}" if is_map else "]")
    else:
        raise UnsupportedValue(f"json: unsupported type: {type(value).__name__}")


def _json_float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise UnsupportedValue(f"json: unsupported value: {format_float(value)}")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        text = format_float(value, "e")
        mantissa, _, exp = text.partition("e")
        return f"{mantissa}e{exp[0]}{int(exp[1:])}" if exp[0] == "-" else text
    return format_float(value, "f")


_JSON_NAMED = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_JSON_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


def json_string(text: str, escape_html: bool = True) -> str:
    """A JSON string literal as Go writes it."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _JSON_NAMED:
            out.append(_JSON_NAMED[ch])
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif escape_html and ch in _JSON_HTML:
            out.append(_JSON_HTML[ch])
        elif code in (0x2028, 0x2029):
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


# --- text/template's html, js and urlquery -------------------------------------------------------

_HTML = {"&": "&amp;", "'": "&#39;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "\0": "\ufffd"}
_HTML_TABLE = str.maketrans(_HTML)


def html_escape_string(text: str) -> str:
    """``template.HTMLEscapeString``."""
    return text.translate(_HTML_TABLE)


_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "=": "\\u003D"}


def js_escape_string(text: str) -> str:
    """``template.JSEscapeString``."""
    out: list[str] = []
    for ch in text:
        if ch in _JS:
            out.append(_JS[ch])
        elif ord(ch) < 0x20 or not ch.isprintable():
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def query_escape(text: str) -> str:
    """``url.QueryEscape``."""
    return quote_plus(text.encode("utf-8", "surrogateescape"), safe="")


def eval_args(args: list[Any]) -> str:
    """text/template's ``evalArgs``: one string as it is, anything else through ``fmt.Sprint``."""
    from kratos.courier.template.gotmpl.printf import sprint

    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(args)


# --- html/template's escapers --------------------------------------------------------------------

FAILSAFE = "ZgotmplZ"
_HTML_CONTEXT = str.maketrans({**_HTML, "+": "&#43;"})
_NOSPACE = str.maketrans(
    {
        **_HTML,
        "+": "&#43;",
        "\0": "&#xfffd;",
        "\t": "&#9;",
        "\n": "&#10;",
        "\v": "&#11;",
        "\f": "&#12;",
        "\r": "&#13;",
        " ": "&#32;",
        "=": "&#61;",
        "`": "&#96;",
    }
)


def html_context_escape(text: str) -> str:
    """``html/template``'s escaper for text and quoted attribute values (also ``+``)."""
    return text.translate(_HTML_CONTEXT)


def nospace_escape(text: str) -> str:
    """The escaper for unquoted attribute values; an empty value becomes ``ZgotmplZ``."""
    return text.translate(_NOSPACE) if text else FAILSAFE


def url_filter(text: str) -> str:
    """Only ``http``, ``https`` and ``mailto`` URLs (or relative ones) pass; others become ``#ZgotmplZ``."""
    scheme, sep, _ = text.partition(":")
    if sep and "/" not in scheme and scheme.lower() not in ("http", "https", "mailto"):
        return "#" + FAILSAFE
    return text


_URL_UNRESERVED = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
_URL_RESERVED = frozenset(b"!#$&*+,/:;=?@[]")
_HEX = frozenset(b"0123456789abcdefABCDEF")


def url_process(text: str, normalize: bool) -> str:
    """``processURLOnto``: percent-encode bytes; ``normalize`` keeps reserved characters and escapes."""
    data = text.encode("utf-8", "surrogateescape")
    out: list[str] = []
    for index, byte in enumerate(data):
        if byte in _URL_UNRESERVED or (normalize and byte in _URL_RESERVED):
            out.append(chr(byte))
        elif (
            normalize
            and byte == ord("%")
            and index + 2 < len(data)
            and data[index + 1] in _HEX
            and data[index + 2] in _HEX
        ):
            out.append("%")
        else:
            out.append(f"%{byte:02x}")
    return "".join(out)


_JS_STR = {
    "\0": "\\u0000",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\u000b",
    "\f": "\\f",
    "\r": "\\r",
    '"': "\\u0022",
    "&": "\\u0026",
    "'": "\\u0027",
    "+": "\\u002b",
    "/": "\\/",
    "<": "\\u003c",
    ">": "\\u003e",
    "\\": "\\\\",
    "`": "\\u0060",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JS_TEMPLATE = {**_JS_STR, "$": "\\u0024", "{": "\\u007b", "}": "\\u007d"}


def js_str_escape(text: str, template_literal: bool = False) -> str:
    """The escaper for a value inside a JavaScript string (or template) literal."""
    table = _JS_TEMPLATE if template_literal else _JS_STR
    out: list[str] = []
    for ch in text:
        if ch in table:
            out.append(table[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def js_val_escape(value: Any) -> str:
    """The escaper for a value in JavaScript code: its JSON, padded where it could touch a keyword."""
    try:
        text = go_json(value)
    except UnsupportedValue as exc:
        return f" /* {exc} */null "
    if _js_ident_part(text[0]) or _js_ident_part(text[-1]):
        return f" {text} "
    return text


def _js_ident_part(ch: str) -> bool:
    return ch == "$" or ch == "_" or ch.isalnum()


_CSS_UNSAFE = frozenset("\0\"'()/;@[\\]`{}<>")


def css_value_filter(text: str) -> str:
    """Values in CSS pass only when they cannot leave the property value; else ``ZgotmplZ``."""
    lowered = text.lower()
    if any(ch in _CSS_UNSAFE for ch in text) or "expression" in lowered or "mozbinding" in lowered:
        return FAILSAFE
    return text


def stringify(args: list[Any]) -> str:
    """``html/template``'s ``stringify``: nil operands are dropped, the rest go through ``fmt.Sprint``."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    kept = [arg for arg in args if arg is not None and arg is not MISSING]
    if len(kept) == 1:
        return sprint_one(kept[0])
    return eval_args(kept) if kept else ""
