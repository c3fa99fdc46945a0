"""Identities from the admin API's bodies: fields, addresses and imported credentials."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from kratos.hash.compare import UnknownHashFormatError
from kratos.hash.hasher import PasswordHasher, PasswordTooLongError
from kratos.identity.admin.bodies import CreateIdentityBody, CredentialsImport, PasswordConfig
from kratos.identity.errors import InvalidIdentity
from kratos.identity.model import (
    Credentials,
    CredentialsType,
    Identity,
    RecoveryAddress,
    State,
    VerifiableAddress,
)

_NOT_IMPORTABLE = ("totp", "lookup_secret", "webauthn", "passkey", "saml")


class IdentityImporter:
    """Turns create bodies into (not yet validated) identities, hashing plaintext passwords."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher

    async def build(self, body: CreateIdentityBody) -> Identity:
        """A new identity from a create body."""
        identity = Identity(
            schema_id=body.schema_id,
            traits=body.traits,
            state=body.parsed_state() or State.ACTIVE,
            metadata_public=body.metadata_public,
            metadata_admin=body.metadata_admin,
            external_id=body.external_id or None,
            organization_id=body.organization_id,
            verifiable_addresses=[
                VerifiableAddress(
                    value=address.value.lower(),
                    via=address.via,
                    verified=address.verified,
                    status=address.status,
                    verified_at=address.verified_at,
                )
                for address in body.verifiable_addresses or ()
            ],
            recovery_addresses=[
                RecoveryAddress(value=address.value.lower(), via=address.via)
                for address in body.recovery_addresses or ()
            ],
        )
        await self.import_credentials(identity, body.credentials)
        return identity

    async def build_all(self, bodies: Sequence[CreateIdentityBody]) -> list[Identity | BaseException]:
        """Build many identities concurrently (password hashing runs in the pool)."""
        return await asyncio.gather(*(self.build(body) for body in bodies), return_exceptions=True)

    async def import_credentials(self, identity: Identity, imported: CredentialsImport | None) -> None:
        """Set the identity's password and OIDC credentials from ``imported``."""
        if imported is None:
            return
        refused = [kind for kind in _NOT_IMPORTABLE if getattr(imported, kind) is not None]
        if refused:
            raise InvalidIdentity(
                f"Importing {', '.join(refused)} credentials is not supported by this server yet."
            )
        if (
            imported.password is not None
        ):  # a new credential (version 0); its identifiers come from the schema
            identity.credentials[CredentialsType.PASSWORD] = Credentials(
                type=CredentialsType.PASSWORD,
                identifiers=[],
                config=await self._password_config(imported.password.config),
            )
        if imported.oidc is not None:
            providers = [
                {
                    "provider": provider.provider,
                    "subject": provider.subject,
                    "initial_id_token": "",
                    "initial_access_token": "",
                    "initial_refresh_token": "",
                    **({"organization": str(provider.organization)} if provider.organization else {}),
                    **({"use_auto_link": True} if provider.use_auto_link else {}),
                }
                for provider in imported.oidc.config.providers
            ]
            identifiers = [f"{p['provider']}:{p['subject']}" for p in providers]
            existing = identity.credentials.get(CredentialsType.OIDC)
            if existing is not None:  # an update adds the links to those the identity has
                existing.identifiers = [*existing.identifiers, *identifiers]
                existing.config = {
                    **existing.config,
                    "providers": [*existing.config.get("providers", []), *providers],
                }
            else:
                identity.credentials[CredentialsType.OIDC] = Credentials(
                    type=CredentialsType.OIDC, identifiers=identifiers, config={"providers": providers}
                )

    async def _password_config(self, config: PasswordConfig) -> dict[str, Any]:
        """The stored config, in upstream's order: migration hook, plain text, then an imported hash."""
        if config.use_password_migration_hook:
            return {"use_password_migration_hook": True}
        hashed = config.hashed_password or ""
        if config.password:
            try:
                hashed = await self.hasher.hash(config.password)
            except PasswordTooLongError as exc:
                raise InvalidIdentity(str(exc)) from None
        try:
            self.hasher.validate(hashed)
        except UnknownHashFormatError as exc:
            raise InvalidIdentity(_import_refusal(str(exc))) from None
        return {"hashed_password": hashed}


def _import_refusal(problem: str) -> str:
    """Upstream's words for a hash it cannot import: unknown, out of bounds, or malformed."""
    if problem.startswith("unknown hash format"):
        return "The imported password does not match any known hash format."
    if "out of bounds" in problem:
        return (
            "The imported password hash declares cost parameters that exceed the bounds enforced by Ory. "
            "Re-hash the password with a more conservative configuration before importing."
        )
    return "The imported password hash could not be parsed."
