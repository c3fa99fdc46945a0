"""Session token exchanges on SQL databases (the :class:`~kratos.selfservice.flow.exchange.ExchangePool`)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from kratos.identity.model import utcnow
from kratos.persistence.database import Database
from kratos.persistence.tables import session_token_exchanges
from kratos.selfservice.flow.exchange import Exchange

_x = session_token_exchanges.c


class ExchangeRepository:
    """One row per flow; codes only as digests, the token sealed."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, flow_id: uuid.UUID, init_digest: str, return_to_digest: str) -> None:
        """A new exchange for ``flow_id``."""
        now = utcnow()
        async with self.db.transaction() as conn:
            await conn.execute(
                sa.insert(session_token_exchanges).values(
                    id=uuid.uuid4(),
                    flow_id=flow_id,
                    init_code_digest=init_digest,
                    return_to_code_digest=return_to_digest,
                    created_at=now,
                    updated_at=now,
                )
            )

    async def attach(self, flow_id: uuid.UUID, session_id: uuid.UUID, sealed_token: str) -> None:
        """Record the session the flow's browser signed in to."""
        async with self.db.transaction() as conn:
            await conn.execute(
                sa.update(session_token_exchanges)
                .where(_x.flow_id == flow_id)
                .values(session_id=session_id, session_token=sealed_token, updated_at=utcnow())
            )

    async def move(self, old_flow_id: uuid.UUID, new_flow_id: uuid.UUID) -> None:
        """The flow continued as another."""
        async with self.db.transaction() as conn:
            await conn.execute(
                sa.update(session_token_exchanges)
                .where(_x.flow_id == old_flow_id)
                .values(flow_id=new_flow_id, updated_at=utcnow())
            )

    async def by_codes(self, init_digest: str, return_to_digest: str) -> Exchange | None:
        """The exchange both codes belong to."""
        query = sa.select(session_token_exchanges).where(
            _x.init_code_digest == init_digest, _x.return_to_code_digest == return_to_digest
        )
        async with self.db.read() as conn:
            row = (await conn.execute(query)).first()
        return _exchange(row) if row else None


def _exchange(row: sa.Row[tuple[object, ...]]) -> Exchange:
    return Exchange(flow_id=row.flow_id, session_id=row.session_id, sealed_token=row.session_token)
