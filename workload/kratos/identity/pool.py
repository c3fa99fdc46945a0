"""What identity storage must offer; ``persistence`` implements it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from kratos.identity.model import Identity, VerifiableAddress


@dataclass(frozen=True, slots=True)
class ListQuery:
    """One page of identities: keyset (``after``) or offset paging, and the admin API's filters.

    ``identifier_similar`` matches identifiers containing the text, ignoring case; ``ids`` pages like the
    rest. Credentials are loaded when ``credentials`` is set or an identifier filter is given.
    """

    page_size: int
    after: uuid.UUID | None = None
    ids: Sequence[uuid.UUID] | None = None
    credentials_identifier: str | None = None
    identifier_similar: str | None = None
    organization_id: uuid.UUID | None = None
    offset: int = 0
    credentials: bool = False


AddressKind = Literal["recovery", "verifiable"]


class IdentityPool(Protocol):
    """Storage of identities with their credentials and addresses.

    Writes raise :class:`~kratos.identity.errors.DuplicateIdentifier` when an identifier, address or
    external id is taken.
    """

    async def get(self, identity_id: uuid.UUID, *, credentials: bool = True) -> Identity | None:
        """One identity by id, or None."""
        ...

    async def get_by_external_id(self, external_id: str, *, credentials: bool = True) -> Identity | None:
        """One identity by external id, or None."""
        ...

    async def find_by_identifier(self, kind: str | Sequence[str], identifier: str) -> Identity | None:
        """The identity (with credentials) owning ``identifier`` as a credential of type(s) ``kind``."""
        ...

    async def find_by_address(self, kind: AddressKind, via: str, value: str) -> Identity | None:
        """The identity owning the recovery or verifiable address ``value`` (without credentials)."""
        ...

    async def update_verifiable_address(self, address: VerifiableAddress) -> None:
        """Store one verifiable address's new status (``verified``, ``status``, ``verified_at``)."""
        ...

    async def update_available_aal(self, identity_id: uuid.UUID, available_aal: str) -> None:
        """Store an identity's recomputed highest reachable AAL."""
        ...

    async def list(self, page: ListQuery) -> tuple[list[Identity], uuid.UUID | None]:
        """A page ordered by id, and the id to continue after (None on the last page)."""
        ...

    async def create_many(self, batch: Sequence[Identity]) -> None:
        """Insert identities in one transaction: all or nothing."""
        ...

    async def update(self, identity: Identity) -> None:
        """Replace an identity and everything it owns."""
        ...

    async def update_credential_config(
        self, identity_id: uuid.UUID, kind: str, config: object, *, unchanged_since: datetime | None = None
    ) -> bool:
        """Replace one credential's config (a re-hashed password, a used backup code).

        With ``unchanged_since`` (the ``updated_at`` it was read with) only if nobody changed it since:
        two logins racing with one backup code cannot both use it. Whether it was replaced.
        """
        ...

    async def delete(self, identity_id: uuid.UUID) -> bool:
        """Delete an identity; False when it did not exist."""
        ...
