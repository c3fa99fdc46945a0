"""The mail server is down for a minute, then back: every message the flows queued arrives exactly once."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from kratos_process import FLOW_OVERRIDES, UI, KratosProcess, kratos_command, merged
from netutil import free_port
from server_fixtures import running_kratos
from smtp_sink import SmtpSink

OUTAGE = 60.0
MESSAGES = 20


@pytest.fixture(scope="module")
def smtp_port() -> int:
    return free_port()


@pytest.fixture(scope="module", params=["postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, smtp_port: int
) -> Iterator[KratosProcess]:
    """A courier that retries seven times, waiting pull_wait doubled after each failure (1, 2, 4 ... 64 s)."""
    config = merged(
        FLOW_OVERRIDES,
        {
            "selfservice": {
                "methods": {"code": {"enabled": True}},
                "flows": {
                    "verification": {
                        "enabled": True,
                        "ui_url": f"{UI}/verification",
                        "notify_unknown_recipients": True,
                    }
                },
            },
            "courier": {
                "smtp": {"connection_uri": f"smtp://127.0.0.1:{smtp_port}/?disable_starttls=true"},
                "message_retries": 7,
                "worker": {"pull_wait": "1s"},
            },
        },
    )
    yield from running_kratos(request, tmp_path_factory, config)


def test_messages_survive_a_mail_server_outage(server: KratosProcess, smtp_port: int) -> None:
    recipients = [f"outage-{uuid.uuid4().hex[:8]}@example.com" for _ in range(MESSAGES)]
    for address in recipients:  # unknown addresses: each gets the "verification_code_invalid" email
        flow = httpx.get(f"{server.public_url}/self-service/verification/api").json()
        sent = httpx.post(
            f"{server.public_url}/self-service/verification",
            params={"flow": flow["id"]},
            json={"method": "code", "email": address},
        )
        assert sent.status_code == 200, sent.text
    log = (server.workdir / "courier.log").open("wb")
    worker = subprocess.Popen(  # our own command
        kratos_command("courier", "watch", "-c", str(server.config_path)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    sink = SmtpSink(port=smtp_port)
    try:
        time.sleep(OUTAGE)
        failed = httpx.get(f"{server.admin_url}/admin/courier/messages", params={"status": "queued"}).json()
        assert len(failed) >= 1  # still waiting, not abandoned
        sink.start()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(sink.received) < MESSAGES:
            time.sleep(0.2)
        time.sleep(2)  # anything sent twice would arrive by now
        counts = Counter(rcpt for received in sink.received for rcpt in received.rcpt_tos)
        assert counts == Counter(recipients)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        sink.stop()
    messages = httpx.get(f"{server.admin_url}/admin/courier/messages", params={"page_size": 100}).json()
    ours = [m for m in messages if m["recipient"] in recipients]
    assert {m["status"] for m in ours} == {"sent"}
    one = httpx.get(f"{server.admin_url}/admin/courier/messages/{ours[0]['id']}").json()
    statuses = [dispatch["status"] for dispatch in one["dispatches"]]
    assert statuses[0] == "success"
    assert statuses.count("failed") >= 3  # each try during the outage is on record
