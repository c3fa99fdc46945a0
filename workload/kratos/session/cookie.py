"""The session cookie's value: the session token, encrypted and authenticated with ``secrets.cookie``."""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

OPENED_CACHE_SIZE = 4096
"""Cookies whose opening is remembered: Fernet's HMAC and AES cost ~25 µs, a large part of a whoami."""


class CookieCodec:
    """Seals values with the first secret and opens them with any (rotation by list order)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        keys = [base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()) for secret in secrets]
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        # The same sealed value always opens to the same value with the same secrets: safe to remember.
        self._opened = functools.lru_cache(maxsize=OPENED_CACHE_SIZE)(self._open)

    def seal(self, value: str) -> str:
        """An encrypted, authenticated, URL-safe form of ``value``."""
        return self._fernet.encrypt(value.encode()).decode().rstrip("=")  # unpadded: no cookie quoting

    def open(self, sealed: str, max_age: int | None = None) -> str | None:
        """The value, or None when not sealed by one of our secrets (or older than ``max_age`` seconds)."""
        if max_age is None:
            return self._opened(sealed)
        return self._open(sealed, max_age)

    def _open(self, sealed: str, max_age: int | None = None) -> str | None:
        try:
            padded = sealed + "=" * (-len(sealed) % 4)
            return self._fernet.decrypt(padded.encode(), ttl=max_age).decode()
        except (InvalidToken, ValueError, UnicodeError):
            return None
