"""Verification of every password hash format Kratos stores or imports."""

from __future__ import annotations

import re
from collections.abc import Callable

from . import kdf, legacy
from .errors import UnknownHashFormatError
from .limits import DEFAULT_LIMITS, HashLimits

__all__ = ["UnknownHashFormatError", "hash_algorithm", "is_supported_hash", "validate_hash", "verify_hash"]

Check = Callable[[bytes], bool]
Parser = Callable[[str, HashLimits], Check]

# In upstream's order of detection (hash/hash_comparator.go).
_FORMATS: tuple[tuple[str, re.Pattern[str], Parser], ...] = (
    ("md5crypt", re.compile(r"\$md5-crypt\$"), legacy.parse_crypt),
    ("bcrypt", re.compile(r"\$2[abzy]?\$"), kdf.parse_bcrypt),
    ("sha256crypt", re.compile(r"\$sha256-crypt\$"), legacy.parse_crypt),
    ("sha512crypt", re.compile(r"\$sha512-crypt\$"), legacy.parse_crypt),
    ("argon2id", re.compile(r"\$argon2id\$"), kdf.parse_argon2),
    ("argon2i", re.compile(r"\$argon2i\$"), kdf.parse_argon2),
    ("pbkdf2", re.compile(r"\$pbkdf2-sha[0-9]{1,3}\$"), kdf.parse_pbkdf2),
    ("scrypt", re.compile(r"\$scrypt\$"), kdf.parse_scrypt),
    ("ssha", re.compile(r"\{SSHA(256|512)?\}"), legacy.parse_ssha),
    ("sha", re.compile(r"\$sha(1|256|512)\$"), legacy.parse_sha),
    ("firebasescrypt", re.compile(r"\$firescrypt\$"), kdf.parse_firebase_scrypt),
    ("md5", re.compile(r"\$md5\$"), legacy.parse_md5),
    ("hmac", re.compile(r"\$hmac-(md4|md5|sha1|sha224|sha256|sha384|sha512)\$"), legacy.parse_hmac),
)


def hash_algorithm(hashed: str) -> str | None:
    """Return the format ``hashed`` claims by its prefix (as upstream's ``Is*Hash``), or None."""
    for name, prefix, _ in _FORMATS:
        if prefix.match(hashed):
            return name
    return None


def _parse(hashed: str, limits: HashLimits) -> Check:
    for name, prefix, parser in _FORMATS:
        if prefix.match(hashed):
            try:
                return parser(hashed, limits)
            except UnknownHashFormatError as exc:
                raise UnknownHashFormatError(f"invalid {name} hash: {exc}") from exc
    raise UnknownHashFormatError(
        "unknown hash format: supported are bcrypt, argon2id, argon2i, pbkdf2, scrypt, firescrypt, "
        "{SSHA}, $sha1/256/512$, $md5$, md5-crypt, sha256-crypt, sha512-crypt and hmac"
    )


def validate_hash(hashed: str, limits: HashLimits = DEFAULT_LIMITS) -> None:
    """Raise UnknownHashFormatError unless ``hashed`` is well formed with parameters within ``limits``."""
    _parse(hashed, limits)


def is_supported_hash(hashed: str, limits: HashLimits = DEFAULT_LIMITS) -> bool:
    """Whether ``hashed`` is a well-formed hash of a supported format within ``limits``."""
    try:
        _parse(hashed, limits)
    except UnknownHashFormatError:
        return False
    return True


def encode_password(password: str) -> bytes:
    """Return the UTF-8 bytes hashed for ``password`` (lone surrogates kept, never an error)."""
    return password.encode("utf-8", "surrogatepass")


def verify_hash(password: str, hashed: str, limits: HashLimits = DEFAULT_LIMITS) -> bool:
    """Whether ``password`` matches ``hashed``, compared in constant time.

    A malformed, unknown or out-of-bounds hash never matches (False); use validate_hash to learn why.
    This is CPU-bound: call it from a worker thread (see PasswordHasher.verify).
    """
    try:
        check = _parse(hashed, limits)
    except UnknownHashFormatError:
        return False
    return check(encode_password(password))
