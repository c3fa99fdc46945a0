"""Identity management: traits validation, credential import and persistence, shared by API and CLI."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

from kratos.hash.compare import UnknownHashFormatError
from kratos.hash.hasher import PasswordHasher, PasswordTooLongError
from kratos.identity.bodies import CreateIdentityBody, CredentialsImport, IdentityBody
from kratos.identity.model import (
    Credentials,
    CredentialsType,
    Identity,
    RecoveryAddress,
    State,
    VerifiableAddress,
    utcnow,
)
from kratos.persistence.identities import DuplicateError, IdentityRepository
from kratos.schema import SchemaRegistry, TraitsExtension, TraitsValidationError, schema_url
from kratos.server.errors import BadRequest, Conflict, NotFound

CONFLICT_REASON = "This identity conflicts with another identity that already exists."
_NOT_IMPORTABLE = ("totp", "lookup_secret", "webauthn", "passkey", "saml")


class IdentityService:
    """Creates, updates and reads identities, enforcing the identity schema."""

    def __init__(
        self,
        repository: IdentityRepository,
        schemas: SchemaRegistry,
        hasher: PasswordHasher,
        public_base_url: str,
    ) -> None:
        self.repository = repository
        self.schemas = schemas
        self.hasher = hasher
        self.public_base_url = public_base_url

    def schema_url(self, identity: Identity) -> str:
        """The public URL of the identity's schema."""
        return schema_url(self.public_base_url, identity.schema_id)

    async def get(self, identity_id: str, *, credentials: bool = True) -> Identity:
        """An identity by id; 404 when unknown."""
        found = await self.repository.get(parse_id(identity_id), credentials=credentials)
        if found is None:
            raise NotFound("Unable to locate the resource")
        return found

    async def build(self, body: CreateIdentityBody) -> Identity:
        """A new identity from a create body: validated, credentials imported, not yet stored."""
        identity = Identity(
            schema_id=body.schema_id,
            traits=body.traits,
            state=body.state or State.ACTIVE,
            metadata_public=body.metadata_public,
            metadata_admin=body.metadata_admin,
            external_id=body.external_id,
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
        await self._import_credentials(identity, body.credentials)
        self.apply_schema(identity)
        return identity

    async def create(self, body: CreateIdentityBody) -> Identity:
        """Create and store an identity; 409 when an identifier is taken."""
        identity = await self.build(body)
        await self._store(self.repository.create(identity))
        return identity

    async def create_many(self, identities: Sequence[Identity]) -> list[BaseException | None]:
        """Store prepared identities; returns per identity None or the error that refused it."""
        try:
            await self.repository.create_many(identities)
            return [None] * len(identities)
        except DuplicateError:
            pass
        results: list[BaseException | None] = []
        for identity in identities:
            try:
                await self._store(self.repository.create(identity))
                results.append(None)
            except Conflict as exc:
                results.append(exc)
        return results

    async def update(self, identity: Identity, body: IdentityBody) -> Identity:
        """Apply a full update (PUT) to a loaded identity and store it."""
        if body.schema_id:
            identity.schema_id = body.schema_id
        if body.state is not None:
            self.set_state(identity, body.state)
        identity.traits = body.traits
        identity.metadata_public = body.metadata_public
        identity.metadata_admin = body.metadata_admin
        if body.external_id is not None:
            identity.external_id = body.external_id
        if body.credentials is not None:
            await self._import_credentials(identity, body.credentials)
        return await self.save(identity)

    async def save(self, identity: Identity, *, recreate: bool = True) -> Identity:
        """Validate against the schema, derive identifiers and addresses, and store.

        ``recreate=False`` keeps a removed credential type removed instead of re-deriving it from the schema.
        """
        self.apply_schema(identity, recreate=recreate)
        identity.updated_at = utcnow()
        await self._store(self.repository.update(identity))
        return identity

    @staticmethod
    def set_state(identity: Identity, state: State) -> None:
        """Change the state, stamping when it changed."""
        if identity.state != state:
            identity.state = state
            identity.state_changed_at = utcnow()

    async def delete(self, identity_id: str) -> None:
        """Delete an identity; 404 when unknown."""
        if not await self.repository.delete(parse_id(identity_id)):
            raise NotFound("Unable to locate the resource")

    def apply_schema(self, identity: Identity, *, recreate: bool = True) -> None:
        """Validate traits and derive credential identifiers and addresses from the schema extension."""
        schema = self.schemas.get(identity.schema_id)
        if schema is None:
            raise BadRequest(f"Unable to find JSON Schema ID: {identity.schema_id}")
        try:
            schema.validate_traits(identity.traits)
        except TraitsValidationError as exc:
            raise BadRequest(exc.reason()) from None
        extension = schema.extract(identity.traits)
        _check_lengths(extension)
        for kind, identifiers in extension.credential_identifiers.items():
            credential = identity.credentials.get(kind)
            if credential is None:
                if not identifiers or not recreate:
                    continue
                credential = identity.credentials[kind] = Credentials(type=kind, identifiers=[], config={})
            credential.identifiers = list(identifiers)
            if kind == CredentialsType.CODE:
                credential.config = {
                    **credential.config,
                    "addresses": [
                        {"channel": via, "address": address} for via, address in extension.code_addresses
                    ],
                }
        for kind in _SCHEMA_DERIVED:
            if kind not in extension.credential_identifiers and kind in identity.credentials:
                identity.credentials[kind].identifiers = []
        identity.verifiable_addresses = _merge_verifiable(
            identity.verifiable_addresses, extension.verifiable_addresses
        )
        identity.recovery_addresses = _merge_recovery(
            identity.recovery_addresses, extension.recovery_addresses
        )

    async def _import_credentials(self, identity: Identity, imported: CredentialsImport | None) -> None:
        if imported is None:
            return
        refused = [kind for kind in _NOT_IMPORTABLE if getattr(imported, kind) is not None]
        if refused:
            raise BadRequest(
                f"Importing {', '.join(refused)} credentials is not supported by this server yet."
            )
        if imported.password is not None:
            identity.credentials[CredentialsType.PASSWORD] = Credentials(
                type=CredentialsType.PASSWORD,
                identifiers=[],
                config=await self._password_config(imported.password.config),
                version=1,
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
            identity.credentials[CredentialsType.OIDC] = Credentials(
                type=CredentialsType.OIDC,
                identifiers=[f"{p['provider']}:{p['subject']}" for p in providers],
                config={"providers": providers},
            )

    async def _password_config(self, config: Any) -> dict[str, Any]:
        if config.hashed_password:
            try:
                self.hasher.validate(config.hashed_password)
            except UnknownHashFormatError as exc:
                raise BadRequest(f"Unable to import the hashed password: {exc}") from None
            return {"hashed_password": config.hashed_password}
        if config.password:
            try:
                return {"hashed_password": await self.hasher.hash(config.password)}
            except PasswordTooLongError as exc:
                raise BadRequest(str(exc)) from None
        if config.use_password_migration_hook:
            return {"use_password_migration_hook": True}
        raise BadRequest(
            "credentials.password.config needs password, hashed_password or use_password_migration_hook."
        )

    @staticmethod
    async def _store(write: Any) -> None:
        try:
            await write
        except DuplicateError:
            raise Conflict(CONFLICT_REASON) from None


_SCHEMA_DERIVED = ("password", "webauthn", "passkey", "totp", "code")


MAX_IDENTIFIER_LENGTH = 255
MAX_ADDRESS_LENGTH = 400


def _check_lengths(extension: TraitsExtension) -> None:
    """Identifiers and addresses must fit their indexed columns; say which one does not."""
    for kind, identifiers in extension.credential_identifiers.items():
        for identifier in identifiers:
            if len(identifier) > MAX_IDENTIFIER_LENGTH:
                raise BadRequest(
                    f"The {kind} identifier {identifier[:32]!r}... is {len(identifier)} characters long; "
                    f"identifiers are limited to {MAX_IDENTIFIER_LENGTH}."
                )
    for _, value in (*extension.verifiable_addresses, *extension.recovery_addresses):
        if len(value) > MAX_ADDRESS_LENGTH:
            raise BadRequest(
                f"The address {value[:32]!r}... is {len(value)} characters long; "
                f"addresses are limited to {MAX_ADDRESS_LENGTH}."
            )


def parse_id(value: str) -> uuid.UUID:
    """A path id; anything that is not a UUID cannot name an identity (404, as upstream)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("Unable to locate the resource") from None


def _merge_verifiable(
    current: list[VerifiableAddress], wanted: Sequence[tuple[str, str]]
) -> list[VerifiableAddress]:
    """Keep known addresses (and their verification state), add the schema's new ones, drop the rest."""
    known = {(address.via, address.value): address for address in current}
    return [known.get((via, value)) or VerifiableAddress(value=value, via=via) for via, value in wanted]


def _merge_recovery(
    current: list[RecoveryAddress], wanted: Sequence[tuple[str, str]]
) -> list[RecoveryAddress]:
    known = {(address.via, address.value): address for address in current}
    return [known.get((via, value)) or RecoveryAddress(value=value, via=via) for via, value in wanted]


async def build_all(
    service: IdentityService, bodies: Sequence[CreateIdentityBody]
) -> list[Identity | BaseException]:
    """Build many identities concurrently (password hashing runs in the pool)."""
    return await asyncio.gather(*(service.build(body) for body in bodies), return_exceptions=True)
