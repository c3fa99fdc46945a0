"""Opaque tokens as upstream spells them, and the hashes that storage keeps instead of them."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import uuid

_ALPHABET = string.ascii_letters + string.digits
SESSION_PREFIX = "ory_st_"
LOGOUT_PREFIX = "ory_lo_"


def new_token(prefix: str) -> str:
    """``prefix`` and 32 random letters and digits (190 bits)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(32))


def token_hash(token: str) -> str:
    """The SHA-256 (hex) of a token: what the database stores and looks up."""
    return hashlib.sha256(token.encode()).hexdigest()


def logout_token(secret: str, session_id: uuid.UUID) -> str:
    """The logout token of a session, derived from it so that storage never needs the plain token."""
    digest = hmac.new(secret.encode(), b"logout:" + session_id.bytes, hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    letters = []
    for _ in range(32):
        number, index = divmod(number, len(_ALPHABET))
        letters.append(_ALPHABET[index])
    return LOGOUT_PREFIX + "".join(letters)
