"""The ``webauthn`` and ``passkey`` credential config (upstream's ``identity.CredentialsWebAuthnConfig``).

Both methods store the same JSON: ``{"credentials": [...], "user_handle": <bytes>}``. Byte fields are
Go ``[]byte`` values, so they travel as standard, padded base64; ``added_at`` is RFC 3339 in UTC.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class CredentialConfigError(ValueError):
    """A stored config that does not have upstream's shape; the text names the key."""


def encode_bytes(value: bytes | None) -> str | None:
    """A Go ``[]byte`` in JSON: standard base64, ``null`` for nil."""
    return None if value is None else base64.b64encode(value).decode("ascii")


def decode_bytes(value: Any, key: str) -> bytes | None:
    """Read a Go ``[]byte`` JSON value (standard base64 or ``null``); ``key`` names it in errors."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise CredentialConfigError(f"{key}: expected a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CredentialConfigError(f"{key}: is not valid standard base64") from None


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC as Go writes a ``time.Time`` (``Z``, fractions without trailing zeros)."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def _parse_time(value: Any, key: str) -> datetime:
    if not isinstance(value, str):
        raise CredentialConfigError(f"{key}: expected an RFC 3339 time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CredentialConfigError(f"{key}: {value!r} is not an RFC 3339 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _object(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CredentialConfigError(f"{key}: expected an object")
    return value


def _bool(data: Mapping[str, Any], name: str, key: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise CredentialConfigError(f"{key}.{name}: expected a boolean")
    return value


def _str(data: Mapping[str, Any], name: str, key: str) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise CredentialConfigError(f"{key}.{name}: expected a string")
    return value


@dataclass(slots=True)
class Authenticator:
    """``authenticator``: the model (AAGUID), its signature counter and the clone warning."""

    aaguid: bytes = b""
    sign_count: int = 0
    clone_warning: bool = False

    def to_json(self) -> dict[str, Any]:
        """Upstream's ``AuthenticatorWebAuthn`` JSON."""
        return {
            "aaguid": encode_bytes(self.aaguid),
            "sign_count": self.sign_count,
            "clone_warning": self.clone_warning,
        }

    @classmethod
    def from_json(cls, data: Any, key: str) -> Authenticator:
        """Read one from its JSON; ``key`` is its path for errors."""
        data = _object(data, key)
        count = data.get("sign_count", 0)
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count < 2**32:
            raise CredentialConfigError(f"{key}.sign_count: expected an unsigned 32-bit integer")
        return cls(
            aaguid=decode_bytes(data.get("aaguid"), f"{key}.aaguid") or b"",
            sign_count=count,
            clone_warning=_bool(data, "clone_warning", key),
        )


@dataclass(slots=True)
class Flags:
    """``flags``: the authenticator data flags seen at registration (backup state is refreshed at login)."""

    user_present: bool = False
    user_verified: bool = False
    backup_eligible: bool = False
    backup_state: bool = False

    def to_json(self) -> dict[str, Any]:
        """Upstream's ``CredentialWebAuthnFlags`` JSON."""
        return {
            "user_present": self.user_present,
            "user_verified": self.user_verified,
            "backup_eligible": self.backup_eligible,
            "backup_state": self.backup_state,
        }

    @classmethod
    def from_json(cls, data: Any, key: str) -> Flags:
        """Read them from their JSON; ``key`` is their path for errors."""
        data = _object(data, key)
        names = ("user_present", "user_verified", "backup_eligible", "backup_state")
        return cls(*(_bool(data, name, key) for name in names))


@dataclass(slots=True)
class WebAuthnCredential:
    """One registered security key or passkey (upstream's ``identity.CredentialWebAuthn``)."""

    id: bytes
    public_key: bytes
    attestation_type: str = "none"
    authenticator: Authenticator | None = field(default_factory=Authenticator)
    display_name: str = ""
    added_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    is_passwordless: bool = False
    flags: Flags | None = None
    transport: list[str] = field(default_factory=list)

    @property
    def sign_count(self) -> int:
        """The stored signature counter (0 for legacy keys without authenticator data)."""
        return self.authenticator.sign_count if self.authenticator else 0

    def to_json(self) -> dict[str, Any]:
        """The stored JSON in upstream's key order; ``authenticator``, ``flags``, ``transport`` if set."""
        body: dict[str, Any] = {
            "id": encode_bytes(self.id),
            "public_key": encode_bytes(self.public_key),
            "attestation_type": self.attestation_type,
        }
        if self.authenticator is not None:
            body["authenticator"] = self.authenticator.to_json()
        body["display_name"] = self.display_name
        body["added_at"] = format_time(self.added_at)
        body["is_passwordless"] = self.is_passwordless
        if self.flags is not None:
            body["flags"] = self.flags.to_json()
        if self.transport:
            body["transport"] = list(self.transport)
        return body

    @classmethod
    def from_json(cls, data: Any, key: str = "credentials[0]") -> WebAuthnCredential:
        """Read one from its stored JSON; ``key`` is its path for errors."""
        data = _object(data, key)
        transport = data.get("transport") or []
        if not isinstance(transport, list) or not all(isinstance(t, str) for t in transport):
            raise CredentialConfigError(f"{key}.transport: expected a list of strings")
        authenticator = data.get("authenticator")
        flags = data.get("flags")
        return cls(
            id=decode_bytes(data.get("id"), f"{key}.id") or b"",
            public_key=decode_bytes(data.get("public_key"), f"{key}.public_key") or b"",
            attestation_type=_str(data, "attestation_type", key),
            authenticator=None
            if authenticator is None
            else Authenticator.from_json(authenticator, f"{key}.authenticator"),
            display_name=_str(data, "display_name", key),
            added_at=_parse_time(data.get("added_at", "0001-01-01T00:00:00Z"), f"{key}.added_at"),
            is_passwordless=_bool(data, "is_passwordless", key),
            flags=None if flags is None else Flags.from_json(flags, f"{key}.flags"),
            transport=list(transport),
        )


@dataclass(slots=True)
class WebAuthnConfig:
    """A ``webauthn`` or ``passkey`` credential's config: its keys and the user handle they share."""

    credentials: list[WebAuthnCredential] = field(default_factory=list)
    user_handle: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored JSON (``user_handle`` is ``null`` when unset, as Go writes a nil slice)."""
        return {
            "credentials": [c.to_json() for c in self.credentials],
            "user_handle": encode_bytes(self.user_handle),
        }

    @classmethod
    def from_json(cls, data: Any) -> WebAuthnConfig:
        """Read a stored config; :class:`CredentialConfigError` names the first bad key."""
        data = _object(data, "config")
        items = data.get("credentials") or []
        if not isinstance(items, list):
            raise CredentialConfigError("credentials: expected a list")
        return cls(
            credentials=[WebAuthnCredential.from_json(c, f"credentials[{i}]") for i, c in enumerate(items)],
            user_handle=decode_bytes(data.get("user_handle"), "user_handle"),
        )

    def find(self, credential_id: bytes) -> WebAuthnCredential | None:
        """The key with this credential id, if registered."""
        return next((c for c in self.credentials if c.id == credential_id), None)

    def filtered(self, *, passwordless: bool | None) -> list[WebAuthnCredential]:
        """The keys usable for a login: passwordless ones (aal1), the others (aal2), or all (``None``)."""
        if passwordless is None:
            return list(self.credentials)
        return [c for c in self.credentials if c.is_passwordless == passwordless]

    def with_key(self, key: WebAuthnCredential) -> WebAuthnConfig:
        """A copy with ``key`` replacing the stored key of the same id, or added when new."""
        if self.find(key.id) is None:
            return WebAuthnConfig([*self.credentials, key], self.user_handle)
        return WebAuthnConfig([key if c.id == key.id else c for c in self.credentials], self.user_handle)
