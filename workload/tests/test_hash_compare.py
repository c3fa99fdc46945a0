"""Verification of every importable hash format: upstream's vectors and vectors made by other libraries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
import warnings
from typing import Any

import argon2
import bcrypt
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from passlib.crypto.digest import pbkdf2_hmac
from passlib.crypto.scrypt._builtin import ScryptEngine
from passlib.handlers.ldap_digests import ldap_salted_sha1, ldap_salted_sha256, ldap_salted_sha512
from passlib.handlers.md5_crypt import md5_crypt
from passlib.handlers.pbkdf2 import pbkdf2_sha1, pbkdf2_sha256, pbkdf2_sha512
from passlib.handlers.sha2_crypt import sha256_crypt, sha512_crypt
from passlib.utils.binary import ab64_decode

from kratos.hash.compare import hash_algorithm, is_supported_hash, validate_hash, verify_hash
from kratos.hash.errors import UnknownHashFormatError
from kratos.hash.limits import DEFAULT_LIMITS, HashLimits


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def raw_b64(data: bytes) -> str:
    return b64(data).rstrip("=")


# --- upstream's own test vectors (ory/kratos hash/hasher_test.go) ------------------------------------------

FIRESCRYPT = (
    "$firescrypt$ln=14,r=8,p=1$sPtDhWcd1MfdAw==$xbSou7FOl6mChCyzpCPIQ7tku7nsQMTFtyOZSXXd7tjBa4NtimOx7v42Gv2Sfz"
    "PQu1oxM2/k4SsbOu73wlKe1A==$Bw==$YE0dO4bwD4JnJafh6lZZfkp1MtKzuKAXQcDCJNJNyeCHairWHKENOkbh3dzwaCdizzOspwr/FI"
    "TUVlnOAwPKyw=="
)
SHA512_CRYPT = (
    "$sha512-crypt$rounds=656000$0baQbxBrfpKqvizk$Q9cYk1MeNAlECPgpG3jjfNI2DumLqd0yHbxzLdxiX6nsSD5i9n0awcbiCf8R5Dz"
    "pIYxeBPznPcb1wtzlgUKtH0"
)
HMAC_SHA512 = (
    "$hmac-sha512$OTFmODY0ZTI1NmU0ZjVhYjhiMDViZGFmNGVmNGZmMGVlNTY4ODYwNWJhYTk4MTk2OTgyMzc3NzI1YTc4MzcxMTMzNz"
    "ZmY2YxYTk5MGMxM2RiZDk2MGFmMmQ1YzRmODdlMGMwYTNkYjcyNjY0NjM4NGE4YzQ2MjNhZDZkN2UxZTE=$MTIzNDU="
)

UPSTREAM_VECTORS = [
    ("test", "$2a$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6", "bcrypt"),
    ("test", "$argon2id$v=19$m=32,t=2,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw", "argon2id"),
    (
        "test",
        "$argon2id$v=19$m=32,t=5,p=4$cm94YnRVOW5jZzFzcVE4bQ$fBxypOL0nP/zdPE71JtAV71i487LbX3fJI5PoTN6Lp4",
        "argon2id",
    ),
    (
        "test",
        "$argon2i$v=19$m=65536,t=3,p=4$kk51rW/vxIVCYn+EG4kTSg$NyT88uraJ6im6dyha/M5jhXvpqlEdlS/9fEm7ScMb8c",
        "argon2i",
    ),
    (
        "test",
        "$pbkdf2-sha256$i=100000,l=32$1jP+5Zxpxgtee/iPxGgOz0RfE9/KJuDElP1ley4VxXc$QJxzfvdbHYBpydCbHoFg3GJEqMFULwskiuqiJctoYpI",
        "pbkdf2",
    ),
    (
        "test",
        "$pbkdf2-sha512$i=100000,l=32$bdHBpn7OWOivJMVJypy2UqR0UnaD5prQXRZevj/05YU$+wArTfv1a+bNGO1iZrmEdVjhA+lL11wF4/IxpgYfPwc",
        "pbkdf2",
    ),
    (
        "test",
        "$scrypt$ln=16384,r=8,p=1$2npRo7P03Mt8keSoMbyD/tKFWyUzjiQf2svUaNDSrhA=$MiCzNcIplSMqSBrm4HckjYqYhaVPPjTARTzwB1cVNYE=",
        "scrypt",
    ),
    ("8x4WjoDbSxJZdR", FIRESCRYPT, "firebasescrypt"),
    ("test123", "{SSHA}JFZFs0oHzxbMwkSJmYVeI8MnTDy/276a", "ssha"),
    ("test123", "{SSHA256}czO44OTV17PcF1cRxWrLZLy9xHd7CWyVYplr1rOhuMlx/7IK", "ssha"),
    (
        "test123",
        "{SSHA512}xPUl/px+1cG55rUH4rzcwxdOIPSB2TingLpiJJumN2xyDWN4Ix1WQG3ihnvHaWUE8MYNkvMi5rf0C9NYixHsE6Yh59M=",
        "ssha",
    ),
    ("test", "$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=", "sha"),
    (
        "BwS^514g^cv@Z",
        "$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$99h9net4BXl7qdTRaiGUobLROxM=",
        "sha",
    ),
    (
        "test",
        "$sha1$pf=Pz9zdGF0aWNQcmVmaXg/P3tTQUxUfXtQQVNTV09SRH0=$NW9wbWtnejAzcg==$SAAxMUn7jxckQXkBmsVF0nHwqso=",
        "sha",
    ),
    ("test", "$sha1$pf=e1BBU1NXT1JEfSUle1NBTFR9$NW9wbWtnejAzcg==$YX0AW8/MW5ojUlnzTaR43ucHCog=", "sha"),
    ("test", "$sha1$pf=JHtQQVNTV09SRH0ke1NBTFR9JA==$NW9wbWtnejAzcg==$iE5n1yjX3oAdxRHwZ4u57I4LpQo=", "sha"),
    (
        "test",
        "$sha256$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$0gfRVLCvtBCk20udLDEY5vNhujWx7RGjwRIS1ebMsLY=",
        "sha",
    ),
    (
        "test",
        "$sha256$pf=e1NBTFR9JCR7UEFTU1dPUkR9$NW9wbWtnejAzcg==$HokCOi9OtiZaZRvnkgemV3B4UUHpI7kA8zq/EZWH2NY=",
        "sha",
    ),
    (
        "test",
        "$sha512$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$6ctpVuApMNp0CgBXcdHw/GC562eFEFGr4gpgANX8ZYsX+j5B19Ikd"
        "mOY2Fytsz3QUwSWdGcUjbqwgJGTH0UYvw==",
        "sha",
    ),
    ("test", "$md5$CY9rzUYh03PK3k6DJie09g==", "md5"),
    ("ory", "$md5$ptoWyof5SobW+pbZu2QXoQ==", "md5"),
    ("test", "$md5$pf=e1NBTFR9e1BBU1NXT1JEfQ==$MTIz$q+RdKCgc+ipCAcm5ChQwlQ==", "md5"),
    ("test", "$md5$pf=e1NBTFR9JCR7UEFTU1dPUkR9$MTIzNA==$ud392Z8rfZ+Ou7ZFXYLKbA==", "md5"),
    ("ory", "$md5$pf=e1BBU1NXT1JEfXtTQUxUfSQ/$MTIzNDU2Nzg5$8PhwWanVRnpJAFK4NUjR0w==", "md5"),
    ("test", "$md5-crypt$TVEiiKNb$SN6/pUaRQS/E8Jh46As2C/", "md5crypt"),
    ("test", "$md5-crypt$$whuMjZj.HMFoaTaZRRtkO0", "md5crypt"),
    ("ory", "$md5-crypt$xWMlm2eL$GGTOpgZu4p2k6ORprAu3b.", "md5crypt"),
    (
        "test",
        "$sha256-crypt$rounds=535000$05R.9KB6UC2kLI3w$Q/zslzx./JjkAVPTwp6th7nW5l7JU91Gte/UmIh.U78",
        "sha256crypt",
    ),
    ("ory", SHA512_CRYPT, "sha512crypt"),
    ("test", "$hmac-md4$MWQ5ZTI4Nzc2Zjg4YmE2MTQ5YjQ0OTMyOGE4NWU4YjA=$MTIzNDU=", "hmac"),
    ("test", "$hmac-md5$ZmU4Njk3Zjc0MmQwODA0MDVkMTI3MGU2MTYzMzE2Zjk=$MTIzNDU=", "hmac"),
    ("test", "$hmac-sha1$NDMyNjcxZTUyY2Y2YTBmYjZjZDE2NjQxYjAwNjFiZjAwOGEzNWM5MA==$MTIzNDU=", "hmac"),
    (
        "test",
        "$hmac-sha224$YmUwYmYzM2EwNGRlNDE0YjQzNjBhNmIyOThmNmIyYzI4OWQyMzk3MDUwZDFjMzliYjVmMDMyOTQ=$MTIzNDU=",
        "hmac",
    ),
    (
        "test",
        "$hmac-sha256$ZTAzMWJhMWMyOTM4YjFkMjgzZjkxOWExZGY5YWM2NmMxOTJhN2RkNzQ0MzJkNWZkNGFkYTI5OTk0MWJhMTA5Zg==$MTIzNDU=",
        "hmac",
    ),
    (
        "test",
        "$hmac-sha384$ZWEyMGM3NGE4Y2UzMTljNTdjZTlhZGQyYTZjNDE0MGQ4YjMwYWIwOWM4OTRiNWQ4MmZjODlhMzBhMmQzNGE5NmQ0NDY1NW"
        "RhYjQ2ZjhiYjBkNTRmYjk5YWZkZTA1MGY1$MTIzNDU=",
        "hmac",
    ),
    ("test", HMAC_SHA512, "hmac"),
]

PBKDF2_TAIL = "1jP+5Zxpxgtee/iPxGgOz0RfE9/KJuDElP1ley4VxXc$QJxzfvdbHYBpydCbHoFg3GJEqMFULwskiuqiJctoYpI"

# Hashes upstream's tests expect NOT to match the given password (wrong password, salt, key or hash).
UPSTREAM_MISMATCHES = [
    ("test", "$2a$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL7"),
    ("test", "$argon2id$v=19$m=32,t=2,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRN2"),
    (
        "test",
        "$argon2i$v=19$m=65536,t=3,p=4$pZ+27D6B0bCi0DwSmANF1w$4RNCUu4Uyu7eTIvzIdSuKz+I9idJlX/ykn6J10/W0EU",
    ),
    (
        "test",
        "$pbkdf2-sha512$i=100000,l=32$bdHBpn7OWOivJMVJypy2UqR0UnaD5prQXRZevj/05YU$+wArTfv1a+bNGO1iZrmEdVjhA+lL11wF4/IxpgYfPww",
    ),
    (
        "tesu",
        "$scrypt$ln=16384,r=8,p=1$2npRo7P03Mt8keSoMbyD/tKFWyUzjiQf2svUaNDSrhA=$MiCzNcIplSMqSBrm4HckjYqYhaVPPjTARTzwB1cVNYE=",
    ),
    ("test", "$pbkdf2-sha256$i=100000,l=32$" + PBKDF2_TAIL.replace("VxXc$", "VxXcc$")),
    ("test", "$pbkdf2-sha256$i=100000,l=32$" + PBKDF2_TAIL + "I"),
    ("8x4WjoDbSxJZdR", FIRESCRYPT[:-4] + "Kyc=="),
    ("badtest", "{SSHA}JFZFs0oHzxbMwkSJmYVeI8MnTDy/276a"),
    ("badtest", "{SSHA256}czO44OTV17PcF1cRxWrLZLy9xHd7CWyVYplr1rOhuMlx/7IK"),
    ("wrongpass", "$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ="),
    ("test", "$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$cDJvb3ZrZGJ6cQ==$2qU2SGWP8viTM1md3FiI3+rjWXQ="),
    ("test", "$md5$WhBei51A4TKXgNYuoiZdig=="),
    ("test", "$md5$pf=e1NBTFR9e1BBU1NXT1JEfQ==$MTIz$hh8ZTp1hGPPZQqcr4+UXSQ=="),
    ("ory1", "$md5$pf=e1BBU1NXT1JEfXtTQUxUfSQ/$MTIzNDU2Nzg5$8PhwWanVRnpJAFK4NUjR0w=="),
    ("test", "$md5-crypt$xWMlm2eL$GGTOpgZu4p2k6ORprAu3b."),
    ("test", SHA512_CRYPT),
    ("test", "$hmac-md4$MWQ5ZTI4Nzc2Zjg4YmE2MTQ5YjQ0OTMyOGE4NWU4YjA=$MTIzNA=="),
    ("ory", "$hmac-md5$ZmU4Njk3Zjc0MmQwODA0MDVkMTI3MGU2MTYzMzE2Zjk=$MTIzNDU="),
    ("test", HMAC_SHA512[: -len("MTIzNDU=")] + "MTIzNA=="),
]


@pytest.mark.parametrize(("password", "hashed", "algorithm"), UPSTREAM_VECTORS)
def test_upstream_vectors_match(password: str, hashed: str, algorithm: str) -> None:
    assert hash_algorithm(hashed) == algorithm
    validate_hash(hashed)
    assert is_supported_hash(hashed)
    assert verify_hash(password, hashed)


@pytest.mark.parametrize(("password", "hashed"), UPSTREAM_MISMATCHES)
def test_upstream_mismatches_do_not_match(password: str, hashed: str) -> None:
    assert verify_hash(password, hashed) is False


# --- vectors made at test time by independent implementations -------------------------------------------


def _passlib_pbkdf2(handler: type, digest: str, password: str) -> str:
    _, _, rounds, salt, checksum = handler.using(rounds=1000).hash(password).split("$")
    key = ab64_decode(checksum)
    return f"$pbkdf2-{digest}$i={rounds},l={len(key)}${raw_b64(ab64_decode(salt))}${raw_b64(key)}"


def _pbkdf2_sha3(kratos_name: str, digest: str, password: str) -> str:
    salt = os.urandom(16)
    key = pbkdf2_hmac(digest, password.encode(), salt, 1000, 32)
    return f"$pbkdf2-{kratos_name}$i=1000,l=32${raw_b64(salt)}${raw_b64(key)}"


def _scrypt(password: str) -> str:
    salt = os.urandom(16)
    key = ScryptEngine.execute(password.encode(), salt, 16, 2, 1, 32)
    return f"$scrypt$ln=16,r=2,p=1${b64(salt)}${b64(key)}"


def _firescrypt(password: str) -> str:
    """Firebase's scheme, with the CTR keystream built by hand from AES-ECB counter blocks."""
    salt, separator, signer = os.urandom(12), b"\x07", os.urandom(64)
    derived = ScryptEngine.execute(password.encode(), salt + separator, 1 << 4, 8, 1, 32)
    ecb = Cipher(algorithms.AES(derived), modes.ECB()).encryptor()  # CTR built by hand below
    stream = b"".join(ecb.update(i.to_bytes(16, "big")) for i in range(len(signer) // 16))
    hashed = bytes(a ^ b for a, b in zip(signer, stream, strict=True))
    return f"$firescrypt$ln=4,r=8,p=1${b64(salt)}${b64(hashed)}${b64(separator)}${b64(signer)}"


def _salted(kind: str, pattern: str, password: str) -> str:
    salt = os.urandom(8)
    filled = pattern.encode().replace(b"{SALT}", salt).replace(b"{PASSWORD}", password.encode())
    return f"${kind}$pf={b64(pattern.encode())}${b64(salt)}${b64(hashlib.new(kind, filled).digest())}"


def _hmac(digest: str, password: str) -> str:
    key = os.urandom(20)
    mac = hmac.new(key, password.encode(), digest).hexdigest().encode()
    return f"$hmac-{digest}${b64(mac)}${b64(key)}"


def _passlib_crypt(handler: Any, settings: dict[str, int], kratos_prefix: str, password: str) -> str:
    return kratos_prefix + handler.using(**settings).hash(password)[2:]


def _libxcrypt(setting: str, kratos_prefix: str, password: str) -> str:
    """crypt(3) of the C library (libxcrypt): an implementation independent of passlib's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        crypt = pytest.importorskip("crypt")
    native = crypt.crypt(password, setting)
    assert native is not None
    return kratos_prefix + native[2:]


GENERATORS = {
    "bcrypt-2a": lambda pw: bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4, b"2a")).decode(),
    "bcrypt-2b": lambda pw: bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4, b"2b")).decode(),
    "bcrypt-2y": lambda pw: "$2y$" + bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4))[4:].decode(),
    "argon2id": lambda pw: argon2.PasswordHasher(1, 64, 2, type=argon2.Type.ID).hash(pw),
    "argon2i": lambda pw: argon2.PasswordHasher(2, 32, 1, type=argon2.Type.I).hash(pw),
    "pbkdf2-sha1": lambda pw: _passlib_pbkdf2(pbkdf2_sha1, "sha1", pw),
    "pbkdf2-sha256": lambda pw: _passlib_pbkdf2(pbkdf2_sha256, "sha256", pw),
    "pbkdf2-sha512": lambda pw: _passlib_pbkdf2(pbkdf2_sha512, "sha512", pw),
    "pbkdf2-sha224-is-sha3": lambda pw: _pbkdf2_sha3("sha224", "sha3_224", pw),
    "pbkdf2-sha384-is-sha3": lambda pw: _pbkdf2_sha3("sha384", "sha3_384", pw),
    "scrypt": _scrypt,
    "firescrypt": _firescrypt,
    "ssha1": lambda pw: ldap_salted_sha1.hash(pw),
    "ssha256": lambda pw: ldap_salted_sha256.hash(pw),
    "ssha512": lambda pw: ldap_salted_sha512.hash(pw),
    "sha1-pf": lambda pw: _salted("sha1", "{SALT}{PASSWORD}", pw),
    "sha256-pf": lambda pw: _salted("sha256", "{PASSWORD}--{SALT}", pw),
    "sha512-pf": lambda pw: _salted("sha512", "x{SALT}{PASSWORD}{SALT}", pw),
    "md5-pf": lambda pw: _salted("md5", "{SALT}$${PASSWORD}", pw),
    "md5-plain": lambda pw: "$md5$" + b64(hashlib.md5(pw.encode()).digest()),
    "md5-crypt-passlib": lambda pw: _passlib_crypt(md5_crypt, {}, "$md5-crypt", pw),
    "sha256-crypt-passlib": lambda pw: _passlib_crypt(sha256_crypt, {"rounds": 5000}, "$sha256-crypt", pw),
    "sha512-crypt-passlib": lambda pw: _passlib_crypt(sha512_crypt, {"rounds": 1000}, "$sha512-crypt", pw),
    "md5-crypt-libc": lambda pw: _libxcrypt("$1$saltsalt$", "$md5-crypt", pw),
    "sha256-crypt-libc": lambda pw: _libxcrypt("$5$rounds=2000$saltsalt$", "$sha256-crypt", pw),
    "sha512-crypt-libc-implicit-rounds": lambda pw: _libxcrypt("$6$abc$", "$sha512-crypt", pw),
    "hmac-md5": lambda pw: _hmac("md5", pw),
    "hmac-sha1": lambda pw: _hmac("sha1", pw),
    "hmac-sha224": lambda pw: _hmac("sha224", pw),
    "hmac-sha256": lambda pw: _hmac("sha256", pw),
    "hmac-sha384": lambda pw: _hmac("sha384", pw),
    "hmac-sha512": lambda pw: _hmac("sha512", pw),
}


@pytest.mark.parametrize("kind", sorted(GENERATORS))
@pytest.mark.parametrize("password", ["correct horse", "pässwörd-€-🔑"])
def test_generated_vectors(kind: str, password: str) -> None:
    hashed = GENERATORS[kind](password)
    validate_hash(hashed)
    assert verify_hash(password, hashed)
    assert not verify_hash(password + "x", hashed)
    assert not verify_hash("", hashed)


# --- malformed and out-of-bounds hashes ------------------------------------------------------------------

SCRYPT_TAIL = "2npRo7P03Mt8keSoMbyD/tKFWyUzjiQf2svUaNDSrhA=$MiCzNcIplSMqSBrm4HckjYqYhaVPPjTARTzwB1cVNYE="
HMAC_MD5_HASH = "ZmU4Njk3Zjc0MmQwODA0MDVkMTI3MGU2MTYzMzE2Zjk="

MALFORMED = [
    "",
    "test",
    "$unknown$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6",
    "$2a$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9s",
    "$2a$1$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6",
    "$2x$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6",
    "$argon2id$v=18$m=32,t=2,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw",
    "$argon2id$m=32,t=2,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw",
    "$argon2id$v=19$m=32,t=2$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw",
    "$argon2id$v=19$m=32,t=2,p=4$cm94YnRVOW5jZzFzcVE4bQ==$MNzk5BtR2vUhrp6qQEjRNw",
    "$argon2id$v=19$m=32,t=2,p=4$c$MNzk5BtR2vUhrp6qQEjRNw",
    "$argon2id$v=19$m=16,t=2,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw",
    "$pbkdf2-sha256$" + PBKDF2_TAIL,
    "$pbkdf2-sha256$aaaa$" + PBKDF2_TAIL,
    "$pbkdf2-sha512$I=100000,l=32$" + PBKDF2_TAIL,
    "$pbkdf2-sha256$i=0,l=32$" + PBKDF2_TAIL,
    "$scrypt$" + SCRYPT_TAIL,
    "$scrypt$ln=16385,r=8,p=1$" + SCRYPT_TAIL,
    "$scrypt$ln=abc,r=8,p=1$" + SCRYPT_TAIL,
    "$scrypt$ln=16384,r=8,p=1$(" + SCRYPT_TAIL,
    "$scrypt$ln=16384,r=0,p=1$" + SCRYPT_TAIL,
    "$firescrypt$ln=14,r=8,p=1$sPtDhWcd1MfdAw==$Bw==",
    "$firescrypt$ln=0,r=8,p=1$sPtDhWcd1MfdAw==$xbSo$Bw==$YE0d",
    "{SSHA}tooshort",
    "{SSHAnotExistent}xPUl/px+1cG55rUH4rzcwxdOIPSB2TingLpiJJumN2xyDWN4Ix1WQG3ihnvHaWUE8MYNkvMi5rf0C9NYixHsE6Yh59M=",
    "{SSHA256}not base64!",
    "$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$5opmkgz03r$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
    "$sha1$pf=$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
    "$sha1$$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
    "$sha1$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
    "$shaNotExistent$pf=e1NBTFR9e1BBU1NXT1JEfQ==$NW9wbWtnejAzcg==$2qU2SGWP8viTM1md3FiI3+rjWXQ=",
    "$md5$$",
    "$md5$$$",
    "$md5$pf=$$",
    "$md5$pf=MTIz$Z$",
    "$md5$pf=MTIz$MTIz$Z",
    "$md5-crypt$$",
    "$md5-crypt$$$",
    "$md5-crypt$whuMjZj.HMFoaTaZRRtkO0",
    "$sha256-crypt$$",
    "$sha256-crypt$$$",
    "$sha512-crypt$$",
    "$sha256-crypt$rounds=10$saltsalt$q6kNPzk9GPb3dpYKO2TUS45z2kiVxsUVz7eWVJcih.0",
    "$hmac-md5$" + HMAC_MD5_HASH,
    "$hmac-md5$MTIzNDU=",
    "$hmac-md5$",
    "$hmac$" + HMAC_MD5_HASH + "$MTIzNDU=",
    "$hmac-invalid$" + HMAC_MD5_HASH + "$MTIzNDU=",
    "$hmac-sha3-256$" + HMAC_MD5_HASH + "$MTIzNDU=",
    "$hmac-md5$" + HMAC_MD5_HASH + "$MTIzNDU",
]


@pytest.mark.parametrize("hashed", MALFORMED)
def test_malformed_hashes_are_rejected_and_never_match(hashed: str) -> None:
    with pytest.raises(UnknownHashFormatError) as excinfo:
        validate_hash(hashed)
    assert str(excinfo.value)
    assert not is_supported_hash(hashed)
    assert verify_hash("test", hashed) is False
    assert verify_hash("ory", hashed) is False


def test_unknown_format_message_lists_supported_formats() -> None:
    with pytest.raises(UnknownHashFormatError, match=r"unknown hash format: supported are bcrypt"):
        validate_hash("plaintext")


OUT_OF_BOUNDS = [
    ("$2a$17$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6", "bcrypt cost 17"),
    ("$2b$31$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6", "bcrypt cost 31"),
    ("$argon2id$v=19$m=4194304,t=1,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw", "argon2 memory"),
    ("$argon2id$v=19$m=65536,t=1000,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw", "argon2 iterations"),
    ("$argon2i$v=19$m=2097152,t=64,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw", "memory x iterations"),
    ("$argon2id$v=19$m=65536,t=1,p=100000$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw", "parallelism"),
    ("$pbkdf2-sha256$i=4294967295,l=32$" + PBKDF2_TAIL, "pbkdf2 iterations"),
    ("$scrypt$ln=1073741824,r=8,p=1$" + SCRYPT_TAIL, "scrypt memory"),
    ("$scrypt$ln=16384,r=8,p=1000$" + SCRYPT_TAIL, "scrypt work"),
    ("$firescrypt$ln=60,r=8,p=1$sPtDhWcd1MfdAw==$xbSo$Bw==$YE0d", "firescrypt ln"),
    ("$sha512-crypt$rounds=999999999$saltsalt$" + "a" * 86, "sha-crypt rounds"),
]


@pytest.mark.parametrize(("hashed", "what"), OUT_OF_BOUNDS)
def test_out_of_bounds_parameters_are_rejected_without_computing(hashed: str, what: str) -> None:
    with pytest.raises(UnknownHashFormatError, match="out of bounds") as excinfo:
        validate_hash(hashed)
    assert what.split()[0] in str(excinfo.value)
    started = time.monotonic()
    assert verify_hash("test", hashed) is False
    assert time.monotonic() - started < 0.5


def test_limits_can_be_widened_for_configured_parameters() -> None:
    hashed = "$argon2id$v=19$m=4194304,t=1,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw"
    wide = DEFAULT_LIMITS.covering(
        bcrypt_cost=18, argon2_memory_kib=4194304, argon2_iterations=1, argon2_parallelism=4
    )
    assert wide.bcrypt_max_cost == 18
    assert wide.argon2_max_memory_kib == 4194304
    assert wide.pbkdf2_max_work == DEFAULT_LIMITS.pbkdf2_max_work
    assert not is_supported_hash(hashed)
    validate_hash(hashed, wide)
    assert (
        DEFAULT_LIMITS.covering(bcrypt_cost=4, argon2_memory_kib=8, argon2_iterations=1, argon2_parallelism=1)
        == HashLimits()
    )


def test_tightened_limits_reject_what_defaults_accept() -> None:
    hashed = "$pbkdf2-sha256$i=100000,l=32$" + PBKDF2_TAIL
    validate_hash(hashed)
    with pytest.raises(UnknownHashFormatError, match="pbkdf2 iterations 100000 is out of bounds"):
        validate_hash(hashed, HashLimits(pbkdf2_max_work=10_000))


def test_bcrypt_over_72_bytes_never_matches() -> None:
    password = "a" * 73
    hashed = bcrypt.hashpw(password[:72].encode(), bcrypt.gensalt(4)).decode()
    assert verify_hash(password[:72], hashed)
    assert not verify_hash(password, hashed)


def test_lone_surrogates_and_nul_bytes_never_raise() -> None:
    hashed = "$md5$CY9rzUYh03PK3k6DJie09g=="
    assert not verify_hash("\ud800", hashed)
    assert not verify_hash("te\x00st", hashed)
    assert not verify_hash("te\x00st", "$md5-crypt$TVEiiKNb$SN6/pUaRQS/E8Jh46As2C/")
