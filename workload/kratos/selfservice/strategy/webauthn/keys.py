"""What both key methods do with an identity's stored keys and a flow's ceremony state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kratos.identity.credentials.webauthn import CredentialConfigError, WebAuthnConfig, WebAuthnCredential
from kratos.identity.model import Credentials, Identity
from kratos.identity.pool import IdentityPool
from kratos.schema import IdentitySchema, TraitsExtension, TraitsValidationError
from kratos.selfservice.flow.model import Flow
from kratos.selfservice.strategy.base import ValidationFailed, refusal
from kratos.selfservice.strategy.webauthn.ceremony import CeremonyOptions
from kratos.selfservice.strategy.webauthn.errors import Refusal, login_refused
from kratos.selfservice.strategy.webauthn.session import CeremonySession, internal_context_key
from kratos.ui.text import message


@dataclass(slots=True)
class StoredKeys:
    """An identity's credential of one key method and its parsed config (empty when it has none)."""

    credential: Credentials | None
    config: WebAuthnConfig

    @property
    def identifier(self) -> str:
        """The credential's first identifier ('' without one)."""
        return self.credential.identifiers[0] if self.credential and self.credential.identifiers else ""


def stored_keys(identity: Identity, kind: str) -> StoredKeys:
    """The identity's ``kind`` keys; a stored config that is not upstream's shape is refused by name."""
    credential = identity.credentials.get(kind)
    if credential is None or not credential.config:
        return StoredKeys(credential, WebAuthnConfig())
    try:
        return StoredKeys(credential, WebAuthnConfig.from_json(credential.config))
    except CredentialConfigError as exc:
        raise refusal(f"The stored {kind} credential cannot be read: {exc}") from None


def carries(body: dict[str, Any], fields: tuple[str, ...]) -> bool:
    """Whether a submission without ``method`` fills one of a method's ``fields`` (what webauthn.js posts).

    The React SDK posts ``"true"`` for an empty value, which does not count, as upstream.
    """
    return any(isinstance(body.get(name), str) and body[name] not in ("", "true") for name in fields)


def keep_ceremony(flow: Flow, method: str, options: CeremonyOptions) -> None:
    """Remember the issued options' state in the flow (``<method>_session_data``), as upstream does."""
    flow.internal[internal_context_key(method)] = options.session.to_json()


def ceremony(flow: Flow, method: str) -> CeremonySession:
    """The flow's ceremony state; refused when no options were issued (see :func:`session_unusable`)."""
    return CeremonySession.from_json(flow.internal.get(internal_context_key(method)))


def forget_ceremony(flow: Flow, method: str) -> None:
    """Drop the flow's ceremony state once it was used: an answer cannot be submitted twice."""
    flow.internal.pop(internal_context_key(method), None)


def new_credential(kind: str, config: WebAuthnConfig, identifiers: list[str]) -> Credentials:
    """A fresh credential of ``kind`` holding ``config`` (version 1, as upstream writes key methods)."""
    return Credentials(type=kind, identifiers=identifiers, config=config.to_json(), version=1)


async def store_counter(
    pool: IdentityPool, identity: Identity, stored: StoredKeys, kind: str, used: WebAuthnCredential
) -> None:
    """Store the key's new signature counter, unless another login changed the keys since they were read.

    Two logins racing with one assertion cannot both pass: the second finds the row changed.
    """
    assert stored.credential is not None
    config: dict[str, Any] = stored.config.with_key(used).to_json()
    if not await pool.update_credential_config(
        identity.id, kind, config, unchanged_since=stored.credential.updated_at
    ):
        raise login_refused(Refusal.CLONED, "another login used this key meanwhile")
    stored.credential.config = config


def remove_key(stored: StoredKeys, hex_id: str, what: str) -> WebAuthnCredential:
    """The key with the submitted hex id, taken out of ``stored``; refused if there is none."""
    key = next((c for c in stored.config.credentials if c.id.hex() == hex_id.strip().lower()), None)
    if key is None:
        raise refusal(f"You tried to remove a {what} which does not exist.")
    stored.config.credentials = [c for c in stored.config.credentials if c.id != key.id]
    return key


def keep_remaining(identity: Identity, kind: str, stored: StoredKeys) -> None:
    """Store the keys left after a removal in the credential; with none left, drop the credential."""
    if stored.config.credentials:
        assert stored.credential is not None
        stored.credential.config = stored.config.to_json()
    else:
        identity.credentials.pop(kind, None)


def lockout(field: str) -> ValidationFailed:
    """Removing the key would leave no way to sign in (upstream's message, on the remove button)."""
    text = "unable to remove this security key because it would lock you out of your account"
    return ValidationFailed(fields=[(field, message(4000001, text, reason=text))])


def duplicate(field: str) -> ValidationFailed:
    """The new key is one the identity registered already."""
    text = "this security key or passkey is already registered with your account"
    return ValidationFailed(fields=[(field, message(4000001, text, reason=text))])


def not_offered() -> ValidationFailed:
    """The method takes no part in this flow (API flows, or a mode the config turns off): 4010002."""
    return ValidationFailed(messages=[message(4010002)])


def traits_extension(schema: IdentitySchema, traits: Any) -> TraitsExtension:
    """What the schema extension finds in ``traits`` (nothing when they no longer validate)."""
    try:
        return schema.extract(traits)
    except TraitsValidationError:
        return TraitsExtension()


def require_identifier(schema: IdentitySchema, identity: Identity) -> None:
    """A security key needs a trait marked ``credentials.webauthn.identifier`` (else 4000009, as upstream)."""
    if not traits_extension(schema, identity.traits).credential_identifiers.get("webauthn"):
        raise ValidationFailed(messages=[message(4000009)])
