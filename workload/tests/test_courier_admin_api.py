"""The courier admin API through the official SDK against a real ``kratos serve``, and the courier workers
``serve --watch-courier`` and ``kratos courier watch`` run."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import ory_kratos_client
import pytest
from courier_helpers import TEMPLATES, RecordingChannel
from kratos_process import KratosProcess, kratos_command
from ory_kratos_client.exceptions import ApiException
from ory_kratos_client.models.courier_message_status import CourierMessageStatus
from smtp_sink import SmtpSink
from starlette.applications import Starlette

from kratos.courier.courier import Courier
from kratos.courier.dispatcher import Dispatcher, DispatcherSettings
from kratos.courier.handlers import CourierAdminAPI
from kratos.courier.model import Message, MessageStatus
from kratos.http.keyset import PageTokens
from kratos.persistence.courier import MessageRepository
from kratos.persistence.database import Database

T = TypeVar("T")
LINK = re.compile(r'<(/admin/courier/messages\?[^>]*)>; rel="(first|next)"')


def with_pool(dsn: str, work: Callable[[MessageRepository], Awaitable[T]]) -> T:
    async def main() -> T:
        async with await Database.open(dsn) as db:
            return await work(MessageRepository(db))

    return asyncio.run(main())


@pytest.fixture(scope="module")
def queued(kratos: KratosProcess) -> dict[str, list[Message]]:
    """12 messages to ann (the first 4 sent), 3 to bob, all queued before any test reads them."""

    async def fill(pool: MessageRepository) -> dict[str, list[Message]]:
        courier = Courier(pool, TEMPLATES)
        ann = [
            await courier.queue_email("recovery_code_valid", "ann@example.com", {"code": i})
            for i in range(12)
        ]
        bob = [await courier.queue_sms("verification_code_valid", "+15550100", {"code": i}) for i in range(3)]
        channel = RecordingChannel()
        await Dispatcher(pool, {"email": channel}, DispatcherSettings(pull_count=4)).run_once()
        return {"ann": ann, "bob": bob, "sent": channel.delivered}

    return with_pool(kratos.dsn, fill)


@pytest.fixture(scope="module")
def courier_api(admin_client: ory_kratos_client.ApiClient) -> ory_kratos_client.CourierApi:
    return ory_kratos_client.CourierApi(admin_client)


def links(header: str) -> dict[str, str]:
    found = {rel: url for url, rel in LINK.findall(header)}
    assert ",".join(f'<{found[rel]}>; rel="{rel}"' for rel in found) == header
    return found


def link_of(response: Any) -> str:
    return {key.lower(): value for key, value in response.headers.items()}["link"]


def token_of(url: str) -> str:
    (token,) = re.findall(r"page_token=([^&]+)", url)
    return httpx.QueryParams(f"page_token={token}")["page_token"]


def test_list_is_newest_first_and_filters_by_status_and_recipient(
    courier_api: ory_kratos_client.CourierApi, queued: dict[str, list[Message]], kratos: KratosProcess
) -> None:
    # Read without the SDK: it knows the types "email" and "phone", but upstream calls text messages "sms".
    everything = httpx.get(f"{kratos.admin_url}/admin/courier/messages", params={"page_size": 100}).json()
    created = [*queued["ann"], *queued["bob"]]
    newest_first = sorted(created, key=lambda m: m.created_at, reverse=True)
    assert [m["id"] for m in everything] == [str(m.id) for m in newest_first]
    assert [(m["type"], m["channel"], m["body"]) for m in everything[:3]] == [
        ("sms", "sms", f"Your code is: {i}") for i in (2, 1, 0)
    ]

    first = courier_api.list_courier_messages(page_size=100, recipient="ann@example.com")[-1]
    assert (first.recipient, first.type, first.channel, first.template_type) == (
        "ann@example.com",
        "email",
        "email",
        "recovery_code_valid",
    )
    assert first.subject == "Recover access to your account"  # serve --dev shows them
    assert first.body == "Your recovery code is: 0"
    assert first.status == "sent"
    assert first.send_count == 1
    assert first.dispatches is None  # only a single message shows its dispatches

    sent = courier_api.list_courier_messages(status=CourierMessageStatus.SENT, page_size=100)
    assert sorted(m.id for m in sent) == sorted(str(m.id) for m in queued["sent"])
    queued_ann = courier_api.list_courier_messages(
        status=CourierMessageStatus.QUEUED, recipient="ann@example.com", page_size=100
    )
    assert len(queued_ann) == 8
    assert {(m.recipient, m.status) for m in queued_ann} == {("ann@example.com", "queued")}
    assert courier_api.list_courier_messages(recipient="nobody@example.com") == []


def test_pages_follow_the_link_header(
    courier_api: ory_kratos_client.CourierApi, queued: dict[str, list[Message]]
) -> None:
    response = courier_api.list_courier_messages_with_http_info(page_size=4, recipient="ann@example.com")
    seen = [m.id for m in response.data]
    found = links(link_of(response))
    assert found["first"].startswith("/admin/courier/messages?page_size=4&page_token=")
    assert "&recipient=ann%40example.com" in found["next"]  # the query is kept, sorted by key
    pages = 1
    while "next" in found:
        response = courier_api.list_courier_messages_with_http_info(
            page_size=4, recipient="ann@example.com", page_token=token_of(found["next"])
        )
        seen += [m.id for m in response.data]
        found = links(link_of(response))
        pages += 1
    assert pages == 3  # 12 messages, 4 a page: the last full page has no next
    assert seen == [str(m.id) for m in sorted(queued["ann"], key=lambda m: m.created_at, reverse=True)]
    first = courier_api.list_courier_messages(
        page_size=4, recipient="ann@example.com", page_token=token_of(found["first"])
    )
    assert [m.id for m in first] == seen[:4]

    default = courier_api.list_courier_messages_with_http_info(recipient="ann@example.com")
    assert len(default.data) == 10  # upstream's default page size for messages
    assert "page_size=10&" in link_of(default)


def test_bad_parameters_are_refused_as_upstream_does(kratos: KratosProcess, queued: Any) -> None:
    url = f"{kratos.admin_url}/admin/courier/messages"
    status = httpx.get(url, params={"status": "invalid_status"})
    assert status.status_code == 400
    assert status.json()["error"]["reason"] == "Message status is not valid"
    token = httpx.get(url, params={"page_token": str(uuid.uuid4())})
    assert token.status_code == 400
    assert token.json() == {
        "error": {"code": 400, "status": "Bad Request", "message": "invalid pagination token"}
    }
    size = httpx.get(url, params={"page_size": "ten"})
    assert size.status_code == 400
    assert size.json()["error"]["message"] == 'strconv.Atoi: parsing "ten": invalid syntax'


def test_a_message_shows_its_dispatches(
    courier_api: ory_kratos_client.CourierApi, queued: dict[str, list[Message]], kratos: KratosProcess
) -> None:
    sent = courier_api.get_courier_message(str(queued["sent"][0].id))
    assert sent.status == "sent"
    assert [(d.status, d.message_id, d.error) for d in sent.dispatches or []] == [("success", sent.id, None)]
    pending = courier_api.get_courier_message(str(queued["ann"][-1].id))
    assert pending.status == "queued"
    assert pending.dispatches is None  # none yet: the field is left out

    with pytest.raises(ApiException) as missing:
        courier_api.get_courier_message(str(uuid.uuid4()))
    assert missing.value.status == 404
    malformed = httpx.get(f"{kratos.admin_url}/admin/courier/messages/not-a-uuid")
    assert malformed.status_code == 400
    assert malformed.json()["error"]["message"] == 'uuid: incorrect UUID length 10 in string "not-a-uuid"'
    redirected = httpx.get(f"{kratos.public_url}/admin/courier/messages?status=sent")
    assert redirected.status_code == 307
    assert redirected.headers["location"] == f"{kratos.admin_url}/admin/courier/messages?status=sent"


def test_bodies_and_subjects_are_redacted_outside_dev_mode(tmp_path: Path) -> None:
    async def main() -> None:
        async with await Database.open(f"sqlite://{tmp_path}/k.sqlite?mode=rwc") as db:
            from kratos.persistence import migrate

            await migrate.upgrade(db.engine)
            pool = MessageRepository(db)
            message = await Courier(pool, TEMPLATES).queue_email(
                "recovery_code_valid", "a@b.example", {"code": 1}
            )
            app = Starlette(routes=CourierAdminAPI(pool, PageTokens([]), dev=False).routes())
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
                listed = (await client.get("/courier/messages")).json()
                one = (await client.get(f"/courier/messages/{message.id}")).json()
        for shown in (listed[0], one):
            assert shown["body"] == shown["subject"] == "<redacted-unless-dev-mode>"
            assert shown["recipient"] == "a@b.example"

    asyncio.run(main())


async def queue_one(pool: MessageRepository, recipient: str) -> Message:
    return await Courier(pool, TEMPLATES).queue_email("recovery_code_valid", recipient, {"code": 1})


def _sent(dsn: str, message_id: uuid.UUID, timeout: float = 30.0) -> Message:
    found = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = with_pool(dsn, lambda pool: pool.get(message_id))
        if found is not None and found.status is MessageStatus.SENT:
            return found
        time.sleep(0.2)
    raise AssertionError(f"message {message_id} was not sent: {found}")


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def sqlite_kratos(tmp_path: Path, sink: SmtpSink) -> Iterator[KratosProcess]:
    courier = {
        "worker": {"pull_wait": "100ms"},
        "smtp": {"connection_uri": f"smtp://127.0.0.1:{sink.port}/?disable_starttls=true"},
    }
    server = KratosProcess(
        tmp_path, f"sqlite://{tmp_path}/kratos.sqlite?_fk=true", overrides={"courier": courier}
    )
    server.migrate()
    yield server
    server.stop()


def _delivered(sink: SmtpSink, recipient: str, message: Message) -> None:
    (received,) = [r for r in sink.received if r.rcpt_tos == [recipient]]
    assert received.message["Subject"] == "Recover access to your account"
    assert message.body in received.message.as_string()


def test_serve_watch_courier_sends_queued_messages(sqlite_kratos: KratosProcess, sink: SmtpSink) -> None:
    sqlite_kratos.start("--watch-courier")
    message = with_pool(sqlite_kratos.dsn, lambda pool: queue_one(pool, "c@d.example"))
    sent = _sent(sqlite_kratos.dsn, message.id)
    assert sent.send_count == 1
    assert [d.status for d in sent.dispatches or []] == ["success"]
    _delivered(sink, "c@d.example", message)


def test_courier_watch_runs_a_worker_and_exposes_metrics(
    sqlite_kratos: KratosProcess, sink: SmtpSink
) -> None:
    config = sqlite_kratos.write_config()
    port = sqlite_kratos.public_port  # not serving: free for the metrics
    log = (sqlite_kratos.workdir / "courier.log").open("wb")
    worker = subprocess.Popen(  # our own command
        kratos_command("courier", "watch", "-c", str(config), "--expose-metrics-port", str(port)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        message = with_pool(sqlite_kratos.dsn, lambda pool: queue_one(pool, "e@f.example"))
        assert _sent(sqlite_kratos.dsn, message.id).send_count == 1
        _delivered(sink, "e@f.example", message)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics/prometheus")
        assert metrics.status_code == 200
        assert "process_" in metrics.text or "python_" in metrics.text
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_courier_watch_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    server = KratosProcess(tmp_path, f"sqlite://{tmp_path}/empty.sqlite?_fk=true")
    result = subprocess.run(  # our own command
        kratos_command("courier", "watch", "-c", str(server.write_config())), capture_output=True, timeout=60
    )
    assert result.returncode == 1
    assert b"kratos migrate sql" in result.stderr
