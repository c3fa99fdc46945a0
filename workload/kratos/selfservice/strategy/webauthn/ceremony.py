"""A WebAuthn relying party on top of py_webauthn, speaking upstream's JSON.

Options come out as go-webauthn marshals them (what upstream puts in ``webauthn_register_trigger``,
``webauthn_login_trigger``, ``passkey_create_data`` and ``passkey_challenge``), together with the
:class:`~.session.CeremonySession` a flow keeps. Verification checks what upstream's library checks and
also refuses a signature counter that did not advance (upstream only flags it as ``clone_warning``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from webauthn import verify_registration_response
from webauthn.helpers import (
    decode_credential_public_key,
    decoded_public_key_to_cryptography,
    parse_attestation_object,
    parse_authenticator_data,
    verify_signature,
)
from webauthn.helpers.exceptions import InvalidRegistrationResponse
from webauthn.helpers.structs import AuthenticatorData

from kratos.config.selfservice import PasskeyConfig, WebauthnConfig
from kratos.config.selfservice import RelyingParty as RelyingPartyConfig
from kratos.identity.credentials.webauthn import Authenticator, Flags, WebAuthnCredential
from kratos.selfservice.strategy.webauthn.errors import (
    Refusal,
    WebAuthnError,
    login_refused,
    malformed,
    registration_refused,
    session_unusable,
)
from kratos.selfservice.strategy.webauthn.response import (
    AssertionResponse,
    ClientData,
    b64url_encode,
    parse_assertion,
    parse_attestation,
)
from kratos.selfservice.strategy.webauthn.session import CeremonySession

Requirement = Literal["required", "preferred", "discouraged"]
_ALGORITHMS = (-7, -35, -36, -257, -258, -259, -37, -38, -39, -8)  # go-webauthn's default order
_TIMEOUT_MS, _TIMEOUT_UVD_MS = 300_000, 120_000
_TOKEN_BINDING = ("present", "supported", "not-supported")
_PACKAGE = "kratos.selfservice.strategy.webauthn"


@dataclass(frozen=True, slots=True)
class Selection:
    """``authenticatorSelection`` of registration options (empty members are left out, as Go omits them)."""

    user_verification: Requirement = "discouraged"
    resident_key: Requirement | None = None
    require_resident_key: bool | None = None
    attachment: Literal["platform", "cross-platform"] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object, members in go-webauthn's order."""
        body: dict[str, Any] = {}
        if self.attachment:
            body["authenticatorAttachment"] = self.attachment
        if self.require_resident_key is not None:
            body["requireResidentKey"] = self.require_resident_key
        if self.resident_key:
            body["residentKey"] = self.resident_key
        body["userVerification"] = self.user_verification
        return body


@dataclass(frozen=True, slots=True)
class CeremonyOptions:
    """Options for the browser (``{"publicKey": {...}}``) and the state to keep in the flow."""

    options: dict[str, Any]
    session: CeremonySession

    def to_json(self) -> str:
        """The options as ``json.Marshal`` writes them: compact, ``<``, ``>`` and ``&`` escaped."""
        return go_json(self.options)


@dataclass(frozen=True, slots=True)
class RegisteredKey:
    """A verified registration: the key to store and the user handle its config keeps."""

    credential: WebAuthnCredential
    user_handle: bytes


def go_json(value: Any) -> str:
    """Compact JSON with Go's HTML-safe escapes, as upstream writes options into node values."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


@cache
def _aaguid_names() -> dict[str, str]:
    data = resources.files(_PACKAGE).joinpath("aaguid_names.json")
    return json.loads(data.read_text(encoding="utf-8"))


def authenticator_name(aaguid: bytes) -> str:
    """The authenticator model upstream names a new key after (``iCloud Keychain``...), or ``""``."""
    if len(aaguid) != 16:
        return ""
    return _aaguid_names().get(str(UUID(bytes=aaguid)), "")


def _origin(raw: str) -> str | None:
    """go-webauthn's fully qualified origin: ``scheme://host[:port]``; Android app origins as they are."""
    if raw.startswith("android:apk-key-hash:"):
        return raw
    parts = urlsplit(raw)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.rpartition('@')[2]}"


def _default_origins(rp: RelyingPartyConfig, public_base_url: str, *, legacy_origin: bool) -> tuple[str, ...]:
    if rp.origins:
        return tuple(rp.origins)
    if legacy_origin and rp.origin:
        return (rp.origin,)
    scheme = urlsplit(public_base_url).scheme or "http"
    return (f"{scheme}://{rp.id}",)


@dataclass(frozen=True, slots=True)
class RelyingParty:
    """The relying party of one method: its id, name, accepted origins and authenticator preferences."""

    id: str
    display_name: str
    origins: tuple[str, ...]
    selection: Selection = Selection()
    attestation: str = ""
    registration_timeout_ms: int | None = None
    login_timeout_ms: int | None = None

    @classmethod
    def for_webauthn(cls, config: WebauthnConfig, public_base_url: str, key: str = "") -> RelyingParty:
        """``selfservice.methods.webauthn.config``: user verification discouraged, as upstream asks."""
        rp = _require_rp(config.rp, key or "selfservice.methods.webauthn.config.rp")
        return cls(rp.id, rp.display_name, _default_origins(rp, public_base_url, legacy_origin=True))

    @classmethod
    def for_passkey(cls, config: PasskeyConfig, public_base_url: str, key: str = "") -> RelyingParty:
        """``selfservice.methods.passkey.config``: discoverable keys, its selection, attestation, timeouts."""
        rp = _require_rp(config.rp, key or "selfservice.methods.passkey.config.rp")
        chosen = config.authenticator_selection
        timeouts = config.timeouts
        return cls(
            rp.id,
            rp.display_name,
            _default_origins(rp, public_base_url, legacy_origin=False),
            Selection(
                user_verification=chosen.user_verification,
                resident_key=chosen.resident_key,
                require_resident_key=chosen.resident_key == "required",
                attachment=chosen.attachment,
            ),
            attestation=config.attestation.preference,
            registration_timeout_ms=_millis(timeouts.registration),
            login_timeout_ms=_millis(timeouts.login),
        )

    # --- options ---------------------------------------------------------------------------------

    def registration_options(
        self,
        user_handle: bytes,
        *,
        user_name: str = "",
        user_display_name: str = "",
        exclude: Sequence[WebAuthnCredential] = (),
        resident_key: Requirement | None = None,
        user_verification: Requirement | None = None,
    ) -> CeremonyOptions:
        """Options for ``navigator.credentials.create()``; an empty user name becomes the RP's name."""
        if not user_handle:
            raise ValueError("user_handle: must not be empty")
        selection = self.selection
        if resident_key is not None:
            selection = replace(
                selection, resident_key=resident_key, require_resident_key=resident_key == "required"
            )
        if user_verification is not None:
            selection = replace(selection, user_verification=user_verification)
        challenge = secrets.token_bytes(32)
        name = user_name or self.display_name
        public_key: dict[str, Any] = {
            "rp": {"name": self.display_name, "id": self.id},
            "user": {
                "name": name,
                "displayName": user_display_name or name,
                "id": b64url_encode(user_handle),
            },
            "challenge": b64url_encode(challenge),
            "pubKeyCredParams": [{"type": "public-key", "alg": alg} for alg in _ALGORITHMS],
            "timeout": self._timeout(self.registration_timeout_ms, selection.user_verification),
        }
        if exclude:
            public_key["excludeCredentials"] = [_descriptor(c) for c in exclude]
        public_key["authenticatorSelection"] = selection.to_json()
        if self.attestation:
            public_key["attestation"] = self.attestation
        session = CeremonySession(challenge, self.id, user_handle, (), selection.user_verification)
        return CeremonyOptions({"publicKey": public_key}, session)

    def login_options(
        self,
        credentials: Sequence[WebAuthnCredential],
        user_handle: bytes | None,
        *,
        user_verification: Requirement | None = None,
    ) -> CeremonyOptions:
        """Options for ``navigator.credentials.get()`` allowing only ``credentials`` (``BeginLogin``)."""
        if not credentials:
            raise ValueError("credentials: a login needs at least one registered key")
        return self._assertion(credentials, user_handle, user_verification)

    def discoverable_login_options(self, *, user_verification: Requirement | None = None) -> CeremonyOptions:
        """Options with an empty allow list: the authenticator offers its passkeys for this RP id."""
        return self._assertion((), None, user_verification)

    def _assertion(
        self, credentials: Sequence[WebAuthnCredential], user_handle: bytes | None, uv: Requirement | None
    ) -> CeremonyOptions:
        verification = uv or self.selection.user_verification
        challenge = secrets.token_bytes(32)
        public_key: dict[str, Any] = {
            "challenge": b64url_encode(challenge),
            "timeout": self._timeout(self.login_timeout_ms, verification),
            "rpId": self.id,
        }
        if credentials:
            public_key["allowCredentials"] = [_descriptor(c) for c in credentials]
        public_key["userVerification"] = verification
        allowed = tuple(c.id for c in credentials)
        return CeremonyOptions(
            {"publicKey": public_key}, CeremonySession(challenge, self.id, user_handle, allowed, verification)
        )

    @staticmethod
    def _timeout(configured: int | None, verification: str) -> int:
        if configured:
            return configured
        return _TIMEOUT_UVD_MS if verification == "discouraged" else _TIMEOUT_MS

    # --- verification ----------------------------------------------------------------------------

    def verify_registration(
        self,
        response: str,
        session: CeremonySession,
        *,
        passwordless: bool,
        display_name: str | None = None,
        field: str | None = None,
    ) -> RegisteredKey:
        """Verify a ``create()`` result against the flow's ceremony; the new key in upstream's stored form.

        ``display_name`` ``None`` names the key after its authenticator model (as upstream names passkeys).
        """
        if not session.user_id:
            raise session_unusable("the stored user handle is missing")
        parsed = parse_attestation(response, field)
        self._check_client_data(parsed.client_data, session, "webauthn.create", registration_refused, field)
        try:
            attestation = parse_attestation_object(parsed.credential.response.attestation_object)
        except Exception as exc:  # py_webauthn raises assorted errors for bad CBOR
            raise malformed(f"response.attestationObject cannot be decoded ({exc})", field) from None
        self._check_authenticator_data(attestation.auth_data, session, registration_refused, field)
        attested = attestation.auth_data.attested_credential_data
        if attested is None:
            raise registration_refused(Refusal.ATTESTATION, "the authenticator attested no credential", field)
        try:
            verified = verify_registration_response(
                credential=parsed.credential,
                expected_challenge=session.challenge,
                expected_rp_id=self.id,
                expected_origin=parsed.client_data.origin,
                require_user_verification=session.user_verification == "required",
            )
        except InvalidRegistrationResponse as exc:
            raise registration_refused(Refusal.ATTESTATION, str(exc), field) from None
        flags = attestation.auth_data.flags
        credential = WebAuthnCredential(
            id=verified.credential_id,
            public_key=verified.credential_public_key,
            attestation_type=str(attestation.fmt),
            authenticator=Authenticator(attested.aaguid, verified.sign_count, False),
            display_name=authenticator_name(attested.aaguid) if display_name is None else display_name,
            added_at=datetime.now(UTC).replace(microsecond=0),
            is_passwordless=passwordless,
            flags=Flags(flags.up, flags.uv, flags.be, flags.bs),
            transport=parsed.transports,
        )
        return RegisteredKey(credential, session.user_id)

    def verify_login(
        self,
        response: str | AssertionResponse,
        session: CeremonySession,
        credentials: Sequence[WebAuthnCredential],
        user_handle: bytes | None,
        *,
        field: str | None = None,
    ) -> WebAuthnCredential:
        """Verify a ``get()`` result with the keys the login may use; the key with its new counter.

        ``user_handle`` is the stored config's. A discoverable login (the session has no user id) needs the
        response to name a user handle, which must be that one.
        """
        parsed = response if isinstance(response, AssertionResponse) else parse_assertion(response, field)
        returned = parsed.user_handle
        if session.user_id is not None and session.user_id != user_handle:
            raise login_refused(Refusal.USER_HANDLE, "the login was started for another user", field)
        if session.user_id is None and not returned:
            raise login_refused(Refusal.USER_HANDLE, "a discoverable login returned no user handle", field)
        if returned and user_handle is not None and returned != user_handle:
            raise login_refused(Refusal.USER_HANDLE, "the user handle does not match the user's keys", field)
        if session.allowed_credentials and parsed.credential_id not in session.allowed_credentials:
            raise login_refused(Refusal.UNKNOWN_CREDENTIAL, "the key was not among the allowed ones", field)
        key = next((c for c in credentials if c.id == parsed.credential_id), None)
        if key is None:
            raise login_refused(Refusal.UNKNOWN_CREDENTIAL, "the key is not registered for this login", field)
        self._check_client_data(parsed.client_data, session, "webauthn.get", login_refused, field)
        signed = parsed.credential.response.authenticator_data
        try:
            data = parse_authenticator_data(signed)
        except Exception as exc:  # py_webauthn raises assorted errors for short or bad data
            raise malformed(f"response.authenticatorData cannot be decoded ({exc})", field) from None
        self._check_authenticator_data(data, session, login_refused, field)
        _check_signature(key, signed + parsed.client_data.hash, parsed.credential.response.signature, field)
        stored, counter = key.sign_count, data.sign_count
        if (counter or stored) and counter <= stored:
            raise login_refused(
                Refusal.CLONED, f"the signature counter went from {stored} to {counter}: a cloned key", field
            )
        flags = key.flags
        if flags is not None and flags.backup_eligible != data.flags.be:
            raise login_refused(Refusal.FLAGS, "the backup eligible flag changed since registration", field)
        if not data.flags.be and data.flags.bs:
            raise login_refused(Refusal.FLAGS, "invalid flag combination: BE=0 and BS=1", field)
        authenticator = key.authenticator or Authenticator()
        return replace(
            key,
            authenticator=replace(authenticator, sign_count=max(counter, authenticator.sign_count)),
            flags=None if flags is None else replace(flags, backup_state=data.flags.bs),
        )

    def _check_client_data(
        self, client: ClientData, session: CeremonySession, ceremony: str, refuse: Any, field: str | None
    ) -> None:
        if client.type != ceremony:
            raise refuse(Refusal.CEREMONY, f"Error validating ceremony type: expected {ceremony}", field)
        if not hmac.compare_digest(client.challenge, session.challenge):
            raise refuse(Refusal.CHALLENGE, "Error validating challenge", field)
        expires = session.extra.get("expires")
        if expires and not str(expires).startswith("0001-") and _expired(str(expires)):
            raise refuse(Refusal.CHALLENGE, "the challenge has expired", field)
        origin = _origin(client.origin)
        if origin is None or not any(origin.casefold() == o.casefold() for o in self.origins):
            raise refuse(Refusal.ORIGIN, f"Error validating origin: {client.origin!r} is not allowed", field)
        if client.token_binding_status is not None and client.token_binding_status not in _TOKEN_BINDING:
            raise malformed("response.clientDataJSON.tokenBinding has an invalid status", field)

    def _check_authenticator_data(
        self, data: AuthenticatorData, session: CeremonySession, refuse: Any, field: str | None
    ) -> None:
        if not hmac.compare_digest(data.rp_id_hash, hashlib.sha256(self.id.encode()).digest()):
            raise refuse(
                Refusal.RP_ID, f"RP Hash mismatch: the key answered for another RP id than {self.id!r}", field
            )
        if not data.flags.up:
            raise refuse(Refusal.USER_PRESENCE, "User presence flag not set by authenticator", field)
        if session.user_verification == "required" and not data.flags.uv:
            raise refuse(Refusal.USER_VERIFICATION, "User verification required but flag not set", field)


def _check_signature(key: WebAuthnCredential, signed: bytes, signature: bytes, field: str | None) -> None:
    try:
        decoded = decode_credential_public_key(key.public_key)
        verify_signature(
            public_key=decoded_public_key_to_cryptography(decoded),
            signature_alg=decoded.alg,
            signature=signature,
            data=signed,
        )
    except InvalidSignature:
        raise login_refused(Refusal.SIGNATURE, "Error validating the assertion signature", field) from None
    except Exception as exc:  # an unusable stored key: refuse the login, never a 500
        raise login_refused(
            Refusal.SIGNATURE, f"the stored public key cannot verify ({exc})", field
        ) from None


def _descriptor(credential: WebAuthnCredential) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "public-key", "id": b64url_encode(credential.id)}
    if credential.transport:
        body["transports"] = list(credential.transport)
    return body


def _expired(expires: str) -> bool:
    try:
        return datetime.fromisoformat(expires) < datetime.now(UTC)
    except ValueError:
        return False


def _millis(value: Any) -> int | None:
    return int(value.total_seconds() * 1000) if value else None


def _require_rp(rp: RelyingPartyConfig | None, key: str) -> RelyingPartyConfig:
    if rp is None:
        raise ValueError(f"{key}: is required to use this method")
    return rp


__all__ = ["CeremonyOptions", "RegisteredKey", "RelyingParty", "Selection", "WebAuthnError", "go_json"]
