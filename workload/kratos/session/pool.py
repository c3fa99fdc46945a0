"""What session storage must offer; ``persistence`` implements it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from kratos.session.model import Device, Session


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """A page of sessions, newest first, optionally of one identity and by activity."""

    page_size: int = 250
    after: uuid.UUID | None = None
    identity_id: uuid.UUID | None = None
    active: bool | None = None
    with_identity: bool = False
    with_devices: bool = False


class WhoamiRecord(NamedTuple):
    """What ``/sessions/whoami`` answers, read in one round trip."""

    body: dict[str, Any]
    """The session's public wire form (identity without credentials, devices; ``active`` computed, the
    identity's ``schema_url`` None for the caller to fill)."""
    available_aal: str | None
    """The identity's highest reachable AAL as stored (``aal1``, ``aal2``), None when not known."""


class SessionPool(Protocol):
    """Storage of sessions and their devices. Tokens are passed and stored as hashes."""

    async def create(self, session: Session, token_hash: str, logout_token_hash: str) -> None:
        """Insert a session with its devices."""
        ...

    async def by_token(self, token_hash: str) -> Session | None:
        """The session with this token hash, with its identity (addresses, no credentials) and devices.

        One round trip: this serves every ``/sessions/whoami``.
        """
        ...

    async def whoami(self, token_hash: str) -> WhoamiRecord | None:
        """The session with this token hash as ``/sessions/whoami`` renders it, in one round trip."""
        ...

    async def by_logout_token(self, logout_token_hash: str) -> Session | None:
        """The session with this logout token hash (no identity)."""
        ...

    async def get(self, session_id: uuid.UUID, *, with_identity: bool, with_devices: bool) -> Session | None:
        """One session by id."""
        ...

    async def list(self, query: SessionQuery) -> tuple[list[Session], uuid.UUID | None]:
        """A page of sessions and the id to continue after (None on the last page)."""
        ...

    async def revoke(self, session_id: uuid.UUID, identity_id: uuid.UUID | None = None) -> bool:
        """Deactivate a session (of ``identity_id`` when given); False when there was none."""
        ...

    async def revoke_all(self, identity_id: uuid.UUID, except_id: uuid.UUID | None = None) -> int:
        """Deactivate every active session of an identity but ``except_id``; how many."""
        ...

    async def delete_all(self, identity_id: uuid.UUID) -> int:
        """Delete every session of an identity; how many."""
        ...

    async def extend(self, session_id: uuid.UUID, expires_at: datetime) -> Session | None:
        """Set a session's expiry; the updated session, or None when there is none."""
        ...

    async def add_method(self, session: Session, device: Device | None = None) -> None:
        """Store a session's new authentication methods, AAL and authentication time (refresh, step-up).

        ``device``: where that authentication came from, added to the session's devices.
        """
        ...
