"""A new identity that clashes with an existing one: which one, and (``login_hints``) how it signs in.

With ``selfservice.flows.registration.login_hints`` upstream tells the user how the existing account signs
in (message 4000028: its identifier, credential types and social sign-in providers) instead of only that it
exists (4000007).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kratos.identity.model import CredentialsType, Identity
from kratos.identity.pool import IdentityPool
from kratos.identity.social import links
from kratos.ui.text import Message, message

_HUMAN = {
    "password": "your password",
    "oidc": "social sign in",
    "saml": "social sign in",
    "webauthn": "your passkey or a security key",
    "passkey": "your passkey",
}


@dataclass(slots=True)
class Conflict:
    """The identity that already has the identifier, and the identifier."""

    existing: Identity | None
    identifier: str


@dataclass(slots=True)
class Hints:
    """How the existing account can sign in, as upstream lists it."""

    credential_types: list[str] = field(default_factory=list)
    oidc_providers: list[str] = field(default_factory=list)
    identifier: str = ""


async def find_conflict(pool: IdentityPool, identity: Identity) -> Conflict:
    """The identity that owns one of ``identity``'s identifiers or addresses."""
    for credential in identity.credentials.values():
        if credential.type == CredentialsType.OIDC:
            continue
        for identifier in credential.identifiers:
            if (found := await pool.find_by_identifier(credential.type, identifier)) is not None:
                return Conflict(found, identifier)
    for address in identity.verifiable_addresses:
        if (found := await pool.find_by_address("verifiable", address.via, address.value)) is not None:
            return Conflict(found, address.value)
    for recovery in identity.recovery_addresses:
        if (found := await pool.find_by_address("recovery", recovery.via, recovery.value)) is not None:
            return Conflict(found, recovery.value)
    return Conflict(None, "")


async def hints_for(pool: IdentityPool, conflict: Conflict) -> Hints:
    """The ways the existing identity signs in (types sorted, as upstream)."""
    hints = Hints(identifier=conflict.identifier.strip())
    if conflict.existing is None:
        return hints
    existing = conflict.existing
    if not existing.credentials:  # found by an address: read without its credentials
        existing = await pool.get(existing.id) or existing
    for kind in sorted(existing.credentials):
        credential = existing.credentials[kind]
        config = credential.config if isinstance(credential.config, dict) else {}
        if kind == CredentialsType.PASSWORD:
            hints.identifier = hints.identifier or _single(credential.identifiers)
            if config.get("hashed_password"):
                hints.credential_types.append(kind)
        elif kind == CredentialsType.CODE:
            hints.credential_types.append(kind)
        elif kind == CredentialsType.OIDC:
            hints.credential_types.append(kind)
            hints.oidc_providers = [link.provider for link in links(existing)]
        elif kind in (CredentialsType.WEBAUTHN, CredentialsType.PASSKEY):
            hints.identifier = hints.identifier or _single(credential.identifiers)
            if any(
                key.get("is_passwordless") or kind == "passkey" for key in config.get("credentials") or ()
            ):
                hints.credential_types.append(kind)
    return hints


def _single(identifiers: list[str]) -> str:
    return identifiers[0] if len(identifiers) == 1 else ""


def duplicate_message(hints: Hints) -> Message:
    """4000028: "You tried signing in with ... You can sign in using ...", as upstream words it."""
    identifier = hints.identifier or "an email, phone, or username"
    reason = f"You tried signing in with {identifier} which is already in use by another account."
    human = [_HUMAN[kind] for kind in hints.credential_types if kind in _HUMAN] or list(
        hints.credential_types
    )
    human = list(dict.fromkeys(human))
    if len(human) > 1:
        human[-1] = "or " + human[-1]
    if human:
        reason += f" You can sign in using {', '.join(human)}."
    providers = [p if "{" in p or "}" in p else p.title() for p in hints.oidc_providers]
    if providers:
        listed = ", ".join(providers)
        reason += f" You can sign in using one of the following social sign in providers: {listed}."
    return message(
        4000028,
        reason,
        available_credential_types=hints.credential_types or None,
        available_oidc_providers=hints.oidc_providers or None,
        credential_identifier_hint=hints.identifier,
    )


__all__ = ["Conflict", "Hints", "duplicate_message", "find_conflict", "hints_for"]
