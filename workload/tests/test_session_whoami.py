"""``/sessions/whoami`` on the real server: credentials, errors, methods, headers and ``required_aal``."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import ory_kratos_client
import pytest
import sqlalchemy as sa
from kratos_process import KratosProcess
from postgres import find_bindir, start_postgres
from server_fixtures import running_kratos

from kratos.persistence.database import Database
from kratos.persistence.tables import identities
from kratos.session.cookie import CookieCodec

PASSWORD = "a-Long-passphrase-42"
COOKIE_SECRET = "a-cookie-secret-of-32-characters"  # kratos_process.base_config's
OVERRIDES = {
    "selfservice": {
        "methods": {"password": {"config": {"haveibeenpwned_enabled": False}}},
        "flows": {"registration": {"after": {"password": {"hooks": [{"hook": "session"}]}}}},
    }
}
UNAUTHORIZED = {
    "error": {
        "code": 401,
        "status": "Unauthorized",
        "message": "The request could not be authorized",
        "reason": "No valid session credentials found in the request.",
    }
}


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mysql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KratosProcess]:
    """A running server whose API registrations issue sessions, on each database."""
    yield from running_kratos(request, tmp_path_factory, OVERRIDES)


def register(server: KratosProcess) -> tuple[str, str]:
    """A new identity with a session: (session token, identity id)."""
    flow = httpx.get(f"{server.public_url}/self-service/registration/api").json()
    answer = httpx.post(
        f"{server.public_url}/self-service/registration",
        params={"flow": flow["id"]},
        json={
            "method": "password",
            "password": PASSWORD,
            "traits": {"email": f"user-{uuid.uuid4().hex[:10]}@example.com"},
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["session_token"], body["identity"]["id"]


def whoami(server: KratosProcess, method: str = "GET", **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{server.public_url}/sessions/whoami", **kwargs)


def set_available_aal(server: KratosProcess, identity_id: str, aal: str | None) -> None:
    """Write an identity's ``available_aal`` as MFA enrolment would (no MFA method exists yet)."""

    async def write() -> None:
        async with await Database.open(server.dsn) as db, db.transaction() as conn:
            await conn.execute(
                sa.update(identities)
                .where(identities.c.id == uuid.UUID(identity_id))
                .values(available_aal=aal)
            )

    asyncio.run(write())


def test_whoami_by_token_header_cookie_and_bearer(server: KratosProcess) -> None:
    token, identity_id = register(server)
    cookie = CookieCodec([COOKIE_SECRET]).seal(token)
    for credentials in (
        {"headers": {"X-Session-Token": token}},
        {"headers": {"Authorization": f"Bearer {token}"}},
        {"headers": {"Authorization": f"bearer  {token}"}},
        {"cookies": {"ory_kratos_session": cookie}},
        {"headers": {"Cookie": f"csrf_token_x=abc; ory_kratos_session={cookie}; other=1"}},
    ):
        answer = whoami(server, **credentials)
        assert answer.status_code == 200, (credentials, answer.text)
        assert answer.headers["x-kratos-authenticated-identity-id"] == identity_id
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        body = answer.json()
        assert body["identity"]["id"] == identity_id
        assert body["active"] is True
        assert body["authenticator_assurance_level"] == "aal1"
        assert body["identity"]["schema_url"] == f"{server.public_url}/schemas/ZGVmYXVsdA"
        assert "credentials" not in body["identity"]
        assert "metadata_admin" not in body["identity"]
        assert [device["user_agent"] for device in body["devices"]] == [f"python-httpx/{httpx.__version__}"]


def test_the_sdk_reads_the_session(server: KratosProcess) -> None:
    token, identity_id = register(server)
    with ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=server.public_url)) as client:
        session = ory_kratos_client.FrontendApi(client).to_session(x_session_token=token)
    assert session.identity is not None
    assert session.identity.id == identity_id
    assert [method.method for method in session.authentication_methods or []] == ["password"]


def test_every_method_answers_and_others_are_not_allowed(server: KratosProcess) -> None:
    token, _ = register(server)
    for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
        answer = whoami(server, method, headers={"X-Session-Token": token}, content=b'{"ignored": true}')
        assert answer.status_code == 200, method
    head = whoami(server, "HEAD", headers={"X-Session-Token": token})
    assert (head.status_code, head.content) == (200, b"")
    options = whoami(server, "OPTIONS", headers={"X-Session-Token": token})
    assert options.status_code == 405
    assert options.json()["error"]["code"] == 405


def test_no_credentials_or_unknown_ones_are_401(server: KratosProcess) -> None:
    token, _ = register(server)
    for credentials in (
        {},
        {"headers": {"X-Session-Token": ""}},
        {"headers": {"X-Session-Token": "ory_st_forged"}},
        {"headers": {"Authorization": "Basic dXNlcjpwYXNz"}},
        {"headers": {"Authorization": "Bearer"}},
        {"cookies": {"ory_kratos_session": "not-sealed-by-us"}},
        {"cookies": {"ory_kratos_session": CookieCodec(["another-secret-of-32-characters!"]).seal(token)}},
        # X-Session-Token comes first: a valid cookie does not rescue a forged header.
        {
            "headers": {"X-Session-Token": "ory_st_forged"},
            "cookies": {"ory_kratos_session": CookieCodec([COOKIE_SECRET]).seal(token)},
        },
    ):
        answer = whoami(server, **credentials)
        assert answer.status_code == 401, credentials
        assert answer.json() == UNAUTHORIZED
        assert "x-kratos-authenticated-identity-id" not in answer.headers


def test_a_revoked_session_is_401(server: KratosProcess) -> None:
    token, _ = register(server)
    session_id = whoami(server, headers={"X-Session-Token": token}).json()["id"]
    assert httpx.delete(f"{server.admin_url}/admin/sessions/{session_id}").status_code == 204
    assert whoami(server, headers={"X-Session-Token": token}).status_code == 401


def test_a_nul_in_the_url_is_still_refused(server: KratosProcess) -> None:
    token, _ = register(server)
    answer = httpx.get(f"{server.public_url}/sessions/whoami?x=%00", headers={"X-Session-Token": token})
    assert answer.status_code == 400


def test_whoami_is_counted_in_the_metrics(server: KratosProcess) -> None:
    token, _ = register(server)
    whoami(server, headers={"X-Session-Token": token})
    whoami(server)
    metrics = httpx.get(f"{server.admin_url}/metrics/prometheus").text
    counted = [line for line in metrics.splitlines() if 'path="/sessions/whoami"' in line]
    assert any('status="200"' in line for line in counted), counted
    assert any('status="401"' in line for line in counted), counted


def aal2_required(public_url: str) -> dict[str, Any]:
    """Upstream's answer (v26.2.0, asked with kratos-diff): no ``return_to``, even when one is given."""
    redirect = f"{public_url}/self-service/login/browser?aal=aal2"
    return {
        "error": {
            "id": "session_aal2_required",
            "code": 403,
            "status": "Forbidden",
            "message": "Session does not fulfill the requested Authenticator Assurance Level",
            "reason": "An active session was found but it does not fulfill the requested Authenticator "
            "Assurance Level. Please verify yourself with a second factor to resolve this issue.",
            "details": {"redirect_browser_to": redirect},
        },
        "redirect_browser_to": redirect,
    }


def test_highest_available_asks_an_aal1_session_of_an_aal2_identity_to_step_up(server: KratosProcess) -> None:
    token, identity_id = register(server)
    set_available_aal(server, identity_id, "aal2")
    for method in ("GET", "POST"):
        answer = whoami(
            server,
            method,
            params={"return_to": "http://127.0.0.1:4455/x"},
            headers={"X-Session-Token": token},
        )
        assert answer.status_code == 403
        assert answer.json() == aal2_required(server.public_url)
        assert "x-kratos-authenticated-identity-id" not in answer.headers
    set_available_aal(server, identity_id, "aal1")
    assert whoami(server, headers={"X-Session-Token": token}).status_code == 200


def test_required_aal1_lets_the_aal1_session_through(tmp_path: Path) -> None:
    config = {**OVERRIDES, "session": {"whoami": {"required_aal": "aal1"}}}
    server = KratosProcess(tmp_path, f"sqlite://{tmp_path}/kratos.sqlite?_fk=true", overrides=config)
    server.migrate()
    server.start()
    try:
        token, identity_id = register(server)
        set_available_aal(server, identity_id, "aal2")
        answer = whoami(server, headers={"X-Session-Token": token})
        assert answer.status_code == 200
        assert answer.json()["authenticator_assurance_level"] == "aal1"
    finally:
        server.stop()


def test_whoami_answers_503_while_postgresql_restarts(tmp_path: Path) -> None:
    if find_bindir() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    with start_postgres() as cluster:
        server = KratosProcess(tmp_path, cluster.create_database("restart"), overrides=OVERRIDES)
        server.migrate()
        server.start()
        try:
            token, _ = register(server)
            statuses: list[int | str] = []
            stop = threading.Event()

            def load() -> None:
                with httpx.Client(base_url=server.public_url, timeout=30) as client:
                    while not stop.is_set():
                        try:
                            answer = client.get("/sessions/whoami", headers={"X-Session-Token": token})
                            statuses.append(answer.status_code if answer.json() else "empty")
                        except (httpx.HTTPError, ValueError) as exc:
                            statuses.append(f"{type(exc).__name__}: {exc}")

            workers = [threading.Thread(target=load) for _ in range(3)]
            for worker in workers:
                worker.start()
            time.sleep(0.3)
            cluster.restart("immediate", down_for=1.0)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and statuses[-6:] != [200] * 6:
                time.sleep(0.1)
            stop.set()
            for worker in workers:
                worker.join(timeout=60)
        finally:
            server.stop()
    assert set(statuses) <= {200, 503}, [s for s in statuses if s not in (200, 503)][:5]
    assert 503 in statuses, "no request saw the database away"
    assert statuses[-6:] == [200] * 6, "serving resumed"
