"""Password hashing and verification of imported hashes."""

from .compare import hash_algorithm, is_supported_hash, validate_hash, verify_hash
from .errors import PasswordTooLongError, UnknownHashFormatError
from .hasher import PasswordHasher
from .limits import DEFAULT_LIMITS, HashLimits
from .params import Argon2Params, BcryptParams

__all__ = [
    "DEFAULT_LIMITS",
    "Argon2Params",
    "BcryptParams",
    "HashLimits",
    "PasswordHasher",
    "PasswordTooLongError",
    "UnknownHashFormatError",
    "hash_algorithm",
    "is_supported_hash",
    "validate_hash",
    "verify_hash",
]
