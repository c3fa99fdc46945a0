"""The one-time secret pool: codes and link tokens of recovery and verification, stored as HMACs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa

from kratos.identity.model import utcnow
from kratos.persistence.database import Database
from kratos.persistence.tables import selfservice_codes, selfservice_flows
from kratos.selfservice.flow.onetime import IssuedBy, OneTimeSecret, Purpose

_codes = selfservice_codes.c


class CodeRepository:
    """The :class:`~kratos.selfservice.flow.onetime.OneTimeSecretPool` on SQL databases."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, secret: OneTimeSecret) -> None:
        """Store a new secret."""
        async with self.db.transaction() as conn:
            await conn.execute(
                sa.insert(selfservice_codes).values(
                    id=secret.id,
                    purpose=secret.purpose.value,
                    flow_id=secret.flow_id,
                    identity_id=secret.identity_id,
                    digest=secret.digest,
                    address=secret.address,
                    issued_by=secret.issued_by.value,
                    expires_at=secret.expires_at,
                    used_at=None,
                    created_at=secret.created_at,
                )
            )

    async def use(self, purpose: Purpose, flow_id: uuid.UUID, digests: Sequence[str]) -> OneTimeSecret | None:
        """Mark the matching unused secret used and return it; an expired one is returned untouched."""
        query = sa.select(selfservice_codes).where(
            _codes.flow_id == flow_id,
            _codes.purpose == purpose.value,
            _codes.digest.in_(list(digests)),
            _codes.used_at.is_(None),
        )
        async with self.db.transaction() as conn:
            row = (await conn.execute(query)).first()
            if row is None:
                return None
            secret = _secret(row)
            if secret.is_expired():
                return secret
            secret.used_at = utcnow()
            claimed = await conn.execute(
                sa.update(selfservice_codes)
                .where(_codes.id == secret.id, _codes.used_at.is_(None))
                .values(used_at=secret.used_at)
            )
            return secret if claimed.rowcount == 1 else None

    async def delete_for_flow(self, purpose: Purpose, flow_id: uuid.UUID) -> None:
        """Forget a flow's secrets of one purpose."""
        async with self.db.transaction() as conn:
            await conn.execute(
                sa.delete(selfservice_codes).where(_codes.flow_id == flow_id, _codes.purpose == purpose.value)
            )

    async def count_submission(self, flow_id: uuid.UUID) -> int:
        """Add one to the flow's submission count (under the row's write lock) and return it."""
        flows = selfservice_flows.c
        async with self.db.transaction() as conn:
            await conn.execute(
                sa.update(selfservice_flows)
                .where(flows.id == flow_id)
                .values(submit_count=flows.submit_count + 1)
            )
            count = await conn.scalar(sa.select(flows.submit_count).where(flows.id == flow_id))
        return int(count or 0)


def _secret(row: sa.Row[tuple[object, ...]]) -> OneTimeSecret:
    return OneTimeSecret(
        id=row.id,
        purpose=Purpose(row.purpose),
        flow_id=row.flow_id,
        identity_id=row.identity_id,
        digest=row.digest,
        address=row.address,
        issued_by=IssuedBy(row.issued_by),
        expires_at=row.expires_at,
        used_at=row.used_at,
        created_at=row.created_at,
    )
