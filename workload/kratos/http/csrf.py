"""CSRF protection of browser flows: a random token in a cookie, submitted back masked.

The masked form (random pad + pad XOR token, base64) differs on every render, so the page never repeats
the secret (BREACH); a submission is genuine when its unmasked token equals the cookie's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

TOKEN_BYTES = 32
COOKIE_MAX_AGE = 365 * 24 * 3600


def cookie_name(public_base_url: str) -> str:
    """``csrf_token_<sha256 of the public base URL>``, so two servers on one domain do not collide."""
    return "csrf_token_" + hashlib.sha256(public_base_url.encode()).hexdigest()


def _encode(raw: bytes) -> str:
    """URL-safe base64 without padding: a cookie value that needs no quoting."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def new_token() -> str:
    """A fresh cookie value."""
    return _encode(secrets.token_bytes(TOKEN_BYTES))


def _raw(token: str) -> bytes | None:
    raw = _decode(token)
    return raw if raw is not None and len(raw) == TOKEN_BYTES else None


def is_token(value: str) -> bool:
    """Whether ``value`` has the form of a cookie token."""
    return _raw(value) is not None


def mask(token: str) -> str:
    """The form of ``token`` a page may carry."""
    raw = _raw(token)
    assert raw is not None, "only tokens made by new_token can be masked"
    pad = secrets.token_bytes(TOKEN_BYTES)
    return _encode(pad + bytes(a ^ b for a, b in zip(pad, raw, strict=True)))


def matches(masked: str | None, cookie_token: str | None) -> bool:
    """Whether a submitted masked token belongs to the cookie's token (constant time)."""
    if not masked or not cookie_token:
        return False
    raw = _raw(cookie_token)
    both = _decode(masked)
    if raw is None or both is None or len(both) != 2 * TOKEN_BYTES:
        return False
    pad, hidden = both[:TOKEN_BYTES], both[TOKEN_BYTES:]
    return hmac.compare_digest(bytes(a ^ b for a, b in zip(pad, hidden, strict=True)), raw)
