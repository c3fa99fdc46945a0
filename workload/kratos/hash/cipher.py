"""Encryption at rest (``ciphers.algorithm``), in upstream's wire format: a hex string.

``aes`` is AES-256-GCM and ``xchacha20-poly1305`` is XChaCha20-Poly1305; both prepend their random nonce
(12 and 24 bytes) to the ciphertext and its 16-byte tag. ``noop`` only hex-encodes. The keys are the
``secrets.cipher`` strings' bytes (32 each): the first encrypts, every one is tried in turn to decrypt,
so a new secret can be put in front while data sealed with the old ones stays readable.
"""

from __future__ import annotations

import binascii
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.exceptions import CryptoError

if TYPE_CHECKING:
    from kratos.config import KratosConfig

__all__ = [
    "AesGcmCipher",
    "Cipher",
    "CipherError",
    "NoopCipher",
    "XChaCha20Poly1305Cipher",
    "make_cipher",
]

KEY_SIZE = 32
TAG_SIZE = 16


class CipherError(ValueError):
    """A value cannot be encrypted or decrypted: no key, bad hex, too short, wrong key or tampered."""


class Cipher(Protocol):
    """Turns bytes into a hex string and back; empty input gives empty output."""

    def encrypt(self, plaintext: bytes) -> str:
        """The hex-encoded ciphertext of ``plaintext`` (``""`` for empty input)."""
        ...

    def decrypt(self, ciphertext: str) -> bytes:
        """The plaintext of a hex-encoded ``ciphertext`` (``b""`` for ``""``); raises CipherError."""
        ...


def _unhex(text: str) -> bytes:
    """Decode hex strictly, as Go's ``hex.DecodeString`` does (either case; no spaces, even length)."""
    try:
        return binascii.unhexlify(text)
    except (binascii.Error, ValueError):
        raise CipherError("unable to decode the hex-encoded ciphertext") from None


class NoopCipher:
    """``ciphers.algorithm: noop``: hex encoding only, nothing is encrypted."""

    def encrypt(self, plaintext: bytes) -> str:
        """``plaintext`` as lower-case hex."""
        return plaintext.hex()

    def decrypt(self, ciphertext: str) -> bytes:
        """The bytes ``ciphertext`` encodes."""
        return _unhex(ciphertext)


class _AeadCipher:
    """An AEAD with a random nonce prepended to its output; subclasses seal and open one message."""

    nonce_size: int

    def __init__(self, keys: Sequence[bytes]) -> None:
        for index, key in enumerate(keys):
            if len(key) != KEY_SIZE:
                raise ValueError(f"cipher key {index} must be {KEY_SIZE} bytes long, got {len(key)}")
        self._keys = tuple(keys)

    def _seal(self, key: bytes, nonce: bytes, plaintext: bytes) -> bytes:
        raise NotImplementedError

    def _open(self, key: bytes, nonce: bytes, sealed: bytes) -> bytes | None:
        """The plaintext, or None when the key does not fit or the data was altered."""
        raise NotImplementedError

    def encrypt(self, plaintext: bytes) -> str:
        """Seal with the first key: hex of nonce | ciphertext | tag."""
        if not plaintext:
            return ""
        if not self._keys:
            raise CipherError("unable to encrypt: no cipher secrets are configured (secrets.cipher)")
        nonce = os.urandom(self.nonce_size)
        return (nonce + self._seal(self._keys[0], nonce, plaintext)).hex()

    def decrypt(self, ciphertext: str) -> bytes:
        """Open with the first key that fits, trying them in configured order."""
        if not ciphertext:
            return b""
        if not self._keys:
            raise CipherError("unable to decrypt: no cipher secrets are configured (secrets.cipher)")
        raw = _unhex(ciphertext)
        if len(raw) < self.nonce_size + TAG_SIZE:
            raise CipherError(
                f"the ciphertext is too short: {len(raw)} bytes, at least {self.nonce_size + TAG_SIZE} needed"
            )
        nonce, sealed = raw[: self.nonce_size], raw[self.nonce_size :]
        for key in self._keys:
            plaintext = self._open(key, nonce, sealed)
            if plaintext is not None:
                return plaintext
        raise CipherError(
            "unable to decrypt: no configured cipher secret opens it (wrong secret or altered data)"
        )


class AesGcmCipher(_AeadCipher):
    """``ciphers.algorithm: aes``: AES-256-GCM with a 12-byte random nonce."""

    nonce_size = 12

    def __init__(self, keys: Sequence[bytes]) -> None:
        super().__init__(keys)
        self._aeads = {key: AESGCM(key) for key in self._keys}

    def _seal(self, key: bytes, nonce: bytes, plaintext: bytes) -> bytes:
        return self._aeads[key].encrypt(nonce, plaintext, None)

    def _open(self, key: bytes, nonce: bytes, sealed: bytes) -> bytes | None:
        try:
            return self._aeads[key].decrypt(nonce, sealed, None)
        except InvalidTag:
            return None


class XChaCha20Poly1305Cipher(_AeadCipher):
    """``ciphers.algorithm: xchacha20-poly1305``: XChaCha20-Poly1305 with a 24-byte random nonce."""

    nonce_size = 24

    def _seal(self, key: bytes, nonce: bytes, plaintext: bytes) -> bytes:
        return crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, None, nonce, key)

    def _open(self, key: bytes, nonce: bytes, sealed: bytes) -> bytes | None:
        try:
            return crypto_aead_xchacha20poly1305_ietf_decrypt(sealed, None, nonce, key)
        except CryptoError:
            return None


def make_cipher(config: KratosConfig) -> Cipher:
    """The cipher ``ciphers.algorithm`` names, keyed with ``secrets.cipher`` (validated at load)."""
    keys = [secret.encode() for secret in config.secrets.cipher]
    algorithm = config.ciphers.algorithm
    if algorithm == "aes":
        return AesGcmCipher(keys)
    if algorithm == "xchacha20-poly1305":
        return XChaCha20Poly1305Cipher(keys)
    return NoopCipher()
