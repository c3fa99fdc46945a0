"""Keyset paging as upstream's ``ory/x`` does it: Go-parsed query values, ``Link`` headers, sealed tokens.

Page tokens (``keysetpagination_v2``) are sealed: JSON ``{"e": expiry, "c": [columns]}`` encrypted with
XChaCha20-Poly1305 under SHA-512/256 of the first pagination secret (all zeros without one), the nonce
ahead of the ciphertext, URL-safe base64. Tokens expire after an hour; every secret opens them.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus, unquote_plus, urlencode

import orjson
from nacl import bindings
from nacl.exceptions import CryptoError
from starlette.datastructures import QueryParams

_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT64 = 2**63
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_TOKEN_CONTEXT = b"ory/keysetpagination_v2/page_token"
_TOKEN_LIFETIME = timedelta(hours=1)
ASCENDING, DESCENDING = 0, 1


class InvalidPageToken(ValueError):
    """A page token that does not open, or has expired (the message says which, in upstream's words)."""


def go_atoi(raw: str) -> int:
    """Go's ``strconv.Atoi``; its error text as a :class:`ValueError`."""
    if not _GO_INT.fullmatch(raw):
        raise ValueError(f'strconv.Atoi: parsing "{raw}": invalid syntax')
    value = int(raw)
    if not -_INT64 <= value < _INT64:
        raise ValueError(f'strconv.Atoi: parsing "{raw}": value out of range')
    return value


def go_unescape(raw: str) -> str:
    """Go's ``url.QueryUnescape``; its error text as a :class:`ValueError`."""
    bad = _BAD_ESCAPE.search(raw)
    if bad:
        raise ValueError(f'invalid URL escape "{raw[bad.start() : bad.start() + 3]}"')
    return unquote_plus(raw, errors="replace")  # Go keeps any bytes; no UTF-8 check


def first_set(params: QueryParams, name: str) -> str:
    """The first non-empty value of ``name`` (Go's ``cmp.Or(q[name]...)``), or ""."""
    return next((value for value in params.getlist(name) if value), "")


def link_header(
    path: str,
    params: QueryParams,
    page_size: int,
    first: str,
    following: str | None,
    dropped: Iterable[str] = ("page_token", "page_size"),
) -> str:
    """A ``Link`` header: ``first`` and, when there is one, ``next`` page, each ``<path?query>; rel=...``.

    The query is the request's without ``dropped``, plus ``page_size`` and ``page_token``, sorted by key
    and escaped as Go's ``url.Values.Encode`` does.
    """
    drop = set(dropped)
    kept = [(k, v) for k, v in params.multi_items() if k not in drop]

    def link(rel: str, token: str) -> str:
        query = sorted([*kept, ("page_size", str(page_size)), ("page_token", token)], key=lambda kv: kv[0])
        return f'<{path}?{urlencode(query, quote_via=quote_plus)}>; rel="{rel}"'

    return ",".join([link("first", first), *([link("next", following)] if following is not None else [])])


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a keyset: its name, order and the value to continue after."""

    name: str
    value: Any
    order: int = ASCENDING


class PageTokens:
    """Seals and opens ``keysetpagination_v2`` page tokens with the pagination secrets."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self.keys = [hashlib.new("sha512_256", secret.encode()).digest() for secret in secrets]
        self._fallback = bytes(32)

    def seal(self, columns: Sequence[Column], now: datetime | None = None) -> str:
        """A token for ``columns``, valid for an hour."""
        expires = (now or datetime.now(UTC)) + _TOKEN_LIFETIME
        raw = orjson.dumps(
            {"e": _go_time(expires), "c": [_column_json(column) for column in columns]}, default=str
        )
        nonce = bindings.randombytes(bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
        key = self.keys[0] if self.keys else self._fallback
        sealed = bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(raw, _TOKEN_CONTEXT, nonce, key)
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, token: str, template: Sequence[Column]) -> list[Column]:
        """The columns of ``token``, which must have ``template``'s names and orders; else the reason."""
        try:
            raw = base64.urlsafe_b64decode(token.encode())
        except (ValueError, UnicodeEncodeError):
            raise InvalidPageToken("invalid pagination token") from None
        size = bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
        for key in (*self.keys, self._fallback):
            try:
                opened = bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                    raw[size:], _TOKEN_CONTEXT, raw[:size], key
                )
            except (CryptoError, ValueError, TypeError):
                continue
            return _columns(opened, template)
        raise InvalidPageToken("invalid pagination token")


def _go_time(value: datetime) -> str:
    """RFC 3339 with nanoseconds as Go writes it (trailing zeros dropped, ``Z`` for UTC)."""
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def _column_json(column: Column) -> dict[str, Any]:
    out: dict[str, Any] = {"n": column.name}
    if column.order:
        out["o"] = column.order
    if isinstance(column.value, datetime):
        out["vt"] = _go_time(column.value)
    elif isinstance(column.value, uuid.UUID):
        out["vu"] = str(column.value)
    elif isinstance(column.value, int):
        out["vi"] = column.value
    elif column.value is None:
        out["vn"] = True
    else:
        out["v"] = column.value
    return out


def _columns(raw: bytes, template: Sequence[Column]) -> list[Column]:
    try:
        document = orjson.loads(raw)
        expires = datetime.fromisoformat(document["e"])
        found = [_column(entry) for entry in document["c"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidPageToken("invalid pagination token") from None
    if expires < datetime.now(UTC):
        raise InvalidPageToken("page token expired, do not persist page tokens")
    if [(c.name, c.order) for c in found] != [(c.name, c.order) for c in template]:
        raise InvalidPageToken("invalid pagination token")
    return found


def _column(entry: dict[str, Any]) -> Column:
    if entry.get("vn"):
        value: Any = None
    elif "v" in entry:
        value = entry["v"]
    elif "vu" in entry:
        value = uuid.UUID(entry["vu"])
    elif "vt" in entry:
        value = datetime.fromisoformat(entry["vt"])
    else:
        value = entry.get("vi")
    return Column(str(entry["n"]), value, int(entry.get("o", ASCENDING)))
