"""Reading what a browser posts after ``navigator.credentials.create()`` / ``.get()``.

Upstream decodes these with Go's ``encoding/json``, so key names match case-insensitively (Android's
``clientDataJson`` is read) and base64url fields may carry ``=`` padding. Anything unreadable is a
:func:`~.errors.malformed` error naming the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorAssertionResponse,
    AuthenticatorAttestationResponse,
    AuthenticatorTransport,
    PublicKeyCredentialType,
    RegistrationCredential,
)

from kratos.selfservice.strategy.webauthn.errors import malformed

_TO_STANDARD = str.maketrans("-_", "+/")


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url, as WebAuthn JSON and upstream's options carry bytes."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(value: str) -> bytes:
    """Decode base64url with or without ``=`` padding; :class:`ValueError` if it is anything else."""
    text = value.rstrip("=")
    if len(text) % 4 == 1 or "+" in text or "/" in text:
        raise ValueError("not base64url")
    try:
        return base64.b64decode(text.translate(_TO_STANDARD) + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


@dataclass(frozen=True, slots=True)
class ClientData:
    """``clientDataJSON``: the ceremony type, challenge and origin the browser signed, and its hash."""

    type: str
    challenge: bytes
    origin: str
    cross_origin: bool
    token_binding_status: str | None
    raw: bytes

    @property
    def hash(self) -> bytes:
        """SHA-256 of the raw JSON, the value the authenticator signs over."""
        return hashlib.sha256(self.raw).digest()


@dataclass(frozen=True, slots=True)
class AttestationResponse:
    """A parsed ``navigator.credentials.create()`` result."""

    credential: RegistrationCredential
    client_data: ClientData
    transports: list[str]


@dataclass(frozen=True, slots=True)
class AssertionResponse:
    """A parsed ``navigator.credentials.get()`` result; ``user_handle`` is ``None`` when empty."""

    credential: AuthenticationCredential
    client_data: ClientData

    @property
    def credential_id(self) -> bytes:
        """The id of the key that signed."""
        return self.credential.raw_id

    @property
    def user_handle(self) -> bytes | None:
        """The user handle a discoverable key returned (a passkey's identifier), if any."""
        return self.credential.response.user_handle or None


class _Reader:
    """Go-style access to one JSON object: exact key first, else a case-insensitive match."""

    def __init__(self, data: Mapping[str, Any], path: str, field: str | None) -> None:
        self.data, self.path, self.field = data, path, field

    def get(self, key: str) -> Any:
        if key in self.data:
            return self.data[key]
        folded = key.casefold()
        return next((v for k, v in self.data.items() if k.casefold() == folded), None)

    def name(self, key: str) -> str:
        return f"{self.path}{key}"

    def string(self, key: str, *, required: bool = True) -> str:
        value = self.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value):
            raise malformed(f"{self.name(key)} must be a non-empty string", self.field)
        return value

    def bytes(self, key: str, *, required: bool = True) -> bytes:
        text = self.string(key, required=required)
        try:
            return b64url_decode(text)
        except ValueError:
            raise malformed(f"{self.name(key)} is not base64url encoded", self.field) from None

    def child(self, key: str) -> _Reader:
        value = self.get(key)
        if not isinstance(value, Mapping):
            raise malformed(f"{self.name(key)} must be an object", self.field)
        return _Reader(value, f"{self.name(key)}.", self.field)


def _credential(text: str, field: str | None) -> tuple[_Reader, str, bytes, _Reader]:
    if not isinstance(text, str) or not text.strip():
        raise malformed("the response is empty", field)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise malformed(f"the response is not JSON ({exc.msg})", field) from None
    if not isinstance(data, Mapping):
        raise malformed("the response must be a JSON object", field)
    top = _Reader(data, "", field)
    credential_id = top.string("id")
    raw_id = top.bytes("rawId")
    if b64url_encode(raw_id) != credential_id.rstrip("="):
        raise malformed("id and rawId name different credentials", field)
    kind = top.string("type")
    if kind != PublicKeyCredentialType.PUBLIC_KEY:
        raise malformed(f'type must be "public-key", got {kind!r}', field)
    return top, b64url_encode(raw_id), raw_id, top.child("response")


def _client_data(raw: bytes, field: str | None) -> ClientData:
    try:
        data = json.loads(raw)
    except ValueError:
        raise malformed("response.clientDataJSON is not JSON", field) from None
    if not isinstance(data, Mapping):
        raise malformed("response.clientDataJSON must be a JSON object", field)
    reader = _Reader(data, "response.clientDataJSON.", field)
    binding = data.get("tokenBinding")
    status = binding.get("status") if isinstance(binding, Mapping) else None
    return ClientData(
        type=reader.string("type"),
        challenge=reader.bytes("challenge"),
        origin=reader.string("origin"),
        cross_origin=data.get("crossOrigin") is True,
        token_binding_status=status if isinstance(status, str) else None,
        raw=raw,
    )


def parse_attestation(text: str, field: str | None = None) -> AttestationResponse:
    """Parse what ``webauthn_register``, ``passkey_register`` or ``passkey_settings_register`` carries."""
    top, credential_id, raw_id, response = _credential(text, field)
    client_data_raw = response.bytes("clientDataJSON")
    listed = response.get("transports") or top.get("transports") or []
    transports = [t for t in listed if isinstance(t, str)] if isinstance(listed, list) else []
    names = {t.value for t in AuthenticatorTransport}
    known = [AuthenticatorTransport(t) for t in transports if t in names]
    credential = RegistrationCredential(
        id=credential_id,
        raw_id=raw_id,
        response=AuthenticatorAttestationResponse(
            client_data_json=client_data_raw,
            attestation_object=response.bytes("attestationObject"),
            transports=known or None,
        ),
        type=PublicKeyCredentialType.PUBLIC_KEY,
    )
    return AttestationResponse(credential, _client_data(client_data_raw, field), transports)


def parse_assertion(text: str, field: str | None = None) -> AssertionResponse:
    """Parse the JSON posted in ``webauthn_login`` / ``passkey_login``."""
    _, credential_id, raw_id, response = _credential(text, field)
    client_data_raw = response.bytes("clientDataJSON")
    credential = AuthenticationCredential(
        id=credential_id,
        raw_id=raw_id,
        response=AuthenticatorAssertionResponse(
            client_data_json=client_data_raw,
            authenticator_data=response.bytes("authenticatorData"),
            signature=response.bytes("signature"),
            user_handle=response.bytes("userHandle", required=False) or None,
        ),
        type=PublicKeyCredentialType.PUBLIC_KEY,
    )
    return AssertionResponse(credential, _client_data(client_data_raw, field))
