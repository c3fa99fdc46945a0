"""The courier queue on SQLite, PostgreSQL and MariaDB: queue, claim, send, retry, leases, many workers."""

from __future__ import annotations

import asyncio
import collections
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from courier_helpers import TEMPLATES, RecordingChannel

from kratos.courier.channel import DeliveryError
from kratos.courier.courier import Courier, InvalidRecipient
from kratos.courier.dispatcher import Dispatcher, DispatcherSettings
from kratos.courier.model import DispatchStatus, MessageStatus, MessageType
from kratos.courier.pool import MessageQuery
from kratos.persistence import migrate
from kratos.persistence.courier import MessageRepository
from kratos.persistence.database import Database

T = TypeVar("T")
HELPER = Path(__file__).with_name("courier_helpers.py")
FAST = DispatcherSettings(pull_count=10, pull_wait=0.01, message_retries=2)


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def dsn(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/kratos.sqlite?_fk=true&mode=rwc"
    return request.getfixturevalue(f"{request.param}_dsn")


def with_pool(dsn: str, work: Callable[[MessageRepository], Awaitable[T]]) -> T:
    async def main() -> T:
        async with await Database.open(dsn) as db:
            await migrate.upgrade(db.engine)
            return await work(MessageRepository(db))

    return asyncio.run(main())


async def queue_emails(pool: MessageRepository, count: int, prefix: str = "user") -> list[str]:
    courier = Courier(pool, TEMPLATES)
    recipients = [f"{prefix}{i}@example.com" for i in range(count)]
    for recipient in recipients:
        await courier.queue_email("recovery_code_valid", recipient, {"code": "123456"})
    return recipients


async def statuses(pool: MessageRepository) -> collections.Counter[str]:
    messages, _ = await pool.list(MessageQuery(page_size=10_000))
    return collections.Counter(message.status.value for message in messages)


def test_queued_messages_are_claimed_sent_and_recorded(dsn: str) -> None:
    async def work(pool: MessageRepository) -> None:
        courier = Courier(pool, TEMPLATES)
        email = await courier.queue_email("recovery_code_valid", "ann@example.com", {"code": "424242"})
        sms = await courier.queue_sms("verification_code_valid", "+4915112345678", {"code": "777"})
        with pytest.raises(InvalidRecipient):
            await courier.queue_email("recovery_code_valid", "not an address", {"code": "1"})

        stored = await pool.get(email.id)
        assert stored is not None
        assert (stored.status, stored.type, stored.channel) == (
            MessageStatus.QUEUED,
            MessageType.EMAIL,
            "email",
        )
        assert stored.subject == "Recover access to your account"
        assert stored.body == "Your recovery code is: 424242"
        assert stored.template_data == {"code": "424242"}
        assert stored.dispatches == []

        mail, text = RecordingChannel("email"), RecordingChannel("sms")
        dispatcher = Dispatcher(pool, {"email": mail, "sms": text}, FAST)
        assert await dispatcher.run_once() == 2
        assert [m.recipient for m in mail.delivered] == ["ann@example.com"]
        assert [(m.recipient, m.body) for m in text.delivered] == [("+4915112345678", "Your code is: 777")]
        for message_id in (email.id, sms.id):
            sent = await pool.get(message_id)
            assert sent is not None
            assert (sent.status, sent.send_count) == (MessageStatus.SENT, 1)
            assert [(d.status, d.error) for d in sent.dispatches or []] == [(DispatchStatus.SUCCESS, None)]
        assert await dispatcher.run_once() == 0  # nothing is sent twice

    with_pool(dsn, work)


def test_a_failed_message_waits_before_its_retry(dsn: str) -> None:
    async def work(pool: MessageRepository) -> None:
        await queue_emails(pool, 1, "later")
        channel = RecordingChannel(failures={"later0@example.com": DeliveryError("421 busy")})
        dispatcher = Dispatcher(
            pool, {"email": channel}, DispatcherSettings(pull_wait=1.0, message_retries=3)
        )
        assert await dispatcher.run_once() == 1
        assert await dispatcher.run_once() == 0  # waiting out pull_wait after the first failure
        channel.failures.clear()
        await asyncio.sleep(1.1)
        assert await dispatcher.run_once() == 1
        (message,), _ = await pool.list(MessageQuery(page_size=1, recipient="later0@example.com"))
        assert (message.status, message.send_count) == (MessageStatus.SENT, 2)

    with_pool(dsn, work)


def test_failures_are_retried_then_abandoned(dsn: str) -> None:
    async def work(pool: MessageRepository) -> None:
        await queue_emails(pool, 1, "flaky")
        await queue_emails(pool, 1, "gone")
        channel = RecordingChannel(
            failures={
                "flaky0@example.com": DeliveryError("451 try again later", details={"smtp_code": 451}),
                "gone0@example.com": DeliveryError("550 no such user", permanent=True),
            }
        )
        dispatcher = Dispatcher(pool, {"email": channel}, FAST)  # message_retries: 2
        for _ in range(5):
            await dispatcher.run_once()
            await asyncio.sleep(0.1)  # the retries' waits: 10, 20, 40 ms
        messages = {m.recipient: m for m in (await pool.list(MessageQuery(page_size=10)))[0]}
        flaky = await pool.get(messages["flaky0@example.com"].id)
        gone = await pool.get(messages["gone0@example.com"].id)
        assert flaky is not None
        assert gone is not None
        assert (flaky.status, flaky.send_count) == (MessageStatus.ABANDONED, 3)  # one try and two retries
        assert [d.status for d in flaky.dispatches or []] == [DispatchStatus.FAILED] * 3
        assert (flaky.dispatches or [])[0].error == {
            "code": 500,
            "status": "Internal Server Error",
            "message": "451 try again later",
            "details": {"smtp_code": 451},
        }
        assert (gone.status, gone.send_count) == (MessageStatus.ABANDONED, 1)  # permanent: no retry
        assert [(d.status, (d.error or {}).get("message")) for d in gone.dispatches or []] == [
            (DispatchStatus.FAILED, "550 no such user")
        ]

        await queue_emails(pool, 1, "recovers")  # a failure that later succeeds ends as sent
        healing = RecordingChannel(failures={"recovers0@example.com": DeliveryError("timeout")})
        dispatcher = Dispatcher(pool, {"email": healing}, FAST)
        await dispatcher.run_once()
        healing.failures.clear()
        await asyncio.sleep(0.1)
        await dispatcher.run_once()
        (recovered,), _ = await pool.list(MessageQuery(page_size=1, recipient="recovers0@example.com"))
        recovered = await pool.get(recovered.id)
        assert recovered is not None
        assert (recovered.status, recovered.send_count) == (MessageStatus.SENT, 2)
        assert [d.status for d in recovered.dispatches or []] == [
            DispatchStatus.SUCCESS,
            DispatchStatus.FAILED,
        ]

        await queue_emails(pool, 1, "nochannel")  # no channel for the message: failed attempts
        await Dispatcher(pool, {}, FAST).run_once()
        (lost,), _ = await pool.list(MessageQuery(page_size=1, recipient="nochannel0@example.com"))
        lost = await pool.get(lost.id)
        assert lost is not None
        assert lost.status is MessageStatus.QUEUED
        assert (lost.dispatches or [])[0].error == {
            "code": 500,
            "status": "Internal Server Error",
            "message": "no courier channels configured for: email",
        }

    with_pool(dsn, work)


def test_an_expired_lease_makes_a_crashed_workers_messages_claimable(dsn: str) -> None:
    async def work(pool: MessageRepository) -> None:
        await queue_emails(pool, 3)
        crashed = await pool.claim("crashed-worker", 10, timedelta(seconds=0.5))
        assert len(crashed) == 3
        assert all(m.status is MessageStatus.PROCESSING for m in crashed)
        assert await pool.claim("other-worker", 10, timedelta(seconds=30)) == []  # the lease holds
        await asyncio.sleep(0.7)
        taken = await pool.claim("other-worker", 10, timedelta(seconds=30))
        assert sorted(m.id for m in taken) == sorted(m.id for m in crashed)
        assert [m.send_count for m in taken] == [2, 2, 2]  # the crashed attempt counts
        channel = RecordingChannel()
        late = Dispatcher(pool, {"email": channel}, FAST, owner="crashed-worker")
        await late.dispatch(crashed)  # the old owner wakes up: it sends but may not finalise
        assert await statuses(pool) == {"processing": 3}
        await Dispatcher(pool, {"email": channel}, FAST, owner="other-worker").dispatch(taken)
        assert await statuses(pool) == {"sent": 3}
        for message in taken:
            stored = await pool.get(message.id)
            assert stored is not None
            assert len(stored.dispatches or []) == 1

    with_pool(dsn, work)


def test_stopping_mid_batch_releases_the_unsent_messages(dsn: str) -> None:
    async def work(pool: MessageRepository) -> None:
        await queue_emails(pool, 6)
        channel = RecordingChannel(delay=0.3)
        dispatcher = Dispatcher(
            pool, {"email": channel}, DispatcherSettings(pull_count=6, pull_wait=0.01, concurrency=2)
        )
        running = asyncio.create_task(dispatcher.run())
        await asyncio.sleep(0.15)  # the first two are being sent
        dispatcher.stop()
        await asyncio.wait_for(running, 5)
        assert len(channel.delivered) == 2
        assert await statuses(pool) == {"sent": 2, "queued": 4}
        queued, _ = await pool.list(MessageQuery(page_size=10, status=MessageStatus.QUEUED))
        assert {m.send_count for m in queued} == {0}  # never attempted: the count is given back
        rest = RecordingChannel()
        assert await Dispatcher(pool, {"email": rest}, FAST).run_once() == 4
        assert await statuses(pool) == {"sent": 6}

    with_pool(dsn, work)


def _dispatchers(dsn: str, out: Path, count: int, *extra: str) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, str(HELPER), dsn, str(out), *extra]) for _ in range(count)]


def test_four_dispatcher_processes_send_each_message_exactly_once(dsn: str, tmp_path: Path) -> None:
    async def fill(pool: MessageRepository) -> list[str]:
        courier = Courier(pool, TEMPLATES)
        return [
            str((await courier.queue_email("recovery_code_valid", f"u{i}@example.com", {"code": i})).id)
            for i in range(500)
        ]

    ids = with_pool(dsn, fill)
    out = tmp_path / "delivered.txt"
    workers = _dispatchers(dsn, out, 4, "--until-empty", "--pull-count", "10", "--delay", "0.002")
    for worker in workers:
        assert worker.wait(timeout=240) == 0
    lines = [line.split() for line in out.read_text().splitlines()]
    delivered = collections.Counter(message_id for message_id, _ in lines)
    assert sorted(delivered) == sorted(ids)
    assert set(delivered.values()) == {1}
    assert len({pid for _, pid in lines}) >= 2  # they did share the queue
    assert with_pool(dsn, statuses) == {"sent": 500}


def test_a_worker_killed_mid_batch_loses_nothing(dsn: str, tmp_path: Path) -> None:
    ids = with_pool(dsn, lambda pool: queue_emails(pool, 60))
    out = tmp_path / "delivered.txt"
    victim_args = ("--pull-count", "20", "--concurrency", "2", "--delay", "0.1", "--lease", "2")
    (victim,) = _dispatchers(dsn, out, 1, *victim_args)
    deadline = time.monotonic() + 60
    while (not out.exists() or len(out.read_text().splitlines()) < 5) and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    before = collections.Counter(line.split()[0] for line in out.read_text().splitlines())
    assert 5 <= sum(before.values()) < 20  # killed inside its first batch, nothing finalised

    async def recover(pool: MessageRepository) -> None:
        assert (await statuses(pool))["processing"] == 20
        channel = RecordingChannel()
        dispatcher = Dispatcher(pool, {"email": channel}, FAST)
        async with asyncio.timeout(90):
            while (await statuses(pool)).get("sent", 0) < 60:
                await dispatcher.run_once()
                await asyncio.sleep(0.1)
        after = collections.Counter(str(m.id) for m in channel.delivered)
        assert set(after) | set(before) == {
            str(m.id) for m in (await pool.list(MessageQuery(page_size=100)))[0]
        }
        # At least once: only what the victim sent before it could record it goes out twice.
        assert set(before) & set(after) <= set(before)
        assert all(count == 1 for count in after.values())

    assert len(ids) == 60
    with_pool(dsn, recover)


def test_one_worker_sends_a_batch_side_by_side_and_each_message_once(dsn: str) -> None:
    """Sends overlap up to ``concurrency`` (throughput itself: benchmarks/courier)."""

    async def work(pool: MessageRepository) -> None:
        recipients = await queue_emails(pool, 300)
        channel = RecordingChannel(delay=0.005)  # a local SMTP server's answer time
        settings = DispatcherSettings(pull_count=100, pull_wait=0.01, concurrency=8)
        dispatcher = Dispatcher(pool, {"email": channel}, settings)
        while await dispatcher.run_once():
            pass
        assert sorted(m.recipient for m in channel.delivered) == sorted(recipients)
        assert channel.most_in_flight == 8
        assert await statuses(pool) == {"sent": 300}

    with_pool(dsn, work)
