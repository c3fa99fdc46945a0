"""One-time secrets: 6-digit codes (recovery, verification, login, registration) and link tokens.

Only an HMAC of each secret is stored (keyed with ``secrets.default``; every key verifies, the first signs),
bound to its flow and purpose, so a leaked table reveals nothing and a code of one flow opens no other.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from kratos.identity.model import utcnow

CODE_LENGTH = 6
TOKEN_LENGTH = 32
_ALPHANUMERIC = string.ascii_letters + string.digits


class Purpose(StrEnum):
    """What a secret opens."""

    RECOVERY_CODE = "recovery_code"
    RECOVERY_LINK = "recovery_link"
    VERIFICATION_CODE = "verification_code"
    VERIFICATION_LINK = "verification_link"
    LOGIN_CODE = "login_code"
    REGISTRATION_CODE = "registration_code"


class IssuedBy(StrEnum):
    """Who asked for the secret: the identity itself, or an administrator (recovery only)."""

    SELF_SERVICE = "self_service"
    ADMIN = "admin"


@dataclass(slots=True)
class OneTimeSecret:
    """A stored secret; the plain value exists only in the message that carries it.

    ``identity_id`` is None for a registration code: its identity does not exist yet.
    """

    purpose: Purpose
    flow_id: uuid.UUID
    identity_id: uuid.UUID | None
    digest: str
    expires_at: datetime
    address: str | None = None
    issued_by: IssuedBy = IssuedBy.SELF_SERVICE
    used_at: datetime | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime = field(default_factory=utcnow)

    def is_expired(self) -> bool:
        """Whether its lifespan is over."""
        return self.expires_at <= utcnow()


def new_code() -> str:
    """Six random digits."""
    return "".join(secrets.choice(string.digits) for _ in range(CODE_LENGTH))


def new_token() -> str:
    """A random link token (32 letters and digits)."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(TOKEN_LENGTH))


class Digester:
    """HMAC-SHA256 of a secret with each configured key, bound to its purpose and flow."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one secret is needed")
        self._keys = [key.encode() for key in keys]

    def _digest(self, key: bytes, purpose: Purpose, flow_id: uuid.UUID, value: str) -> str:
        message = f"{purpose.value}\x00{flow_id}\x00{value}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def sign(self, purpose: Purpose, flow_id: uuid.UUID, value: str) -> str:
        """The digest to store, with the first key."""
        return self._digest(self._keys[0], purpose, flow_id, value)

    def candidates(self, purpose: Purpose, flow_id: uuid.UUID, value: str) -> list[str]:
        """The digests ``value`` has under every key (what a stored digest may be)."""
        return [self._digest(key, purpose, flow_id, value) for key in self._keys]


class OneTimeSecretPool(Protocol):
    """Storage of one-time secrets (implemented in ``persistence``)."""

    async def add(self, secret: OneTimeSecret) -> None:
        """Store a new secret."""
        ...

    async def use(self, purpose: Purpose, flow_id: uuid.UUID, digests: Sequence[str]) -> OneTimeSecret | None:
        """Mark the unused secret with one of ``digests`` used, atomically, and return it (expired too)."""
        ...

    async def delete_for_flow(self, purpose: Purpose, flow_id: uuid.UUID) -> None:
        """Forget the secrets a flow issued (a resend replaces them)."""
        ...

    async def count_submission(self, flow_id: uuid.UUID) -> int:
        """Count one more submission of a secret to the flow; the new count."""
        ...
