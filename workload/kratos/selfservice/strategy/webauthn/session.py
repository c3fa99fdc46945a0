"""The ceremony state a flow keeps between issuing options and verifying the answer.

It is upstream's go-webauthn ``SessionData`` JSON, stored in the flow's internal context under
``webauthn_session_data`` / ``passkey_session_data``: ``challenge`` is base64url, ``user_id`` and
``allowed_credentials`` are Go ``[]byte`` (standard base64).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kratos.identity.credentials.webauthn import CredentialConfigError, decode_bytes, encode_bytes
from kratos.selfservice.strategy.webauthn.errors import session_unusable
from kratos.selfservice.strategy.webauthn.response import b64url_decode, b64url_encode

_ZERO_TIME = "0001-01-01T00:00:00Z"  # go-webauthn leaves expires unset: Kratos does not enforce timeouts


def internal_context_key(method: str) -> str:
    """Where a method keeps its ceremony state in a flow's internal context (``<method>_session_data``)."""
    return f"{method}_session_data"


@dataclass(frozen=True, slots=True)
class CeremonySession:
    """What verification needs from the options that were issued.

    The challenge, the user handle (``None`` for a discoverable login), the credential ids a login
    allowed and the user verification the options asked for.
    """

    challenge: bytes
    rp_id: str
    user_id: bytes | None
    allowed_credentials: tuple[bytes, ...] = ()
    user_verification: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON upstream stores (keys and encodings of go-webauthn's ``SessionData``)."""
        body: dict[str, Any] = {
            "challenge": b64url_encode(self.challenge),
            "rpId": self.rp_id,
            "user_id": encode_bytes(self.user_id),
        }
        if self.allowed_credentials:
            body["allowed_credentials"] = [encode_bytes(c) for c in self.allowed_credentials]
        body["expires"] = self.extra.get("expires", _ZERO_TIME)
        body["userVerification"] = self.user_verification
        return body

    @classmethod
    def from_json(cls, data: Any) -> CeremonySession:
        """Read stored state (also upstream's own, e.g. its test fixtures); refuses damaged state."""
        if not isinstance(data, Mapping):
            raise session_unusable("no WebAuthn options were issued for this flow")
        challenge = data.get("challenge")
        if not isinstance(challenge, str) or not challenge:
            raise session_unusable("the stored challenge is missing")
        try:
            allowed = data.get("allowed_credentials") or []
            if not isinstance(allowed, list):
                raise CredentialConfigError("allowed_credentials: expected a list")
            return cls(
                challenge=b64url_decode(challenge),
                rp_id=str(data.get("rpId") or ""),
                user_id=decode_bytes(data.get("user_id"), "user_id") or None,
                allowed_credentials=tuple(
                    decode_bytes(c, f"allowed_credentials[{i}]") or b"" for i, c in enumerate(allowed)
                ),
                user_verification=str(data.get("userVerification") or ""),
                extra={"expires": data["expires"]} if isinstance(data.get("expires"), str) else {},
            )
        except (CredentialConfigError, ValueError) as exc:
            raise session_unusable(f"the stored state is damaged ({exc})") from None
