"""Identity management: schema validation and storage, shared by the admin API and the self-service flows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from kratos.identity.errors import DuplicateIdentifier, IdentityNotFound, InvalidIdentity, UnknownSchema
from kratos.identity.factors import AalPolicy
from kratos.identity.model import (
    Credentials,
    CredentialsType,
    Identity,
    RecoveryAddress,
    State,
    VerifiableAddress,
    upgrade_credentials,
    utcnow,
)
from kratos.identity.pool import IdentityPool, ListQuery
from kratos.schema import SchemaRegistry, TraitsExtension, schema_url

MAX_IDENTIFIER_LENGTH = 255
MAX_ADDRESS_LENGTH = 400
# Credential types whose identifiers come from the schema extension (a passkey's are its user handles).
_SCHEMA_DERIVED = ("password", "webauthn", "code")


class IdentityManager:
    """Creates, updates and reads identities, enforcing the identity schema.

    Raises :class:`~kratos.schema.TraitsValidationError` for traits the schema refuses, and the errors of
    :mod:`kratos.identity.errors` otherwise.
    """

    def __init__(
        self,
        pool: IdentityPool,
        schemas: SchemaRegistry,
        public_base_url: str,
        aal: AalPolicy | None = None,
    ) -> None:
        self.pool = pool
        self.schemas = schemas
        self.public_base_url = public_base_url
        self.aal = aal or AalPolicy()

    def schema_url(self, identity: Identity) -> str:
        """The public URL of the identity's schema."""
        return schema_url(self.public_base_url, identity.schema_id)

    async def get(self, identity_id: uuid.UUID, *, credentials: bool = True) -> Identity:
        """An identity by id."""
        found = await self.pool.get(identity_id, credentials=credentials)
        if found is None:
            raise IdentityNotFound()
        return upgrade_credentials(found)

    async def get_by_external_id(self, external_id: str) -> Identity:
        """An identity by external id."""
        found = await self.pool.get_by_external_id(external_id)
        if found is None:
            raise IdentityNotFound()
        return upgrade_credentials(found)

    async def list(self, query: ListQuery) -> tuple[list[Identity], uuid.UUID | None]:
        """A page of identities and the id to continue after (None on the last page)."""
        found, next_after = await self.pool.list(query)
        return [upgrade_credentials(identity) for identity in found], next_after

    async def create(self, identity: Identity) -> Identity:
        """Validate and store a new identity."""
        self.validate(identity)
        await self.pool.create_many([identity])
        return identity

    async def create_many(self, identities: Sequence[Identity]) -> list[DuplicateIdentifier | None]:
        """Store validated identities; per identity None or the conflict that refused it.

        All go in one transaction; when one conflicts they are retried one by one.
        """
        try:
            await self.pool.create_many(identities)
            return [None] * len(identities)
        except DuplicateIdentifier:
            pass
        results: list[DuplicateIdentifier | None] = []
        for identity in identities:
            try:
                await self.pool.create_many([identity])
                results.append(None)
            except DuplicateIdentifier as exc:
                results.append(exc)
        return results

    async def update(self, identity: Identity, *, recreate: bool = True) -> Identity:
        """Validate against the schema, derive identifiers and addresses, and store.

        ``recreate=False`` keeps a removed credential type removed instead of re-deriving it from the schema.
        """
        self.validate(identity, recreate=recreate)
        identity.updated_at = utcnow()
        await self.pool.update(identity)
        return identity

    async def delete(self, identity_id: uuid.UUID) -> None:
        """Delete an identity."""
        if not await self.pool.delete(identity_id):
            raise IdentityNotFound()

    @staticmethod
    def set_state(identity: Identity, state: State) -> None:
        """Change the state, stamping when it changed."""
        if identity.state != state:
            identity.state = state
            identity.state_changed_at = utcnow()

    def validate(self, identity: Identity, *, recreate: bool = True) -> None:
        """Validate traits and derive credential identifiers and addresses from the schema extension.

        An identity without a schema id gets the default schema.
        """
        if not identity.schema_id:
            identity.schema_id = self.schemas.default.id
        schema = self.schemas.get(identity.schema_id)
        if schema is None:
            raise UnknownSchema(identity.schema_id)
        extension = schema.extract(identity.traits)
        _check_lengths(extension)
        for kind, identifiers in extension.credential_identifiers.items():
            credential = identity.credentials.get(kind)
            if credential is None:
                if not identifiers or not recreate:
                    continue
                # Upstream writes a new code credential in its current config format (version 1).
                version = 1 if kind == CredentialsType.CODE else 0
                credential = identity.credentials[kind] = Credentials(
                    type=kind, identifiers=[], config={}, version=version
                )
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
        identity.available_aal = self.aal.available(identity.credentials)


def _check_lengths(extension: TraitsExtension) -> None:
    """Identifiers and addresses must fit their indexed columns; say which one does not."""
    for kind, identifiers in extension.credential_identifiers.items():
        for identifier in identifiers:
            if len(identifier) > MAX_IDENTIFIER_LENGTH:
                raise InvalidIdentity(
                    f"The {kind} identifier {identifier[:32]!r}... is {len(identifier)} characters long; "
                    f"identifiers are limited to {MAX_IDENTIFIER_LENGTH}."
                )
    for _, value in (*extension.verifiable_addresses, *extension.recovery_addresses):
        if len(value) > MAX_ADDRESS_LENGTH:
            raise InvalidIdentity(
                f"The address {value[:32]!r}... is {len(value)} characters long; "
                f"addresses are limited to {MAX_ADDRESS_LENGTH}."
            )


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
