"""Parsers for the legacy digest formats: salted SHA (LDAP), custom-salted SHA/MD5, HMAC and crypt(3).

Formats and encodings are those of Kratos's ``hash/hash_comparator.go``. The crypt(3) formats
(md5-crypt, sha256-crypt, sha512-crypt) are computed with libpass (the maintained passlib fork).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Any

from passlib.crypto.digest import lookup_hash
from passlib.handlers.md5_crypt import md5_crypt
from passlib.handlers.sha2_crypt import sha256_crypt, sha512_crypt

from .encoding import apply_salting_format, b64decode_lenient, b64decode_strict
from .errors import UnknownHashFormatError
from .limits import HashLimits, check_bound

Check = Callable[[bytes], bool]

_SSHA = re.compile(r"\{SSHA(256|512)?\}")
_SSHA_DIGESTS = {None: "sha1", "256": "sha256", "512": "sha512"}
_HMAC_DIGESTS = frozenset({"md4", "md5", "sha1", "sha224", "sha256", "sha384", "sha512"})
# Kratos stores crypt(3) hashes under its own prefix; the crypt identifier replaces it.
_CRYPT_HANDLERS: dict[str, tuple[str, Any]] = {
    "$md5-crypt$": ("$1$", md5_crypt),
    "$sha256-crypt$": ("$5$", sha256_crypt),
    "$sha512-crypt$": ("$6$", sha512_crypt),
}


def _digest_check(algorithm: str, make_input: Callable[[bytes], bytes], expected: bytes) -> Check:
    def check(password: bytes) -> bool:
        return hmac.compare_digest(hashlib.new(algorithm, make_input(password)).digest(), expected)

    return check


def _salting_format(field: str, name: str) -> bytes:
    if not field.startswith("pf=") or len(field) == 3:
        raise UnknownHashFormatError(f"a salted {name} hash needs a pf=<base64 salting format> field")
    return b64decode_strict(field[3:], field=f"{name} salting format")


def parse_ssha(hashed: str, limits: HashLimits) -> Check:
    """``{SSHA}``, ``{SSHA256}``, ``{SSHA512}`` followed by base64 of ``digest(password + salt) + salt``."""
    match = _SSHA.match(hashed)
    if match is None:
        raise UnknownHashFormatError("a salted SHA hash starts with {SSHA}, {SSHA256} or {SSHA512}")
    algorithm = _SSHA_DIGESTS[match.group(1)]
    decoded = b64decode_lenient(hashed[match.end() :], field="SSHA value")
    size = hashlib.new(algorithm).digest_size
    check_bound("SSHA value length", len(decoded), size + 1, size + limits.max_key_length)
    digest, salt = decoded[:size], decoded[size:]
    return _digest_check(algorithm, lambda password: password + salt, digest)


def parse_sha(hashed: str, limits: HashLimits) -> Check:
    """``$sha1|sha256|sha512$pf=<b64 salting format>$<b64 salt>$<b64 hash>``."""
    fields = hashed.split("$")
    if len(fields) != 5:
        raise UnknownHashFormatError("a salted SHA hash is $sha<1|256|512>$pf=<format>$<salt>$<hash>")
    _, algorithm, pf_field, salt_b64, digest_b64 = fields
    pattern = _salting_format(pf_field, algorithm)
    salt = b64decode_strict(salt_b64, field=f"{algorithm} salt")
    digest = b64decode_strict(digest_b64, field=f"{algorithm} hash")
    check_bound(f"{algorithm} salt length", len(salt), 0, limits.max_key_length)
    return _digest_check(algorithm, lambda password: apply_salting_format(pattern, salt, password), digest)


def parse_md5(hashed: str, limits: HashLimits) -> Check:
    """``$md5$<b64 hash>`` (plain) or ``$md5$pf=<b64 salting format>$<b64 salt>$<b64 hash>``."""
    fields = hashed.split("$")
    if len(fields) == 3:
        digest = b64decode_strict(fields[2], field="md5 hash")
        return _digest_check("md5", lambda password: password, digest)
    if len(fields) != 5:
        raise UnknownHashFormatError("an md5 hash is $md5$<hash> or $md5$pf=<format>$<salt>$<hash>")
    pattern = _salting_format(fields[2], "md5")
    salt = b64decode_strict(fields[3], field="md5 salt")
    digest = b64decode_strict(fields[4], field="md5 hash")
    check_bound("md5 salt length", len(salt), 0, limits.max_key_length)
    return _digest_check("md5", lambda password: apply_salting_format(pattern, salt, password), digest)


def _hmac_digest(name: str) -> Callable[[], Any]:
    # MD4 is missing from OpenSSL 3's default provider: libpass falls back to its own implementation.
    constructor = lookup_hash(name).const
    if constructor is None:
        raise UnknownHashFormatError(f"HMAC digest {name!r} is not available")
    return constructor


def parse_hmac(hashed: str, limits: HashLimits) -> Check:
    """``$hmac-<md4|md5|sha1|sha224|sha256|sha384|sha512>$<b64 of the hex digest>$<b64 key>``."""
    fields = hashed.split("$")
    if len(fields) != 4:
        raise UnknownHashFormatError("an HMAC hash is $hmac-<digest>$<hash>$<key>")
    name = fields[1].removeprefix("hmac-")
    if name not in _HMAC_DIGESTS:
        raise UnknownHashFormatError(f"HMAC digest {name!r} is not supported")
    expected = b64decode_strict(fields[2], field="HMAC hash")
    key = b64decode_strict(fields[3], field="HMAC key")
    check_bound("HMAC key length", len(key), 0, limits.max_key_length)
    digest = _hmac_digest(name)

    def check(password: bytes) -> bool:
        return hmac.compare_digest(hmac.new(key, password, digest).hexdigest().encode("ascii"), expected)

    return check


def parse_crypt(hashed: str, limits: HashLimits) -> Check:
    """``$md5-crypt$``, ``$sha256-crypt$``, ``$sha512-crypt$``: crypt(3) ``$1$``, ``$5$``, ``$6$`` renamed."""
    prefix = hashed[: hashed.index("$", 1) + 1] if hashed.count("$") > 1 else ""
    if prefix not in _CRYPT_HANDLERS:
        raise UnknownHashFormatError("a crypt hash starts with $md5-crypt$, $sha256-crypt$ or $sha512-crypt$")
    identifier, handler = _CRYPT_HANDLERS[prefix]
    native = identifier + hashed[len(prefix) :]
    try:
        parsed = handler.from_string(native)
    except (ValueError, TypeError) as exc:
        raise UnknownHashFormatError(f"malformed {prefix.strip('$')} hash: {exc}") from exc
    if not parsed.checksum:
        raise UnknownHashFormatError(f"the {prefix.strip('$')} hash has no checksum")
    if handler is not md5_crypt:
        check_bound("sha-crypt rounds", parsed.rounds, 1000, limits.sha_crypt_max_rounds)

    def check(password: bytes) -> bool:
        try:
            return bool(handler.verify(password, native))
        except (ValueError, TypeError):  # e.g. a NUL byte in the password
            return False

    return check
