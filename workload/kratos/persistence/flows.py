"""The flow pool: self-service flows and the errors shown to browsers."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from kratos.identity.model import utcnow
from kratos.persistence.database import Database
from kratos.persistence.tables import selfservice_errors, selfservice_flows
from kratos.selfservice.flow.model import Flow, Kind


class FlowRepository:
    """The :class:`~kratos.selfservice.flow.pool.FlowPool` on SQL databases."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, flow: Flow) -> None:
        """Insert a flow."""
        now = utcnow()
        async with self.db.transaction() as conn:
            await conn.execute(
                sa.insert(selfservice_flows).values(
                    id=flow.id,
                    kind=flow.kind.value,
                    body=flow.to_storage(),
                    expires_at=flow.expires_at,
                    created_at=now,
                    updated_at=now,
                )
            )

    async def get(self, kind: Kind, flow_id: uuid.UUID) -> Flow | None:
        """A flow by kind and id."""
        table = selfservice_flows.c
        query = sa.select(table.body, table.updated_at).where(table.id == flow_id, table.kind == kind.value)
        async with self.db.read() as conn:
            row = (await conn.execute(query)).first()
        return Flow.from_storage(flow_id, row.body, row.updated_at) if row else None

    async def update(self, flow: Flow) -> None:
        """Store a flow's new state."""
        async with self.db.transaction() as conn:
            await conn.execute(
                sa.update(selfservice_flows)
                .where(selfservice_flows.c.id == flow.id)
                .values(body=flow.to_storage(), updated_at=utcnow())
            )

    async def save_error(self, error: dict[str, Any]) -> uuid.UUID:
        """Keep an error for the error UI."""
        error_id = uuid.uuid4()
        now = utcnow()
        async with self.db.transaction() as conn:
            await conn.execute(
                sa.insert(selfservice_errors).values(id=error_id, error=error, created_at=now, updated_at=now)
            )
        return error_id

    async def get_error(self, error_id: uuid.UUID) -> dict[str, Any] | None:
        """A stored error (marked as seen)."""
        table = selfservice_errors.c
        async with self.db.transaction() as conn:
            row = (await conn.execute(sa.select(table.error).where(table.id == error_id))).first()
            if row is not None:
                await conn.execute(
                    sa.update(selfservice_errors).where(table.id == error_id).values(seen_at=utcnow())
                )
        return row.error if row else None
