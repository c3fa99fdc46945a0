"""Password hashing and ciphers: new hashes, verification of imported ones, encryption at rest."""

from .cipher import Cipher, CipherError, make_cipher
from .compare import hash_algorithm, is_supported_hash, validate_hash, verify_hash
from .errors import PasswordTooLongError, UnknownHashFormatError
from .hasher import PasswordHasher
from .limits import DEFAULT_LIMITS, HashLimits
from .params import Argon2Params, BcryptParams

__all__ = [
    "DEFAULT_LIMITS",
    "Argon2Params",
    "BcryptParams",
    "Cipher",
    "CipherError",
    "HashLimits",
    "PasswordHasher",
    "PasswordTooLongError",
    "UnknownHashFormatError",
    "hash_algorithm",
    "is_supported_hash",
    "make_cipher",
    "validate_hash",
    "verify_hash",
]
