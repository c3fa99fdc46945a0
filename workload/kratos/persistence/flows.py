"""The flow pool: self-service flows and the errors shown to browsers."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from kratos.identity.model import utcnow
from kratos.persistence.database import Database
from kratos.persistence.raw import json_value, utc_value
from kratos.persistence.tables import selfservice_errors, selfservice_flows
from kratos.selfservice.flow.model import Flow, Kind

_FLOW = selfservice_flows.c
_CREATE = sa.insert(selfservice_flows).values({c.name: sa.bindparam(f"b_{c.name}") for c in _FLOW})
_GET = sa.select(_FLOW.body, _FLOW.updated_at).where(
    _FLOW.id == sa.bindparam("b_id"), _FLOW.kind == sa.bindparam("b_kind")
)
_UPDATE = (
    sa.update(selfservice_flows)
    .where(_FLOW.id == sa.bindparam("b_id"))
    .values(body=sa.bindparam("b_body"), updated_at=sa.bindparam("b_updated_at"))
)


class FlowRepository:
    """The :class:`~kratos.selfservice.flow.pool.FlowPool` on SQL databases.

    A flow is created, read and stored on every self-service request: each is one prepared statement.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._create = db.prepare(_CREATE)
        self._get = db.prepare(_GET)
        self._update = db.prepare(_UPDATE)

    async def create(self, flow: Flow) -> None:
        """Insert a flow."""
        now = utcnow()
        await self._create.execute(
            b_id=flow.id,
            b_kind=flow.kind.value,
            b_submit_count=0,
            b_body=flow.to_storage(),
            b_expires_at=flow.expires_at,
            b_created_at=now,
            b_updated_at=now,
        )

    async def get(self, kind: Kind, flow_id: uuid.UUID) -> Flow | None:
        """A flow by kind and id."""
        row = await self._get.first(flow_id, kind.value)
        if row is None:
            return None
        return Flow.from_storage(flow_id, json_value(row["body"]), utc_value(row["updated_at"]))

    async def update(self, flow: Flow) -> None:
        """Store a flow's new state."""
        await self._update.execute(b_id=flow.id, b_body=flow.to_storage(), b_updated_at=utcnow())

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
