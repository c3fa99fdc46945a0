"""Contextual escaping as ``html/template`` does it, tracked while the template runs.

The literal text written so far decides the context of the next action: HTML text, a tag, an attribute
value (plain, URL, JavaScript or CSS; quoted or not), a ``<script>``/``<style>`` body, ``<textarea>``/
``<title>`` text, or an HTML comment (dropped from the output, as Go drops it). Each action's value is
escaped for its context with Go's escapers, so hostile data cannot leave it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Final

from kratos.courier.template.gotmpl import encode

TEXT, RCDATA, COMMENT, TAG, AFTER_NAME, BEFORE_VALUE, ATTR, SCRIPT, STYLE = range(9)
PLAIN, URL, JS, CSS, UNSAFE = range(5)
URL_START, URL_PATH, URL_QUERY = range(3)

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)")
_ATTR_NAME = re.compile(r"[^\s=>/\"']+")
_SPACE = re.compile(r"\s*")
_UNQUOTED_END = re.compile(r"[\s>]")
_RAW_TEXT = {"script": SCRIPT, "style": STYLE, "textarea": RCDATA, "title": RCDATA}
_END_TAG = {SCRIPT: re.compile(r"</script", re.I), STYLE: re.compile(r"</style", re.I)}
_URL_ATTRS = frozenset(
    (
        *("action", "archive", "background", "cite", "classid", "codebase", "data", "formaction", "href"),
        *("icon", "longdesc", "manifest", "poster", "profile", "src", "usemap", "xmlns", "srcset"),
    )
)


@dataclass(frozen=True, slots=True)
class Context:
    """Where output is.

    ``state``; inside an attribute its ``attr`` kind, quote ``delim`` and URL part; ``element`` is the
    raw-text element a tag opens; ``js_quote`` the JavaScript literal we are in, if any.
    """

    state: int = TEXT
    element: str = ""
    attr: int = PLAIN
    delim: str = ""
    url_part: int = URL_START
    js_quote: str = ""


INITIAL: Final = Context()


def attr_kind(name: str) -> int:
    """The kind of value an attribute holds, judged by its name as Go does."""
    name = name.lower()
    if name.startswith("data-"):
        name = name[5:]
    elif ":" in name:
        prefix, _, local = name.partition(":")
        if prefix == "xmlns":
            return URL
        name = local
    if name.startswith("on"):
        return JS
    if name == "style":
        return CSS
    if name in ("value", "srcdoc"):
        return UNSAFE
    if name in _URL_ATTRS or "src" in name or "uri" in name or "url" in name:
        return URL
    return PLAIN


def transition(ctx: Context, text: str) -> tuple[str, Context]:
    """The output for literal ``text`` written in ``ctx`` (comments removed) and the context after it."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ctx, i = _STEPS[ctx.state](ctx, text, i, out)
    return "".join(out), ctx


def _text(ctx: Context, text: str, i: int, out: list[str]) -> tuple[Context, int]:
    j = text.find("<", i)
    if j < 0:
        out.append(text[i:])
        return ctx, len(text)
    out.append(text[i:j])
    if text.startswith("<!--", j):
        return replace(ctx, state=COMMENT), j + 4
    match = _TAG.match(text, j)
    if match is None:
        out.append("<")
        return ctx, j + 1
    out.append(match.group(0))
    name = match.group(2).lower()
    element = "" if match.group(1) else name if name in _RAW_TEXT else ""
    return Context(TAG, element), match.end()


def _rcdata(ctx: Context, text: str, i: int, out: list[str]) -> tuple[Context, int]:
    end = re.compile(f"</{ctx.element}", re.I).search(text, i)
    if end is None:
        out.append(text[i:])
        return ctx, len(text)
    out.append(text[i : end.start()])
    return INITIAL, end.start()


def _comment(ctx: Context, text: str, i: int, out: list[str]) -> tuple[Context, int]:
    end = text.find("-->", i)
    return (ctx, len(text)) if end < 0 else (INITIAL, end + 3)


def _tag(ctx: Context, text: str, i: int, out: list[str]) -> tuple[Context, int]:
    space = _SPACE.match(text, i)
    assert space is not None
    out.append(space.group(0))
    i = space.end()
    if i >= len(text):
        return ctx, i
    if text[i] == ">":
        out.append(">")
        return _body(ctx), i + 1
    if text.startswith("/>", i):
        out.append("/>")
        return INITIAL, i + 2
    name = _ATTR_NAME.match(text, i)
    if name is None:
        out.append(text[i])
        return ctx, i + 1
    out.append(name.group(0))
    return replace(ctx, state=AFTER_NAME, attr=attr_kind(name.group(0))), name.end()


def _body(ctx: Context) -> Context:
    state = _RAW_TEXT.get(ctx.element, TEXT)
    return Context(state, ctx.element if state != TEXT else "")


def _after_name(ctx: Context, text: str, i: int, out: list[str]) -> tuple[Context, int]:
    space = _SPACE.match(text, i)
    assert space is not None
    out.append(space.group(0))
    i = space.end()
    if i < len(text) and text[i] == "=":
        out.append("=")
        return replace(ctx, state=BEFORE_VALUE), i + 1
    if i < len(text):
        return replace(ctx, state=TAG, attr=PLAIN), i
    return ctx, i


def _before_value(ctx: Context, text: str, i: int, out: list[str]) -> tuple[Context, int]:
    space = _SPACE.match(text, i)
    assert space is not None
    out.append(space.group(0))
    i = space.end()
    if i >= len(text):
        return ctx, i
    if text[i] in "\"'":
        out.append(text[i])
        return replace(ctx, state=ATTR, delim=text[i], url_part=URL_START, js_quote=""), i + 1
    if text[i] == ">":
        return replace(ctx, state=TAG, attr=PLAIN), i
    return replace(ctx, state=ATTR, delim=" ", url_part=URL_START, js_quote=""), i


def _attr(ctx: Context, text: str, i: int, out: list[str]) -> tuple[Context, int]:
    if ctx.delim == " ":
        found = _UNQUOTED_END.search(text, i)
        end = found.start() if found else -1
    else:
        end = text.find(ctx.delim, i)
    value = text[i:] if end < 0 else text[i:end]
    out.append(value)
    ctx = _advance_value(ctx, value)
    if end < 0:
        return ctx, len(text)
    if ctx.delim == " ":
        return replace(ctx, state=TAG, attr=PLAIN, delim=""), end
    out.append(ctx.delim)
    return replace(ctx, state=TAG, attr=PLAIN, delim="", js_quote=""), end + 1


def _advance_value(ctx: Context, value: str) -> Context:
    """Follow the URL part or JavaScript quoting across literal attribute text."""
    if not value:
        return ctx
    if ctx.attr == URL and ctx.url_part != URL_QUERY:
        return replace(ctx, url_part=URL_QUERY if ("?" in value or "#" in value) else URL_PATH)
    if ctx.attr == JS:
        return replace(ctx, js_quote=_js_quote_after(ctx.js_quote, value))
    return ctx


def _js_quote_after(quote: str, code: str) -> str:
    i = 0
    while i < len(code):
        ch = code[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        i += 1
    return quote


def _raw(ctx: Context, text: str, i: int, out: list[str]) -> tuple[Context, int]:
    end = _END_TAG[ctx.state].search(text, i)
    chunk = text[i:] if end is None else text[i : end.start()]
    out.append(chunk)
    if end is None:
        if ctx.state == SCRIPT:
            ctx = replace(ctx, js_quote=_js_quote_after(ctx.js_quote, chunk))
        return ctx, len(text)
    return INITIAL, end.start()


_STEPS = {
    TEXT: _text,
    RCDATA: _rcdata,
    COMMENT: _comment,
    TAG: _tag,
    AFTER_NAME: _after_name,
    BEFORE_VALUE: _before_value,
    ATTR: _attr,
    SCRIPT: _raw,
    STYLE: _raw,
}


# --- actions -------------------------------------------------------------------------------------


def _first_string(args: list[Any]) -> str:
    return encode.stringify(args)


def _js_value(args: list[Any], template_literal: bool = False) -> str:
    return encode.js_val_escape(args[0] if len(args) == 1 else encode.stringify(args))


_ESCAPERS: dict[str, Any] = {
    "htmlescaper": encode.html_context_escape,
    "nospaceescaper": encode.nospace_escape,
    "urlfilter": encode.url_filter,
    "urlnormalizer": lambda text: encode.url_process(text, normalize=True),
    "urlescaper": lambda text: encode.url_process(text, normalize=False),
    "jsstrescaper": encode.js_str_escape,
    "jstmplescaper": lambda text: encode.js_str_escape(text, template_literal=True),
    "cssvaluefilter": encode.css_value_filter,
    "namefilter": lambda text: _name_filter(text),
    "comment": lambda text: "",
    "html": encode.html_escape_string,
    "urlquery": encode.query_escape,
}
# Context escapers that Go replaces with a pipeline's own trailing ``html`` / ``urlquery``.
_EQUIVALENT = {"htmlescaper": "html", "urlnormalizer": "urlquery", "urlescaper": "urlquery"}


def _chain(ctx: Context) -> list[str]:
    """The escapers ``html/template`` puts after an action in ``ctx``."""
    state = ctx.state
    if state == COMMENT:
        return ["comment"]
    if state in (TAG, AFTER_NAME):
        return ["namefilter"]
    if state == SCRIPT:
        return ["jstmplescaper" if ctx.js_quote == "`" else "jsstrescaper"] if ctx.js_quote else ["jsval"]
    if state == STYLE:
        return ["cssvaluefilter"]
    if state != ATTR:
        return ["htmlescaper"]
    chain: list[str] = []
    if ctx.attr == URL:
        if ctx.url_part == URL_START:
            chain = ["urlfilter", "urlnormalizer"]
        else:
            chain = ["urlnormalizer" if ctx.url_part == URL_PATH else "urlescaper"]
    elif ctx.attr == JS:
        chain = ["jstmplescaper" if ctx.js_quote == "`" else "jsstrescaper"] if ctx.js_quote else ["jsval"]
    elif ctx.attr == CSS:
        chain = ["cssvaluefilter"]
    chain.append("nospaceescaper" if ctx.delim == " " else "htmlescaper")
    return chain


def escape(ctx: Context, args: list[Any], predefined: str | None = None) -> tuple[str, Context]:
    """The escaped output of an action's value (``args``: its operands) in ``ctx``, and the context after.

    ``predefined`` is ``html``/``urlquery`` when the pipeline ends with one: as in Go, it takes the
    place of the context's equivalent escaper, or runs before the context's escapers if none is.
    """
    if ctx.state == BEFORE_VALUE:
        ctx = replace(ctx, state=ATTR, delim=" ", url_part=URL_START, js_quote="")
    chain = _chain(ctx)
    if predefined is not None:
        merged = [predefined if _EQUIVALENT.get(name) == predefined else name for name in chain]
        chain = merged if merged != chain else [predefined, *chain]
    head, rest = chain[0], chain[1:]
    if head == "jsval":
        text = _js_value(args)
    elif head in ("html", "urlquery"):
        text = _ESCAPERS[head](encode.eval_args(args))
    else:
        text = _ESCAPERS[head](encode.stringify(args))
    for name in rest:
        text = _js_value([text]) if name == "jsval" else _ESCAPERS[name](text)
    if ctx.state in (TAG, AFTER_NAME):
        ctx = replace(ctx, state=AFTER_NAME, attr=PLAIN)
    return text, ctx


def _name_filter(text: str) -> str:
    lowered = text.lower()
    if not lowered or attr_kind(lowered) != PLAIN or not all(c.isascii() and c.isalnum() for c in lowered):
        return encode.FAILSAFE
    return lowered
