"""The courier worker: claims batches from the queue, sends them through the channels, records outcomes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from kratos.courier.channel import Channel, DeliveryError
from kratos.courier.model import DispatchStatus, Message, MessageStatus
from kratos.courier.pool import MessagePool, Outcome
from kratos.identity.model import utcnow

log = logging.getLogger(__name__)
MAX_BACKOFF = 300.0  # seconds


@dataclass(frozen=True, slots=True)
class DispatcherSettings:
    """``courier.worker`` and ``courier.message_retries``, and how the worker claims.

    ``lease``: how long a claim holds before other workers may take the messages (renewed every third of
    it while a batch is out); ``concurrency``: messages of a batch sent at once.
    """

    pull_count: int = 10
    pull_wait: float = 1.0
    message_retries: int = 5
    lease: float = 60.0
    concurrency: int = 16


def worker_id() -> str:
    """A claim owner unique across hosts and processes: host, pid and a random part."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def error_json(exc: BaseException) -> dict[str, Any]:
    """A failed attempt's error as upstream records it (herodot's error JSON of a plain error)."""
    out: dict[str, Any] = {"code": 500, "status": "Internal Server Error", "message": str(exc) or repr(exc)}
    if isinstance(exc, DeliveryError) and exc.details:
        out["details"] = exc.details
    return out


class Dispatcher:
    """Sends queued messages until :meth:`stop`.

    Every ``pull_wait`` it claims ``pull_count`` messages; a full batch is followed by the next one at
    once, so a backlog drains at the channels' pace. A message goes out through the channel named by its
    ``channel`` (or its type). Success: ``sent`` and a ``success`` dispatch row. A :class:`DeliveryError`
    (or any error): a ``failed`` row with the error, and back to ``queued`` to wait out :meth:`backoff`, or
    ``abandoned`` when it is permanent or the message had ``message_retries`` retries. A batch's outcomes
    are stored in one transaction, for the messages this worker still holds.
    """

    def __init__(
        self,
        pool: MessagePool,
        channels: Mapping[str, Channel],
        settings: DispatcherSettings | None = None,
        *,
        owner: str | None = None,
    ) -> None:
        self.pool = pool
        self.channels = dict(channels)
        self.settings = settings or DispatcherSettings()
        self.owner = owner or worker_id()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the messages being sent, release the batch's others, then return from :meth:`run`."""
        self._stopping.set()

    async def run(self) -> None:
        """Dispatch until :meth:`stop`; a database that is away is retried with a growing pause."""
        pause = self.settings.pull_wait
        while not self._stopping.is_set():
            try:
                claimed = await self.run_once()
                pause = self.settings.pull_wait
            except Exception:  # the database is away, or a bug: log and keep the worker alive
                log.exception("the courier could not dispatch a batch; retrying in %.1f s", pause)
                claimed, pause = 0, min(max(pause, 0.5) * 2, 30.0)
            if claimed < self.settings.pull_count:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause)

    async def run_once(self) -> int:
        """Claim one batch and dispatch it; how many messages were claimed."""
        lease = timedelta(seconds=self.settings.lease)
        batch = await self.pool.claim(self.owner, self.settings.pull_count, lease)
        if batch:
            await self.dispatch(batch)
        return len(batch)

    async def dispatch(self, batch: Sequence[Message]) -> None:
        """Send a claimed batch, a few at once, and store every outcome together.

        Stopping (or cancellation) leaves messages not started yet unsent: they are released to the queue.
        """
        outcomes: dict[uuid.UUID, Outcome] = {}
        slots = asyncio.Semaphore(self.settings.concurrency)

        async def one(message: Message) -> None:
            async with slots:
                if not self._stopping.is_set():
                    outcomes[message.id] = await self._send(message)

        renew = asyncio.create_task(self._renew([m.id for m in batch]))
        try:
            await asyncio.gather(*(one(message) for message in batch))
        finally:
            renew.cancel()
            released = [
                Outcome(m.id, MessageStatus.QUEUED, attempted=False) for m in batch if m.id not in outcomes
            ]
            await asyncio.shield(self.pool.finish(self.owner, [*outcomes.values(), *released]))

    async def _send(self, message: Message) -> Outcome:
        if message.send_count > self.settings.message_retries + 1:  # a crashed worker's, already tried
            log.warning("courier message %s abandoned after %d attempts", message.id, message.send_count - 1)
            return Outcome(message.id, MessageStatus.ABANDONED, attempted=False)
        channel = self.channels.get(message.channel or message.type.value)
        try:
            if channel is None:
                raise DeliveryError(f"no courier channels configured for: {message.channel or message.type}")
            await channel.dispatch(message)
        except Exception as exc:
            permanent = isinstance(exc, DeliveryError) and exc.permanent
            give_up = permanent or message.send_count > self.settings.message_retries
            level = logging.WARNING if give_up else logging.INFO
            log.log(
                level,
                "courier message %s (%s) attempt %d failed%s: %s",
                message.id,
                message.template_type,
                message.send_count,
                ", abandoned" if give_up else "",
                exc,
                exc_info=not isinstance(exc, DeliveryError),
            )
            if give_up:
                return Outcome(message.id, MessageStatus.ABANDONED, DispatchStatus.FAILED, error_json(exc))
            retry_at = utcnow() + self.backoff(message.send_count)
            return Outcome(
                message.id, MessageStatus.QUEUED, DispatchStatus.FAILED, error_json(exc), retry_at=retry_at
            )
        return Outcome(message.id, MessageStatus.SENT, DispatchStatus.SUCCESS)

    def backoff(self, attempts: int) -> timedelta:
        """How long a message waits after its ``attempts``-th failure.

        ``pull_wait`` doubled at each failure, at most five minutes: the default five retries ride out a
        half-minute outage of the mail server, more retries longer ones.
        """
        return timedelta(seconds=min(self.settings.pull_wait * 2 ** (attempts - 1), MAX_BACKOFF))

    async def _renew(self, ids: list[uuid.UUID]) -> None:
        """Keep the batch's lease while it is out."""
        every = self.settings.lease / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self.pool.extend(self.owner, ids, timedelta(seconds=self.settings.lease))
            except Exception:  # the next renewal may succeed; the lease covers two misses
                log.warning("the courier could not renew its claim on %d messages", len(ids), exc_info=True)

    async def close(self) -> None:
        """Close every channel."""
        for channel in self.channels.values():
            try:
                await channel.close()
            except Exception:
                log.warning("closing courier channel %s failed", channel.id, exc_info=True)
