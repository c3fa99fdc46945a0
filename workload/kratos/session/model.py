"""The session: who authenticated, how (methods and AAL), until when, and from which devices."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kratos.identity.model import Identity, utcnow


@dataclass(slots=True)
class AuthenticationMethod:
    """One completed authentication method of a session (``authentication_methods[]``)."""

    method: str
    aal: str
    completed_at: datetime = field(default_factory=utcnow)
    provider: str = ""  # the social sign-in provider's id

    def to_json(self) -> dict[str, Any]:
        """The wire form (``provider`` only for social sign-in, as upstream)."""
        body: dict[str, Any] = {"method": self.method, "aal": self.aal, "completed_at": self.completed_at}
        if self.provider:
            body["provider"] = self.provider
        return body


@dataclass(slots=True)
class Device:
    """Where a session was used from."""

    ip_address: str | None
    user_agent: str | None
    location: str = ""
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def to_json(self) -> dict[str, Any]:
        """The wire form."""
        return {
            "id": self.id,
            "ip_address": self.ip_address,
            "user_agent": self.user_agent,
            "location": self.location,
        }


@dataclass(slots=True)
class Session:
    """A session; ``token`` and ``logout_token`` are known only when it is issued (storage keeps hashes)."""

    identity_id: uuid.UUID
    expires_at: datetime
    authentication_methods: list[AuthenticationMethod]
    aal: str = "aal1"
    active: bool = True
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    authenticated_at: datetime = field(default_factory=utcnow)
    issued_at: datetime = field(default_factory=utcnow)
    devices: list[Device] = field(default_factory=list)
    identity: Identity | None = None
    token: str | None = None
    logout_token: str | None = None

    def is_active(self, now: datetime | None = None) -> bool:
        """Stored as active, not expired, and its identity (when loaded) is active."""
        if not self.active or self.expires_at <= (now or utcnow()):
            return False
        return self.identity is None or self.identity.state == "active"

    def to_json(self, identity: dict[str, Any] | None, *, devices: bool = True) -> dict[str, Any]:
        """The wire form, with ``identity`` already rendered for the audience (public or admin)."""
        return {
            "id": self.id,
            "active": self.is_active(),
            "expires_at": self.expires_at,
            "authenticated_at": self.authenticated_at,
            "authenticator_assurance_level": self.aal,
            "authentication_methods": [method.to_json() for method in self.authentication_methods],
            "issued_at": self.issued_at,
            "identity": identity,
            "devices": [device.to_json() for device in self.devices] if devices else None,
        }
