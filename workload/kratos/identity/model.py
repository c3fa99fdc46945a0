"""The identity aggregate: an identity with its credentials and addresses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


def utcnow() -> datetime:
    """The current time, UTC, at the microsecond precision every database keeps."""
    return datetime.now(UTC)


class State(StrEnum):
    """An identity's state."""

    ACTIVE = "active"
    INACTIVE = "inactive"


class CredentialsType(StrEnum):
    """Every credential type upstream knows."""

    PASSWORD = "password"
    OIDC = "oidc"
    TOTP = "totp"
    LOOKUP_SECRET = "lookup_secret"
    WEBAUTHN = "webauthn"
    CODE = "code"
    PASSKEY = "passkey"
    PROFILE = "profile"
    SAML = "saml"
    DEVICEAUTHN = "deviceauthn"
    IDENTIFIER_FIRST = "identifier_first"
    LINK_RECOVERY = "link_recovery"
    CODE_RECOVERY = "code_recovery"


@dataclass(slots=True)
class Credentials:
    """One credential of an identity: its type, identifiers and configuration."""

    type: str
    identifiers: list[str]
    config: dict[str, Any]
    version: int = 0
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def to_json(self, *, with_config: bool) -> dict[str, Any]:
        """The wire form; ``config`` only when declassified (social sign-in: its links, if it has any)."""
        body: dict[str, Any] = {
            "type": self.type,
            "identifiers": self.identifiers,
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if with_config:
            config = _social_links(self) if self.type in _SOCIAL else self.config
            if config is not None:
                body["config"] = config
        return body


_SOCIAL = frozenset({"oidc", "saml"})
_TOKENS = ("initial_id_token", "initial_access_token", "initial_refresh_token")


def _social_links(credential: Credentials) -> dict[str, Any] | None:
    """What upstream shows of a social sign-in config, nothing when it has no link.

    Each link's subject and provider, its OIDC tokens, organization and auto-linking.
    """
    links = []
    for provider in (credential.config or {}).get("providers") or ():
        link: dict[str, Any] = {}
        if credential.type == "oidc":
            link.update((token, provider.get(token) or "") for token in _TOKENS)
        link["subject"] = str(provider.get("subject", ""))
        link["provider"] = str(provider.get("provider", ""))
        if provider.get("organization"):
            link["organization"] = str(provider["organization"])
        if provider.get("use_auto_link"):
            link["use_auto_link"] = True
        links.append(link)
    return {"providers": links} if links else None


@dataclass(slots=True)
class VerifiableAddress:
    """An address the identity can verify."""

    value: str
    via: str
    verified: bool = False
    status: str = "pending"
    verified_at: datetime | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def mark_verified(self) -> None:
        """Record that its owner proved it (a code or link that reached it)."""
        self.verified, self.status, self.verified_at = True, "completed", utcnow()

    def to_json(self) -> dict[str, Any]:
        """The wire form; ``verified_at`` only once verified, as upstream."""
        body: dict[str, Any] = {
            "id": self.id,
            "value": self.value,
            "verified": self.verified,
            "via": self.via,
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if self.verified_at is not None:
            body["verified_at"] = self.verified_at
        return body


@dataclass(slots=True)
class RecoveryAddress:
    """An address that can recover the identity; its fields are its wire format."""

    value: str
    via: str
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class Identity:
    """An identity: traits validated by its schema, credentials and addresses."""

    schema_id: str
    traits: Any
    state: State = State.ACTIVE
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    state_changed_at: datetime | None = field(default_factory=utcnow)
    metadata_public: Any = None
    metadata_admin: Any = None
    external_id: str | None = None
    organization_id: uuid.UUID | None = None
    available_aal: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    credentials: dict[str, Credentials] = field(default_factory=dict)
    verifiable_addresses: list[VerifiableAddress] = field(default_factory=list)
    recovery_addresses: list[RecoveryAddress] = field(default_factory=list)

    def to_json(
        self,
        schema_url: str,
        *,
        admin: bool = True,
        credentials: bool = False,
        declassify: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        """The wire form: admin views add ``metadata_admin``; ``credentials`` adds their metadata (if any)."""
        body: dict[str, Any] = {
            "id": self.id,
            "schema_id": self.schema_id,
            "schema_url": schema_url,
            "state": self.state.value,
            "state_changed_at": self.state_changed_at,
            "traits": self.traits,
            "verifiable_addresses": [address.to_json() for address in self.verifiable_addresses],
            # Recovery addresses are dataclasses whose fields are the wire format: orjson serialises them.
            "recovery_addresses": self.recovery_addresses,
            "metadata_public": self.metadata_public,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "organization_id": self.organization_id,
        }
        if self.external_id is not None:
            body["external_id"] = self.external_id
        if admin:
            body["metadata_admin"] = self.metadata_admin
        if credentials and self.credentials:  # upstream omits an empty map
            body["credentials"] = {
                kind: credential.to_json(with_config=kind in declassify)
                for kind, credential in self.credentials.items()
            }
        return body


# Credential types whose stored version 0 is read as 1: upstream upgrades their config format in memory
# when it loads them, so version 0 shows only in the answer that created or replaced the credential.
_UPGRADED_ON_READ = frozenset({CredentialsType.PASSWORD, CredentialsType.CODE})


def upgrade_credentials(identity: Identity) -> Identity:
    """Bump freshly loaded credentials of version 0 to 1, as upstream does on every read."""
    for credential in identity.credentials.values():
        if credential.version == 0 and credential.type in _UPGRADED_ON_READ:
            credential.version = 1
    return identity
