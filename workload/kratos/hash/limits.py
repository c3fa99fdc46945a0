"""Bounds on the cost parameters of stored hashes, so that an imported hash cannot DoS the server."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .errors import UnknownHashFormatError

_MIB_IN_KIB = 1024


@dataclass(frozen=True)
class HashLimits:
    """The largest parameters a hash may carry to be verified.

    Each bound caps either the CPU time or the memory of one verification; typical values of the
    systems hashes are imported from (Django, Firebase, passlib, OpenLDAP, glibc) are well inside.
    """

    bcrypt_max_cost: int = 16
    argon2_max_memory_kib: int = 2048 * _MIB_IN_KIB
    argon2_max_iterations: int = 64
    argon2_max_work_kib: int = 4096 * _MIB_IN_KIB  # memory x iterations
    argon2_max_parallelism: int = 1024
    pbkdf2_max_work: int = 5_000_000  # iterations x output blocks
    scrypt_max_memory: int = 256 * 1024 * 1024  # bytes: 128 * N * r
    scrypt_max_work: int = 1 << 22  # N * r * p
    sha_crypt_max_rounds: int = 1_000_000
    max_key_length: int = 1024  # bytes of derived key / digest to compare

    def covering(
        self, *, bcrypt_cost: int, argon2_memory_kib: int, argon2_iterations: int, argon2_parallelism: int
    ) -> HashLimits:
        """Return these limits widened so that hashes made with the given (configured) parameters verify."""
        return dataclasses.replace(
            self,
            bcrypt_max_cost=max(self.bcrypt_max_cost, bcrypt_cost),
            argon2_max_memory_kib=max(self.argon2_max_memory_kib, argon2_memory_kib),
            argon2_max_iterations=max(self.argon2_max_iterations, argon2_iterations),
            argon2_max_work_kib=max(self.argon2_max_work_kib, argon2_memory_kib * argon2_iterations),
            argon2_max_parallelism=max(self.argon2_max_parallelism, argon2_parallelism),
        )


DEFAULT_LIMITS = HashLimits()


def check_bound(name: str, value: int, low: int, high: int) -> None:
    """Raise UnknownHashFormatError unless ``low <= value <= high``."""
    if not low <= value <= high:
        raise UnknownHashFormatError(f"{name} {value} is out of bounds (allowed: {low}..{high})")
