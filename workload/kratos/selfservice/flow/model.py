"""A self-service flow: what the UI renders (``ui``) and what the server remembers between steps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from kratos.identity.model import utcnow
from kratos.ui.node import Container

CHOOSE_METHOD = "choose_method"
SENT_EMAIL = "sent_email"  # a code or link went out; the next submission proves it
PASSED_CHALLENGE = "passed_challenge"


class Kind(StrEnum):
    """Which flow."""

    LOGIN = "login"
    REGISTRATION = "registration"
    SETTINGS = "settings"
    RECOVERY = "recovery"
    VERIFICATION = "verification"


class FlowType(StrEnum):
    """Browsers get cookies, CSRF and redirects; apps (``api``) get tokens and JSON."""

    API = "api"
    BROWSER = "browser"


@dataclass(slots=True)
class Flow:
    """One flow; ``extra`` holds the fields only some kinds have (``refresh``, ``requested_aal``, ...).

    ``csrf_token`` is the masked token browser pages carry; ``internal`` never leaves the server.
    """

    kind: Kind
    type: FlowType
    request_url: str
    expires_at: datetime
    ui: Container
    state: str = CHOOSE_METHOD
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    issued_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    return_to: str | None = None
    active: str | None = None
    transient_payload: Any = None
    identity_id: uuid.UUID | None = None
    csrf_token: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    internal: dict[str, Any] = field(default_factory=dict)

    def is_expired(self) -> bool:
        """Whether the flow's lifespan is over."""
        return self.expires_at <= utcnow()

    def to_json(self) -> dict[str, Any]:
        """The wire form shared by every kind; kind-specific keys come from ``extra``."""
        body: dict[str, Any] = {
            "id": self.id,
            "type": self.type.value,
            "expires_at": self.expires_at,
            "issued_at": self.issued_at,
            "request_url": self.request_url,
            "ui": self.ui.to_json(),
            "state": self.state,
        }
        if self.kind in (Kind.LOGIN, Kind.REGISTRATION, Kind.SETTINGS):
            body["organization_id"] = None
        if self.kind == Kind.LOGIN:
            body["created_at"] = self.issued_at
            body["updated_at"] = self.updated_at
        if self.return_to:
            body["return_to"] = self.return_to
        if self.active:
            body["active"] = self.active
        if self.transient_payload is not None:
            body["transient_payload"] = self.transient_payload
        body.update(self.extra)
        return body

    def to_storage(self) -> dict[str, Any]:
        """Everything needed to load the flow again."""
        return {
            "kind": self.kind.value,
            "type": self.type.value,
            "request_url": self.request_url,
            "expires_at": self.expires_at.isoformat(),
            "issued_at": self.issued_at.isoformat(),
            "ui": self.ui.to_json(),
            "state": self.state,
            "return_to": self.return_to,
            "active": self.active,
            "transient_payload": self.transient_payload,
            "identity_id": str(self.identity_id) if self.identity_id else None,
            "csrf_token": self.csrf_token,
            "extra": self.extra,
            "internal": self.internal,
        }

    @classmethod
    def from_storage(cls, flow_id: uuid.UUID, data: dict[str, Any], updated_at: datetime) -> Flow:
        """A flow read back from storage."""
        return cls(
            id=flow_id,
            kind=Kind(data["kind"]),
            type=FlowType(data["type"]),
            request_url=data["request_url"],
            expires_at=datetime.fromisoformat(data["expires_at"]),
            issued_at=datetime.fromisoformat(data["issued_at"]),
            updated_at=updated_at,
            ui=Container.from_json(data["ui"]),
            state=data["state"],
            return_to=data.get("return_to"),
            active=data.get("active"),
            transient_payload=data.get("transient_payload"),
            identity_id=uuid.UUID(data["identity_id"]) if data.get("identity_id") else None,
            csrf_token=data.get("csrf_token", ""),
            extra=data.get("extra") or {},
            internal=data.get("internal") or {},
        )
