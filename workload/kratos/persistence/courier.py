"""The courier queue on SQL databases: claims with row locks (``SKIP LOCKED``) or SQLite's write lock."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kratos.courier.model import Dispatch, DispatchStatus, Message, MessageStatus, MessageType
from kratos.courier.pool import MessageQuery, Outcome
from kratos.identity.model import utcnow
from kratos.persistence.database import Database
from kratos.persistence.tables import courier_message_dispatches, courier_messages
from kratos.persistence.types import UTCDateTime

_M = courier_messages.c
_D = courier_message_dispatches.c
_PROCESSING = MessageStatus.PROCESSING.value


def _claimable(now: Any) -> sa.ColumnElement[bool]:
    """Queued messages not waiting out a retry, and processing ones whose worker's lease ran out."""
    return sa.or_(
        sa.and_(
            _M.status == MessageStatus.QUEUED.value,
            sa.or_(_M.claimed_until.is_(None), _M.claimed_until <= now),
        ),
        sa.and_(_M.status == _PROCESSING, _M.claimed_until < now),
    )


def _owned(owner: str, ids: Sequence[uuid.UUID]) -> sa.ColumnElement[bool]:
    return sa.and_(_M.id.in_(ids), _M.claimed_by == owner, _M.status == _PROCESSING)


class MessageRepository:
    """The :class:`~kratos.courier.pool.MessagePool` on SQL databases.

    PostgreSQL and SQLite claim in one ``UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING`` (on
    PostgreSQL the inner SELECT is ``FOR UPDATE SKIP LOCKED``, so concurrent claims pass each other's rows
    by; SQLite runs the statement under its database write lock). MariaDB, without ``UPDATE ... RETURNING``,
    selects ``FOR UPDATE SKIP LOCKED`` and updates in one READ COMMITTED transaction (no gap locks that
    would hold up new messages).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._mysql = db.url.dialect == "mysql"

    async def add(self, message: Message) -> None:
        """Store a new message."""
        async with self.db.transaction() as conn:
            await conn.execute(sa.insert(courier_messages).values(_message_row(message)))

    async def claim(self, owner: str, limit: int, lease: timedelta) -> list[Message]:
        """Claim up to ``limit`` messages, oldest first (see :class:`~kratos.courier.pool.MessagePool`)."""
        now = utcnow()
        claimed = {
            "status": _PROCESSING,
            "claimed_by": owner,
            "claimed_until": now + lease,
            "send_count": _M.send_count + 1,
            "updated_at": now,
        }
        pick = (
            sa.select(_M.id)
            .where(_claimable(now))
            .order_by(_M.created_at, _M.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if self._mysql:
            return await self._claim_mysql(pick, claimed)
        statement = (
            sa.update(courier_messages)
            .where(_M.id.in_(pick.scalar_subquery()))
            .values(claimed)
            .returning(*_M)
        )
        async with self.db.transaction() as conn:
            rows = (await conn.execute(statement)).all()
        return sorted((_message(row) for row in rows), key=lambda m: (m.created_at, str(m.id)))

    async def _claim_mysql(self, pick: sa.Select[Any], claimed: dict[str, Any]) -> list[Message]:
        async with self.db.transaction(isolation_level="READ COMMITTED") as conn:
            ids = list((await conn.execute(pick)).scalars())
            if not ids:
                return []
            await conn.execute(sa.update(courier_messages).where(_M.id.in_(ids)).values(claimed))
            rows = (await conn.execute(sa.select(courier_messages).where(_M.id.in_(ids)))).all()
        return sorted((_message(row) for row in rows), key=lambda m: (m.created_at, str(m.id)))

    async def extend(self, owner: str, ids: Sequence[uuid.UUID], lease: timedelta) -> int:
        """Push the lease of the messages ``owner`` still holds."""
        if not ids:
            return 0
        now = utcnow()
        statement = sa.update(courier_messages).where(_owned(owner, ids)).values(claimed_until=now + lease)
        async with self.db.transaction() as conn:
            return (await conn.execute(statement)).rowcount

    async def finish(self, owner: str, outcomes: Sequence[Outcome]) -> int:
        """Apply a batch's outcomes in one transaction: one UPDATE, one INSERT of dispatch rows."""
        if not outcomes:
            return 0
        by_id = {outcome.message_id: outcome for outcome in outcomes}
        now = utcnow()
        status = sa.case(
            *(
                (_M.id.in_([o.message_id for o in outcomes if o.status is wanted]), wanted.value)
                for wanted in {o.status for o in outcomes}
            ),
            else_=_M.status,
        )
        unsent = [o.message_id for o in outcomes if not o.attempted]
        retries = {o.retry_at for o in outcomes if o.retry_at is not None}
        values: dict[str, Any] = {
            "status": status,
            "claimed_by": None,
            "claimed_until": sa.case(
                *(
                    (
                        _M.id.in_([o.message_id for o in outcomes if o.retry_at == at]),
                        sa.literal(at, UTCDateTime()),
                    )
                    for at in retries
                ),
                else_=sa.null(),
            )
            if retries
            else None,
            "updated_at": now,
        }
        if unsent:
            values["send_count"] = sa.case((_M.id.in_(unsent), _M.send_count - 1), else_=_M.send_count)
        where = _owned(owner, list(by_id))
        async with self.db.transaction(isolation_level="READ COMMITTED" if self._mysql else None) as conn:
            owned = await self._update_owned(conn, where, values)
            rows = [
                {
                    "id": uuid.uuid4(),
                    "message_id": message_id,
                    "status": by_id[message_id].dispatch.value,  # type: ignore[union-attr]
                    "error": by_id[message_id].error,
                    "created_at": now,
                    "updated_at": now,
                }
                for message_id in owned
                if by_id[message_id].dispatch is not None
            ]
            if rows:
                await conn.execute(sa.insert(courier_message_dispatches), rows)
        return len(owned)

    async def _update_owned(
        self, conn: AsyncConnection, where: sa.ColumnElement[bool], values: dict[str, Any]
    ) -> list[uuid.UUID]:
        """Update the rows ``where`` selects; their ids (locked first on MariaDB: it returns none)."""
        if self._mysql:
            ids = list((await conn.execute(sa.select(_M.id).where(where).with_for_update())).scalars())
            if ids:
                await conn.execute(sa.update(courier_messages).where(_M.id.in_(ids)).values(values))
            return ids
        statement = sa.update(courier_messages).where(where).values(values).returning(_M.id)
        return list((await conn.execute(statement)).scalars())

    async def get(self, message_id: uuid.UUID) -> Message | None:
        """A message with its dispatches, newest first."""
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(courier_messages).where(_M.id == message_id))).first()
            if row is None:
                return None
            dispatches = (
                await conn.execute(
                    sa.select(courier_message_dispatches)
                    .where(_D.message_id == message_id)
                    .order_by(_D.created_at.desc(), _D.id)
                )
            ).all()
        message = _message(row)
        message.dispatches = [
            Dispatch(
                message_id=d.message_id,
                status=DispatchStatus(d.status),
                error=d.error,
                id=d.id,
                created_at=d.created_at,
                updated_at=d.updated_at,
            )
            for d in dispatches
        ]
        return message

    async def list(self, query: MessageQuery) -> tuple[list[Message], Message | None]:
        """A page ordered by ``created_at`` descending, then ``id``, as upstream pages messages."""
        statement = (
            sa.select(courier_messages).order_by(_M.created_at.desc(), _M.id).limit(query.page_size + 1)
        )
        if query.status is not None:
            statement = statement.where(_M.status == query.status.value)
        if query.recipient:
            statement = statement.where(_M.recipient == query.recipient)
        if query.after is not None:
            created_at, last_id = query.after
            statement = statement.where(
                sa.or_(_M.created_at < created_at, sa.and_(_M.created_at == created_at, _M.id > last_id))
            )
        async with self.db.read() as conn:
            rows = (await conn.execute(statement)).all()
        messages = [_message(row) for row in rows[: query.page_size]]
        return messages, (messages[-1] if len(rows) > query.page_size else None)


def _message_row(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "type": message.type.value,
        "status": message.status.value,
        "recipient": message.recipient,
        "subject": message.subject,
        "body": message.body,
        "template_type": message.template_type,
        "template_data": message.template_data,
        "channel": message.channel,
        "send_count": message.send_count,
        "created_at": message.created_at,
        "updated_at": message.updated_at,
    }


def _message(row: Any) -> Message:
    return Message(
        type=MessageType(row.type),
        recipient=row.recipient,
        subject=row.subject,
        body=row.body,
        template_type=row.template_type,
        template_data=row.template_data or {},
        channel=row.channel,
        status=MessageStatus(row.status),
        send_count=row.send_count,
        id=row.id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
