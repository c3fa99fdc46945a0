"""Parsers for the key-derivation hash formats: bcrypt, argon2, PBKDF2, scrypt and Firebase scrypt.

Each parser checks the encoding and the cost parameters of a hash, and returns a function telling whether
a password matches it. Formats and encodings are those of Kratos's ``hash/hash_comparator.go``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable

import bcrypt
from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .encoding import b64decode_strict, parse_params
from .errors import UnknownHashFormatError
from .limits import HashLimits, check_bound

Check = Callable[[bytes], bool]

BCRYPT_MAX_PASSWORD_BYTES = 72
ARGON2_VERSION = 19
_BCRYPT = re.compile(r"\$2[abzy]?\$(\d\d)\$([./A-Za-z0-9]{53})")
_ARGON2_PARAMS = re.compile(r"m=(\d+),t=(\d+),p=(\d+)")
_PBKDF2_PARAMS = re.compile(r"i=(\d+),l=(\d+)")
_SCRYPT_PARAMS = re.compile(r"ln=(\d+),r=(\d+),p=(\d+)")
# Upstream's PRF choice, quirks included: "sha224" and "sha384" are SHA-3, anything else is SHA-256.
_PBKDF2_DIGESTS = {
    "sha1": "sha1",
    "sha224": "sha3_224",
    "sha256": "sha256",
    "sha384": "sha3_384",
    "sha512": "sha512",
}
_FIREBASE_KEY_LENGTH = 32
_MAX_LOG2_N = 30


def _split(hashed: str, parts: int, name: str) -> list[str]:
    fields = hashed.split("$")
    if len(fields) != parts:
        raise UnknownHashFormatError(
            f"a {name} hash has {parts - 1} '$'-separated fields, got {len(fields) - 1}"
        )
    return fields


def _key_length(key: bytes, limits: HashLimits, name: str) -> int:
    check_bound(f"{name} key length", len(key), 1, limits.max_key_length)
    return len(key)


def parse_bcrypt(hashed: str, limits: HashLimits) -> Check:
    """``$2a$``, ``$2b$``, ``$2y$`` (and Go's lenient ``$2$``, ``$2z$``): all the same for <= 72 bytes."""
    match = _BCRYPT.fullmatch(hashed)
    if match is None:
        raise UnknownHashFormatError("a bcrypt hash is $2<a|b|y>$<cost>$<53 characters of salt and hash>")
    cost = int(match.group(1))
    check_bound("bcrypt cost", cost, 4, limits.bcrypt_max_cost)
    normalized = f"$2b${match.group(1)}${match.group(2)}".encode("ascii")

    def check(password: bytes) -> bool:
        if len(password) > BCRYPT_MAX_PASSWORD_BYTES:
            return False
        try:
            return bcrypt.checkpw(password, normalized)
        except ValueError:  # a salt that is not canonical bcrypt base64
            return False

    return check


def parse_argon2(hashed: str, limits: HashLimits) -> Check:
    """``$argon2id|argon2i$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<raw b64 salt>$<raw b64 hash>``."""
    _, variant, version, params, salt_b64, key_b64 = _split(hashed, 6, "argon2")
    (ver,) = parse_params(version, re.compile(r"v=(\d+)"), "argon2 version")
    if ver != ARGON2_VERSION:
        raise UnknownHashFormatError(f"argon2 version {ver} is not supported (only {ARGON2_VERSION})")
    memory, iterations, parallelism = parse_params(params, _ARGON2_PARAMS, "argon2 parameters")
    check_bound("argon2 parallelism", parallelism, 1, limits.argon2_max_parallelism)
    check_bound("argon2 memory (KiB)", memory, 8 * parallelism, limits.argon2_max_memory_kib)
    check_bound("argon2 iterations", iterations, 1, limits.argon2_max_iterations)
    check_bound("argon2 memory x iterations (KiB)", memory * iterations, 0, limits.argon2_max_work_kib)
    salt = b64decode_strict(salt_b64, padded=False, field="argon2 salt")
    check_bound("argon2 salt length", len(salt), 8, limits.max_key_length)
    key = b64decode_strict(key_b64, padded=False, field="argon2 hash")
    check_bound("argon2 hash length", len(key), 4, limits.max_key_length)
    kind = Type.ID if variant == "argon2id" else Type.I

    def check(password: bytes) -> bool:
        derived = hash_secret_raw(
            password, salt, iterations, memory, parallelism, len(key), kind, ARGON2_VERSION
        )
        return hmac.compare_digest(derived, key)

    return check


def parse_pbkdf2(hashed: str, limits: HashLimits) -> Check:
    """``$pbkdf2-<sha1|sha224|sha256|sha384|sha512>$i=<iterations>,l=<length>$<raw b64 salt>$<raw b64 hash>``.

    As upstream, the derived length is that of the stored hash (``l`` is parsed but not used).
    """
    _, algorithm, params, salt_b64, key_b64 = _split(hashed, 5, "pbkdf2")
    digest = _PBKDF2_DIGESTS.get(algorithm.removeprefix("pbkdf2-"), "sha256")
    iterations, _ = parse_params(params, _PBKDF2_PARAMS, "pbkdf2 parameters")
    salt = b64decode_strict(salt_b64, padded=False, field="pbkdf2 salt")
    key = b64decode_strict(key_b64, padded=False, field="pbkdf2 hash")
    length = _key_length(key, limits, "pbkdf2")
    blocks = -(-length // hashlib.new(digest).digest_size)
    check_bound("pbkdf2 iterations", iterations, 1, limits.pbkdf2_max_work // blocks)

    def check(password: bytes) -> bool:
        return hmac.compare_digest(hashlib.pbkdf2_hmac(digest, password, salt, iterations, length), key)

    return check


def _check_scrypt_cost(n: int, r: int, p: int, limits: HashLimits) -> None:
    if n < 2 or n & (n - 1):
        raise UnknownHashFormatError(f"scrypt N must be a power of two greater than 1, got {n}")
    check_bound("scrypt r", r, 1, limits.scrypt_max_work)
    check_bound("scrypt p", p, 1, limits.scrypt_max_work)
    check_bound("scrypt memory (128 x N x r bytes)", 128 * n * r, 0, limits.scrypt_max_memory)
    check_bound("scrypt work (N x r x p)", n * r * p, 0, limits.scrypt_max_work)


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    maxmem = 128 * r * (n + p + 2) + 65536
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=length)


def parse_scrypt(hashed: str, limits: HashLimits) -> Check:
    """``$scrypt$ln=<N>,r=<r>,p=<p>$<b64 salt>$<b64 hash>``: as upstream, ``ln`` is N itself (not log2)."""
    _, _, params, salt_b64, key_b64 = _split(hashed, 5, "scrypt")
    n, r, p = parse_params(params, _SCRYPT_PARAMS, "scrypt parameters")
    _check_scrypt_cost(n, r, p, limits)
    salt = b64decode_strict(salt_b64, field="scrypt salt")
    key = b64decode_strict(key_b64, field="scrypt hash")
    length = _key_length(key, limits, "scrypt")

    def check(password: bytes) -> bool:
        return hmac.compare_digest(_scrypt(password, salt, n, r, p, length), key)

    return check


def parse_firebase_scrypt(hashed: str, limits: HashLimits) -> Check:
    """``$firescrypt$ln=<log2 N>,r=,p=$<b64 salt>$<b64 hash>$<b64 salt separator>$<b64 signer key>``.

    Firebase's modified scrypt: the key derived from ``salt + separator`` AES-256-CTR-encrypts the signer key
    (zero IV); the result is the stored hash.
    """
    _, _, params, salt_b64, key_b64, separator_b64, signer_b64 = _split(hashed, 7, "firescrypt")
    log2_n, r, p = parse_params(params, _SCRYPT_PARAMS, "firescrypt parameters")
    check_bound("firescrypt ln", log2_n, 1, _MAX_LOG2_N)
    n = 1 << log2_n
    _check_scrypt_cost(n, r, p, limits)
    salt = b64decode_strict(salt_b64, field="firescrypt salt")
    key = b64decode_strict(key_b64, field="firescrypt hash")
    _key_length(key, limits, "firescrypt")
    separator = b64decode_strict(separator_b64, field="firescrypt salt separator")
    signer_key = b64decode_strict(signer_b64, field="firescrypt signer key")

    def check(password: bytes) -> bool:
        derived = _scrypt(password, salt + separator, n, r, p, _FIREBASE_KEY_LENGTH)
        encryptor = Cipher(algorithms.AES(derived), modes.CTR(bytes(16))).encryptor()
        return hmac.compare_digest(encryptor.update(signer_key) + encryptor.finalize(), key)

    return check
