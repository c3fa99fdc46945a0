"""Hashing of new passwords and verification of stored ones, off the event loop."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, TypeVar

import bcrypt
from argon2.low_level import Type, hash_secret

from .compare import encode_password, validate_hash, verify_hash
from .errors import PasswordTooLongError
from .kdf import ARGON2_VERSION, BCRYPT_MAX_PASSWORD_BYTES
from .limits import DEFAULT_LIMITS, HashLimits
from .params import Argon2Params, BcryptParams

__all__ = ["Algorithm", "PasswordHasher", "PasswordTooLongError"]

Algorithm = Literal["bcrypt", "argon2"]
T = TypeVar("T")

_BCRYPT_COST = re.compile(r"\$2[abzy]?\$(\d\d)\$")
_ARGON2ID = re.compile(r"\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]*)\$([A-Za-z0-9+/]*)")


def _raw_b64_length(text: str) -> int:
    return len(text) * 3 // 4


class PasswordHasher:
    """Hashes with the configured algorithm; verifies any supported format.

    The CPU work runs in a bounded thread pool (bcrypt and argon2 release the GIL): its size caps the
    memory in use, since every argon2 hash in flight takes ``memory_kib``.
    """

    def __init__(
        self,
        algorithm: Algorithm,
        bcrypt: BcryptParams,
        argon2: Argon2Params,
        max_concurrency: int | None = None,
    ) -> None:
        if algorithm not in ("bcrypt", "argon2"):
            raise ValueError(f"unknown hashing algorithm {algorithm!r}")
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.algorithm: Algorithm = algorithm
        self.bcrypt = bcrypt
        self.argon2 = argon2
        self.max_concurrency = max_concurrency or os.cpu_count() or 1
        self.limits: HashLimits = DEFAULT_LIMITS.covering(
            bcrypt_cost=bcrypt.cost,
            argon2_memory_kib=argon2.memory_kib,
            argon2_iterations=argon2.iterations,
            argon2_parallelism=argon2.parallelism,
        )
        self._pool = ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="kratos-hash")

    async def _run(self, func: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, func, *args)

    async def hash(self, password: str) -> str:
        """Hash ``password`` with the configured algorithm (``$2a$`` bcrypt or ``$argon2id$`` PHC string).

        Raises PasswordTooLongError for bcrypt and passwords over 72 bytes.
        """
        secret = encode_password(password)
        if self.algorithm == "bcrypt":
            if len(secret) > BCRYPT_MAX_PASSWORD_BYTES:
                raise PasswordTooLongError(len(secret))
            return await self._run(self._hash_bcrypt, secret)
        return await self._run(self._hash_argon2, secret)

    def _hash_bcrypt(self, secret: bytes) -> str:
        return bcrypt.hashpw(secret, bcrypt.gensalt(rounds=self.bcrypt.cost, prefix=b"2a")).decode("ascii")

    def _hash_argon2(self, secret: bytes) -> str:
        p = self.argon2
        encoded = hash_secret(
            secret,
            os.urandom(p.salt_length),
            time_cost=p.iterations,
            memory_cost=p.memory_kib,
            parallelism=p.parallelism,
            hash_len=p.key_length,
            type=Type.ID,
            version=ARGON2_VERSION,
        )
        return encoded.decode("ascii")

    async def verify(self, password: str, hashed: str) -> bool:
        """Whether ``password`` matches ``hashed`` (any supported format); False for a malformed hash."""
        return await self._run(verify_hash, password, hashed, self.limits)

    def validate(self, hashed: str) -> None:
        """Raise UnknownHashFormatError unless ``hashed`` can be verified by this hasher (e.g. on import)."""
        validate_hash(hashed, self.limits)

    def needs_rehash(self, hashed: str) -> bool:
        """Whether ``hashed`` is not of the configured algorithm and parameters (re-hash after a login)."""
        if self.algorithm == "bcrypt":
            match = _BCRYPT_COST.match(hashed)
            return match is None or int(match.group(1)) != self.bcrypt.cost
        match = _ARGON2ID.fullmatch(hashed)
        if match is None:
            return True
        version, memory, iterations, parallelism = (int(g) for g in match.groups()[:4])
        p = self.argon2
        return (version, memory, iterations, parallelism) != (
            ARGON2_VERSION,
            p.memory_kib,
            p.iterations,
            p.parallelism,
        ) or (_raw_b64_length(match.group(5)), _raw_b64_length(match.group(6))) != (
            p.salt_length,
            p.key_length,
        )

    def close(self) -> None:
        """Stop the worker threads once the work in flight is done."""
        self._pool.shutdown(wait=True, cancel_futures=True)
