"""The identity repository: an identity, its credentials and addresses, in few queries."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from kratos.identity.errors import DuplicateIdentifier
from kratos.identity.model import (
    Credentials,
    Identity,
    RecoveryAddress,
    State,
    VerifiableAddress,
    utcnow,
)
from kratos.identity.pool import AddressKind, ListQuery
from kratos.persistence.database import Database
from kratos.persistence.tables import (
    identities,
    identity_credential_identifiers,
    identity_credentials,
    identity_recovery_addresses,
    identity_verifiable_addresses,
)
from kratos.persistence.types import UTCDateTime

IDENTITY_COLUMNS = (
    "id",
    "schema_id",
    "traits",
    "state",
    "state_changed_at",
    "metadata_public",
    "metadata_admin",
    "external_id",
    "organization_id",
    "available_aal",
    "created_at",
    "updated_at",
)

_IDS = sa.bindparam("ids", expanding=True)
_VERIFIABLE = sa.select(
    sa.literal("v").label("kind"),
    identity_verifiable_addresses.c.identity_id,
    identity_verifiable_addresses.c.id,
    identity_verifiable_addresses.c.via,
    identity_verifiable_addresses.c.value,
    identity_verifiable_addresses.c.verified,
    identity_verifiable_addresses.c.status,
    identity_verifiable_addresses.c.verified_at,
    sa.null().label("config"),
    sa.null().label("version"),
    identity_verifiable_addresses.c.created_at,
    identity_verifiable_addresses.c.updated_at,
).where(identity_verifiable_addresses.c.identity_id.in_(_IDS))
_RECOVERY = sa.select(
    sa.literal("r"),
    identity_recovery_addresses.c.identity_id,
    identity_recovery_addresses.c.id,
    identity_recovery_addresses.c.via,
    identity_recovery_addresses.c.value,
    sa.null(),
    sa.null(),
    sa.null(),
    sa.null(),
    sa.null(),
    identity_recovery_addresses.c.created_at,
    identity_recovery_addresses.c.updated_at,
).where(identity_recovery_addresses.c.identity_id.in_(_IDS))
# First in its union: its typed columns (JSON config, integer version) fix the union's column types on
# PostgreSQL, and the NULLs are typed for the Python side only (no CAST: MariaDB has no CAST AS JSON).
_CREDENTIALS = (
    sa.select(
        sa.literal("c").label("kind"),
        identity_credentials.c.identity_id,
        identity_credentials.c.id,
        identity_credentials.c.type.label("via"),
        identity_credential_identifiers.c.identifier.label("value"),
        sa.type_coerce(sa.null(), sa.Boolean()).label("verified"),
        sa.type_coerce(sa.null(), sa.String()).label("status"),
        sa.type_coerce(sa.null(), UTCDateTime()).label("verified_at"),
        identity_credentials.c.config,
        identity_credentials.c.version,
        identity_credentials.c.created_at,
        identity_credentials.c.updated_at,
    )
    .select_from(
        identity_credentials.outerjoin(
            identity_credential_identifiers,
            identity_credential_identifiers.c.identity_credential_id == identity_credentials.c.id,
        )
    )
    .where(identity_credentials.c.identity_id.in_(_IDS))
)
# Everything an identity owns, in one round trip: addresses, and optionally credentials with identifiers.
_CHILDREN = {
    False: sa.union_all(_VERIFIABLE, _RECOVERY),
    True: sa.union_all(_CREDENTIALS, _VERIFIABLE, _RECOVERY),
}


# Statements of the hot paths (a login's identity, a second factor's claim), built once: SQLAlchemy's
# statement construction costs more than the database round trip.
_BY_ID = sa.select(identities).where(identities.c.id == sa.bindparam("identity_id"))
_CREDENTIAL = identity_credentials.c
_SET_CONFIG = (
    sa.update(identity_credentials)
    .where(
        _CREDENTIAL.identity_id == sa.bindparam("b_identity_id"), _CREDENTIAL.type == sa.bindparam("b_type")
    )
    .values(config=sa.bindparam("b_config"), updated_at=sa.bindparam("b_updated_at"))
)
_SET_CONFIG_IF_UNCHANGED = _SET_CONFIG.where(_CREDENTIAL.updated_at == sa.bindparam("b_since"))


class IdentityRepository:
    """The :class:`~kratos.identity.pool.IdentityPool`: a page of identities costs two queries."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._set_config = db.prepare(_SET_CONFIG)
        self._set_config_if_unchanged = db.prepare(_SET_CONFIG_IF_UNCHANGED)

    async def get(self, identity_id: uuid.UUID, *, credentials: bool = True) -> Identity | None:
        """One identity by id, or None."""
        async with self.db.read() as conn:
            rows = (await conn.execute(_BY_ID, {"identity_id": identity_id})).all()
            found = await _hydrate(conn, rows, credentials)
        return found[0] if found else None

    async def get_by_external_id(self, external_id: str, *, credentials: bool = True) -> Identity | None:
        """One identity by its external id, or None."""
        return await self._get_one(identities.c.external_id == external_id, credentials)

    async def _get_one(self, where: sa.ColumnElement[bool], credentials: bool) -> Identity | None:
        async with self.db.read() as conn:
            rows = (await conn.execute(sa.select(identities).where(where))).all()
            found = await _hydrate(conn, rows, credentials)
        return found[0] if found else None

    async def find_by_identifier(self, kind: str | Sequence[str], identifier: str) -> Identity | None:
        """The identity owning credential identifier ``identifier`` of type ``kind`` (or one of several)."""
        kinds = [kind] if isinstance(kind, str) else list(kind)
        owner = (
            sa.select(identity_credential_identifiers.c.identity_id)
            .where(
                identity_credential_identifiers.c.type.in_(kinds),
                identity_credential_identifiers.c.identifier == identifier,
            )
            .limit(1)
        )
        return await self._get_one(identities.c.id == owner.scalar_subquery(), True)

    async def find_by_address(self, kind: AddressKind, via: str, value: str) -> Identity | None:
        """The identity owning the recovery or verifiable address ``value`` (without credentials)."""
        table = identity_recovery_addresses if kind == "recovery" else identity_verifiable_addresses
        owner = sa.select(table.c.identity_id).where(table.c.via == via, table.c.value == value)
        return await self._get_one(identities.c.id == owner.scalar_subquery(), False)

    async def update_available_aal(self, identity_id: uuid.UUID, available_aal: str) -> None:
        """Store an identity's recomputed highest reachable AAL."""
        async with self.db.transaction() as conn:
            await conn.execute(
                sa.update(identities)
                .where(identities.c.id == identity_id)
                .values(available_aal=available_aal)
            )

    async def update_verifiable_address(self, address: VerifiableAddress) -> None:
        """Store one verifiable address's status."""
        address.updated_at = utcnow()
        async with self.db.transaction() as conn:
            await conn.execute(
                sa.update(identity_verifiable_addresses)
                .where(identity_verifiable_addresses.c.id == address.id)
                .values(
                    verified=address.verified,
                    status=address.status,
                    verified_at=address.verified_at,
                    updated_at=address.updated_at,
                )
            )

    async def list(self, page: ListQuery) -> tuple[list[Identity], uuid.UUID | None]:
        """A page ordered by id, and the id to continue after (None on the last page)."""
        query = sa.select(identities).order_by(identities.c.id).limit(page.page_size + 1)
        with_credentials = (
            page.credentials or page.credentials_identifier is not None or page.identifier_similar is not None
        )
        if page.ids is not None:
            query = query.where(identities.c.id.in_(page.ids))
        query = query.offset(page.offset or None)
        if page.after is not None:
            query = query.where(identities.c.id > page.after)
        identifier = identity_credential_identifiers.c.identifier
        if page.credentials_identifier is not None:
            wanted = page.credentials_identifier
            matching = identifier.in_({wanted, wanted.strip().lower()})
        elif page.identifier_similar is not None:
            similar = page.identifier_similar.strip().lower()
            matching = sa.func.lower(identifier).contains(similar, autoescape=True)
        else:
            matching = None
        if matching is not None:
            owners = sa.select(identity_credential_identifiers.c.identity_id).where(matching)
            query = query.where(identities.c.id.in_(owners))
        if page.organization_id is not None:
            query = query.where(identities.c.organization_id == page.organization_id)
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
            next_after = None
            if len(rows) > page.page_size:
                rows = rows[: page.page_size]
                next_after = rows[-1].id
            return await _hydrate(conn, rows, with_credentials), next_after

    async def create_many(self, batch: Sequence[Identity]) -> None:
        """Insert identities in one transaction; all or nothing."""
        if not batch:
            return
        try:
            async with self.db.transaction() as conn:
                await conn.execute(sa.insert(identities), [_identity_row(identity) for identity in batch])
                await _insert_children(conn, batch)
        except IntegrityError as exc:
            raise DuplicateIdentifier(str(exc.orig)) from exc

    async def update(self, identity: Identity) -> None:
        """Replace an identity's row and children in one transaction."""
        row = _identity_row(identity)
        del row["id"], row["created_at"]
        try:
            async with self.db.transaction() as conn:
                await conn.execute(sa.update(identities).where(identities.c.id == identity.id).values(row))
                for table in (
                    identity_credentials,
                    identity_verifiable_addresses,
                    identity_recovery_addresses,
                ):
                    await conn.execute(sa.delete(table).where(table.c.identity_id == identity.id))
                await _insert_children(conn, [identity])
        except IntegrityError as exc:
            raise DuplicateIdentifier(str(exc.orig)) from exc

    async def update_credential_config(
        self, identity_id: uuid.UUID, kind: str, config: object, *, unchanged_since: datetime | None = None
    ) -> bool:
        """Replace one credential's config, leaving its identifiers alone (if unchanged since, when given)."""
        params = {"b_identity_id": identity_id, "b_type": kind, "b_config": config, "b_updated_at": utcnow()}
        if unchanged_since is None:
            return await self._set_config.execute(**params) > 0
        # A login's second factor waits on this one.
        return await self._set_config_if_unchanged.execute(**params, b_since=unchanged_since) > 0

    async def delete(self, identity_id: uuid.UUID) -> bool:
        """Delete an identity and everything it owns; False if it did not exist."""
        async with self.db.transaction() as conn:
            result = await conn.execute(sa.delete(identities).where(identities.c.id == identity_id))
        return result.rowcount > 0


def identity_from_row(row: Any, prefix: str = "") -> Identity:
    """An identity from its row (columns named ``<prefix><column>``), without children yet."""

    def value(name: str) -> Any:
        return getattr(row, prefix + name)

    return Identity(
        id=value("id"),
        schema_id=value("schema_id"),
        traits=value("traits"),
        state=State(value("state")),
        state_changed_at=value("state_changed_at"),
        metadata_public=value("metadata_public"),
        metadata_admin=value("metadata_admin"),
        external_id=value("external_id"),
        organization_id=value("organization_id"),
        available_aal=value("available_aal"),
        created_at=value("created_at"),
        updated_at=value("updated_at"),
        verifiable_addresses=[],
        recovery_addresses=[],
    )


def _attach(identity: Identity, row: Any) -> None:
    """Add one child row (``kind`` v, r or c) to its identity."""
    if row.kind == "v":
        identity.verifiable_addresses.append(
            VerifiableAddress(
                value=row.value,
                via=row.via,
                verified=bool(row.verified),
                status=row.status,
                verified_at=row.verified_at,
                id=row.id,
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
        )
    elif row.kind == "r":
        identity.recovery_addresses.append(
            RecoveryAddress(
                value=row.value, via=row.via, id=row.id, created_at=row.created_at, updated_at=row.updated_at
            )
        )
    else:
        credential = identity.credentials.get(row.via)
        if credential is None:
            credential = identity.credentials[row.via] = Credentials(
                type=row.via,
                identifiers=[],
                config=row.config,
                version=row.version,
                id=row.id,
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
        if row.value is not None:
            credential.identifiers.append(row.value)


def _identity_row(identity: Identity) -> dict[str, Any]:
    row = {name: getattr(identity, name) for name in IDENTITY_COLUMNS}
    row["state"] = identity.state.value
    return row


async def _insert_children(conn: AsyncConnection, batch: Iterable[Identity]) -> None:
    credential_rows: list[dict[str, Any]] = []
    identifier_rows: list[dict[str, Any]] = []
    verifiable_rows: list[dict[str, Any]] = []
    recovery_rows: list[dict[str, Any]] = []
    for identity in batch:
        for credential in identity.credentials.values():
            credential_rows.append(
                {
                    "id": credential.id,
                    "identity_id": identity.id,
                    "type": credential.type,
                    "config": credential.config,
                    "version": credential.version,
                    "created_at": credential.created_at,
                    "updated_at": credential.updated_at,
                }
            )
            identifier_rows.extend(
                {
                    "id": uuid.uuid4(),
                    "identity_credential_id": credential.id,
                    "identity_id": identity.id,
                    "type": credential.type,
                    "identifier": identifier,
                    "created_at": credential.created_at,
                    "updated_at": credential.updated_at,
                }
                for identifier in credential.identifiers
            )
        verifiable_rows.extend(
            {
                "id": address.id,
                "identity_id": identity.id,
                "via": address.via,
                "value": address.value,
                "verified": address.verified,
                "status": address.status,
                "verified_at": address.verified_at,
                "created_at": address.created_at,
                "updated_at": address.updated_at,
            }
            for address in identity.verifiable_addresses
        )
        recovery_rows.extend(
            {
                "id": address.id,
                "identity_id": identity.id,
                "via": address.via,
                "value": address.value,
                "created_at": address.created_at,
                "updated_at": address.updated_at,
            }
            for address in identity.recovery_addresses
        )
    for table, rows in (
        (identity_credentials, credential_rows),
        (identity_credential_identifiers, identifier_rows),
        (identity_verifiable_addresses, verifiable_rows),
        (identity_recovery_addresses, recovery_rows),
    ):
        if rows:
            await conn.execute(sa.insert(table), rows)


async def _hydrate(conn: AsyncConnection, rows: Sequence[Any], credentials: bool) -> list[Identity]:
    """Build identities from their rows, loading all children of the page at once."""
    if not rows:
        return []
    found = {row.id: identity_from_row(row) for row in rows}
    for row in (await conn.execute(_CHILDREN[credentials], {"ids": list(found)})).all():
        _attach(found[row.identity_id], row)
    for identity in found.values():
        for credential in identity.credentials.values():
            credential.identifiers.sort()
        identity.verifiable_addresses.sort(key=lambda address: (address.created_at, address.value))
        identity.recovery_addresses.sort(key=lambda address: (address.created_at, address.value))
    return list(found.values())
