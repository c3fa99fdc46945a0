"""A PostgreSQL restart under load: every request gets an answer (2xx or 503 error JSON); serving resumes."""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from kratos_process import KratosProcess
from postgres import find_bindir, start_postgres

WORKERS = 4
DOWN_FOR = 1.5  # seconds the database stays away


@dataclass(frozen=True)
class Answer:
    """What one request got: a status and its JSON body, or the transport error that replaced them."""

    sent: float
    status: int | None
    body: Any = None
    problem: str = ""


def _ask(client: httpx.Client, identity_id: str, n: int) -> Answer:
    sent = time.monotonic()
    try:
        if n % 3 == 0:
            response = client.post(
                "/admin/identities",
                json={"schema_id": "default", "traits": {"email": f"load-{uuid.uuid4().hex}@example.com"}},
            )
        else:
            response = client.get(f"/admin/identities/{identity_id}")
    except httpx.HTTPError as exc:
        return Answer(sent, None, problem=f"{type(exc).__name__}: {exc}")
    try:
        return Answer(sent, response.status_code, response.json())
    except ValueError:
        return Answer(sent, response.status_code, problem=f"not JSON: {response.text[:200]!r}")


def _load(url: str, identity_id: str, stop: threading.Event, answers: list[Answer]) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        n = 0
        while not stop.is_set():
            answers.append(_ask(client, identity_id, n))
            n += 1


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_every_request_is_answered_while_postgresql_restarts(tmp_path: Path, mode: str) -> None:
    if find_bindir() is None and not os.environ.get("CI"):
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    with start_postgres() as cluster:
        server = KratosProcess(tmp_path, cluster.create_database("restart"))
        server.migrate()
        server.start()
        try:
            created = httpx.post(
                f"{server.admin_url}/admin/identities",
                json={"schema_id": "default", "traits": {"email": "steady@example.com"}},
            )
            assert created.status_code == 201, created.text
            answers: list[Answer] = []
            stop = threading.Event()
            workers = [
                threading.Thread(target=_load, args=(server.admin_url, created.json()["id"], stop, answers))
                for _ in range(WORKERS)
            ]
            for worker in workers:
                worker.start()
            time.sleep(0.5)
            cluster.restart(mode, down_for=DOWN_FOR)
            back = time.monotonic()
            deadline = back + 20
            while time.monotonic() < deadline and not _resumed(answers, back):
                time.sleep(0.1)
            time.sleep(0.5)
            stop.set()
            for worker in workers:
                worker.join(timeout=60)
        finally:
            server.stop()
    unanswered = [a.problem for a in answers if a.problem]
    assert not unanswered, f"{len(unanswered)}/{len(answers)} requests got no JSON answer: {unanswered[:5]}"
    statuses = {a.status for a in answers}
    assert statuses <= {200, 201, 503}, _sample(answers, {200, 201, 503})
    outage = [a for a in answers if a.status == 503]
    assert outage, "no request saw the database away"
    assert all(a.body["error"]["code"] == 503 and a.body["error"]["message"] for a in outage)
    assert _resumed(answers, back), "serving did not resume after the restart"


def _resumed(answers: list[Answer], since: float) -> bool:
    """Every worker's last few requests sent after ``since`` succeeded."""
    recent = [a for a in list(answers) if a.sent > since]
    return len(recent) >= 3 * WORKERS and all(a.status in (200, 201) for a in recent[-2 * WORKERS :])


def _sample(answers: list[Answer], expected: set[int]) -> list[tuple[int | None, Any]]:
    return [(a.status, a.body) for a in answers if a.status not in expected][:5]
