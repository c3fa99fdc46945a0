"""The one error a refused or malformed WebAuthn ceremony raises."""

from __future__ import annotations

from enum import StrEnum

from kratos.selfservice.strategy.base import ValidationFailed
from kratos.ui.text import Message, message


class Refusal(StrEnum):
    """Why a ceremony was refused (for logs and tests; the user sees :attr:`WebAuthnError.message`)."""

    MALFORMED = "malformed"  # the posted JSON, or a base64 field in it, cannot be read
    SESSION = "session"  # the flow holds no usable ceremony state (options never issued, or damaged)
    CEREMONY = "ceremony"  # clientDataJSON.type is not this ceremony's
    CHALLENGE = "challenge"  # the response answers another challenge (replayed or from another flow)
    ORIGIN = "origin"  # signed on an origin the relying party does not list
    RP_ID = "rp_id"  # the authenticator data is for another relying party id
    USER_PRESENCE = "user_presence"
    USER_VERIFICATION = "user_verification"
    UNKNOWN_CREDENTIAL = "unknown_credential"  # not one of the keys the login may use
    USER_HANDLE = "user_handle"  # the response names another user than the session or the keys
    SIGNATURE = "signature"
    CLONED = "cloned"  # the signature counter did not advance: a cloned authenticator
    FLAGS = "flags"  # backup flags that contradict each other or the stored key
    ATTESTATION = "attestation"  # the attestation statement does not verify


class WebAuthnError(ValidationFailed):
    """A ceremony the server refuses, with the UI message upstream shows for it.

    It is a :class:`ValidationFailed`, so a flow renders it as a form message (never a 500).
    ``reason`` says what was wrong, ``field`` names the form field that carried the response.
    """

    def __init__(self, refusal: Refusal, reason: str, ui_message: Message, field: str | None = None) -> None:
        super().__init__(messages=[ui_message])
        self.refusal = refusal
        self.reason = reason
        self.message = ui_message
        self.field = field

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{where}{self.reason}"


LOGIN_INVALID = 4000043  # ErrorValidationWebAuthnVerifierWrong, every refused assertion upstream


def login_refused(refusal: Refusal, reason: str, field: str | None = None) -> WebAuthnError:
    """A refused assertion: upstream answers every one with 4000043."""
    return WebAuthnError(refusal, reason, message(LOGIN_INVALID), field)


def registration_refused(refusal: Refusal, reason: str, field: str | None = None) -> WebAuthnError:
    """A refused attestation: upstream's reason ``Unable to create WebAuthn credential: ...`` as 4000001."""
    text = f"Unable to create WebAuthn credential: {reason}"
    return WebAuthnError(refusal, reason, message(4000001, text, reason=text), field)


def malformed(reason: str, field: str | None = None) -> WebAuthnError:
    """A response that cannot be read: upstream's ``Unable to parse WebAuthn response: ...`` as 4000001."""
    text = f"Unable to parse WebAuthn response: {reason}"
    return WebAuthnError(Refusal.MALFORMED, reason, message(4000001, text, reason=text), field)


def session_unusable(reason: str) -> WebAuthnError:
    """The flow's stored ceremony state is missing or damaged."""
    text = f"The WebAuthn ceremony of this flow cannot be completed, please retry: {reason}"
    return WebAuthnError(Refusal.SESSION, reason, message(4000001, text, reason=text))
