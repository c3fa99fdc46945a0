"""What the courier needs from storage: a queue that workers on any number of hosts claim from."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from kratos.courier.model import DispatchStatus, Message, MessageStatus


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed message: its new status and the dispatch row to record, if any.

    ``attempted`` is False for a message released unsent (a stopping worker): its ``send_count`` is given
    back. ``retry_at``: when a message queued again after a failure may be claimed again.
    """

    message_id: uuid.UUID
    status: MessageStatus
    dispatch: DispatchStatus | None = None
    error: dict[str, Any] | None = None
    attempted: bool = True
    retry_at: datetime | None = None  # a failed message waits until then before it is claimed again


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """A page of the admin list: newest first, optionally one status or recipient, after a keyset."""

    page_size: int
    status: MessageStatus | None = None
    recipient: str | None = None
    after: tuple[datetime, uuid.UUID] | None = None


class MessagePool(Protocol):
    """The courier queue."""

    async def add(self, message: Message) -> None:
        """Store a new message (its status as given, normally queued)."""
        ...

    async def claim(self, owner: str, limit: int, lease: timedelta) -> list[Message]:
        """Claim up to ``limit`` messages, oldest first, for ``owner`` until ``lease`` from now.

        Queued messages and processing ones whose lease ran out are claimable; each claimed one is
        processing with ``send_count`` one higher (the attempt about to be made). No two claims, from any
        number of workers, return the same message while its lease holds.
        """
        ...

    async def extend(self, owner: str, ids: Sequence[uuid.UUID], lease: timedelta) -> int:
        """Push the lease of the messages ``owner`` still holds to ``lease`` from now; how many it holds."""
        ...

    async def finish(self, owner: str, outcomes: Sequence[Outcome]) -> int:
        """Apply outcomes to the messages ``owner`` still holds (others are left alone); how many applied."""
        ...

    async def get(self, message_id: uuid.UUID) -> Message | None:
        """A message with its dispatches, newest first, or None."""
        ...

    async def list(self, query: MessageQuery) -> tuple[list[Message], Message | None]:
        """A page of messages (newest first, then by id) and the last of it when another page follows."""
        ...
