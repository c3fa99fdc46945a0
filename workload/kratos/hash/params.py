"""Parameters of the two hashers new passwords are hashed with."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _default_parallelism() -> int:
    """Upstream's default: twice the number of CPUs."""
    return 2 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class BcryptParams:
    """bcrypt's cost (log2 of the rounds); upstream's default is 12."""

    cost: int = 12

    def __post_init__(self) -> None:
        if not 4 <= self.cost <= 31:
            raise ValueError(f"bcrypt cost must be within 4..31, got {self.cost}")


@dataclass(frozen=True)
class Argon2Params:
    """argon2id parameters; defaults are upstream's (128 MiB, 1 iteration, 2 x CPUs lanes)."""

    memory_kib: int = 131072
    iterations: int = 1
    parallelism: int = field(default_factory=_default_parallelism)
    salt_length: int = 16
    key_length: int = 32

    def __post_init__(self) -> None:
        if self.parallelism < 1 or self.iterations < 1:
            raise ValueError("argon2 iterations and parallelism must be at least 1")
        if self.memory_kib < 8 * self.parallelism:
            raise ValueError(f"argon2 memory must be at least 8 KiB per lane ({8 * self.parallelism} KiB)")
        if self.salt_length < 8 or self.key_length < 4:
            raise ValueError("argon2 salt_length must be at least 8 and key_length at least 4")
