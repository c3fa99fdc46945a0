"""Config keys of flows and sessions: lifespans, privileged sessions, hooks, cookies, breached passwords."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kratos_process import FLOW_OVERRIDES, UI, KratosProcess, merged
from netutil import app_client

HTTP = app_client()

PASSWORD = "a-Long-passphrase-42"


def start(tmp_path: Path, overrides: dict[str, Any]) -> KratosProcess:
    dsn = f"sqlite://{tmp_path}/kratos.sqlite?_fk=true"
    process = KratosProcess(tmp_path, dsn, overrides=merged(FLOW_OVERRIDES, overrides))
    process.migrate()
    return process.start()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[KratosProcess] = []

    def make(overrides: dict[str, Any]) -> KratosProcess:
        process = start(tmp_path / str(len(started)), overrides)
        started.append(process)
        return process

    (tmp_path / "0").mkdir()
    (tmp_path / "1").mkdir()
    yield make
    for process in started:
        process.stop()


def register(server: KratosProcess, email: str, password: str = PASSWORD) -> httpx.Response:
    flow = HTTP.get(f"{server.public_url}/self-service/registration/api").json()
    return HTTP.post(
        f"{server.public_url}/self-service/registration",
        params={"flow": flow["id"]},
        json={"method": "password", "password": password, "traits": {"email": email}},
        timeout=30,
    )


def login(server: KratosProcess, email: str) -> httpx.Response:
    flow = HTTP.get(f"{server.public_url}/self-service/login/api").json()
    return HTTP.post(
        f"{server.public_url}/self-service/login",
        params={"flow": flow["id"]},
        json={"method": "password", "identifier": email, "password": PASSWORD},
    )


def email() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.com"


def test_expired_flows_answer_410_with_a_new_flow(server_factory: Any) -> None:
    server = server_factory({"selfservice": {"flows": {"login": {"lifespan": "1s"}}}})
    flow = HTTP.get(f"{server.public_url}/self-service/login/api").json()
    time.sleep(1.2)
    expired = HTTP.post(
        f"{server.public_url}/self-service/login",
        params={"flow": flow["id"]},
        json={"method": "password", "identifier": "a@b.co", "password": "x"},
    )
    assert expired.status_code == 410
    body = expired.json()
    assert body["error"]["id"] == "self_service_flow_expired"
    replacement = HTTP.get(
        f"{server.public_url}/self-service/login/flows", params={"id": body["use_flow_id"]}
    )
    assert replacement.status_code == 200
    assert replacement.json()["id"] != flow["id"]


def test_settings_need_a_recent_login_for_credentials_and_login_can_revoke_other_sessions(
    server_factory: Any,
) -> None:
    server = server_factory(
        {
            "selfservice": {
                "flows": {
                    "settings": {"privileged_session_max_age": "1s"},
                    "login": {"after": {"password": {"hooks": [{"hook": "revoke_active_sessions"}]}}},
                }
            }
        }
    )
    address = email()
    first = register(server, address).json()["session_token"]
    time.sleep(1.2)
    headers = {"X-Session-Token": first}
    flow = HTTP.get(f"{server.public_url}/self-service/settings/api", headers=headers).json()
    refused = HTTP.post(
        f"{server.public_url}/self-service/settings",
        params={"flow": flow["id"]},
        headers=headers,
        json={"method": "password", "password": "another-Long-pass-99"},
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["id"] == "session_refresh_required"
    assert "refresh=true" in refused.json()["redirect_browser_to"]
    second = login(server, address)
    assert second.status_code == 200
    assert HTTP.get(f"{server.public_url}/sessions/whoami", headers=headers).status_code == 401


def test_session_cookie_settings_and_return_to(server_factory: Any) -> None:
    server = server_factory(
        {"session": {"cookie": {"name": "my_session", "persistent": False, "same_site": "Strict"}}}
    )
    with httpx.Client(base_url=server.public_url, timeout=30) as browser:
        start_url = f"/self-service/registration/browser?return_to={UI}/welcome"
        flow_id = browser.get(start_url).headers["location"].split("flow=")[1]
        flow = browser.get("/self-service/registration/flows", params={"id": flow_id}).json()
        assert flow["return_to"] == f"{UI}/welcome"
        csrf = next(n for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token")["attributes"][
            "value"
        ]
        done = browser.post(
            "/self-service/registration",
            params={"flow": flow_id},
            data={"method": "password", "password": PASSWORD, "traits.email": email()},
            headers={"X-CSRF-Token": csrf},
        )
        assert done.status_code == 303
        assert done.headers["location"] == f"{UI}/welcome"
        cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith("my_session="))
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert "Max-Age" not in cookie  # not persistent: a browser-session cookie
        assert "Secure" not in cookie  # --dev
        assert browser.get("/sessions/whoami").status_code == 200


def test_breach_checks_never_hang_and_fail_only_when_asked(server_factory: Any) -> None:
    unreachable = {"haveibeenpwned_enabled": True, "haveibeenpwned_host": "127.0.0.1:9"}
    lenient = server_factory({"selfservice": {"methods": {"password": {"config": unreachable}}}})
    started = time.monotonic()
    assert register(lenient, email()).status_code == 200
    assert time.monotonic() - started < 5
    strict = server_factory(
        {
            "selfservice": {
                "methods": {"password": {"config": {**unreachable, "ignore_network_errors": False}}}
            }
        }
    )
    refused = register(strict, email())
    assert refused.status_code == 400
    node = next(n for n in refused.json()["ui"]["nodes"] if n["attributes"]["name"] == "password")
    assert [m["id"] for m in node["messages"]] == [4000005]


def test_passwords_too_similar_to_the_identifier_are_refused(server_factory: Any) -> None:
    server = server_factory({})
    refused = register(server, "verylongname@example.com", "verylongname123")
    assert refused.status_code == 400
    node = next(n for n in refused.json()["ui"]["nodes"] if n["attributes"]["name"] == "password")
    assert [m["id"] for m in node["messages"]] == [4000031]


def test_sessions_extend_only_within_earliest_possible_extend(server_factory: Any) -> None:
    server = server_factory({"session": {"lifespan": "1h", "earliest_possible_extend": "10m"}})
    session = register(server, email()).json()["session"]
    unchanged = HTTP.patch(f"{server.admin_url}/admin/sessions/{session['id']}/extend")
    assert unchanged.status_code == 200
    assert unchanged.json()["expires_at"] == session["expires_at"]
    missing = HTTP.patch(f"{server.admin_url}/admin/sessions/{uuid.uuid4()}/extend")
    assert missing.status_code == 404
