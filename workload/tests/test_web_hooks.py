"""Web hooks before and after flows, against a real HTTP target on loopback."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from hook_target import Answer, HookTarget
from kratos_process import KratosProcess
from netutil import app_client
from server_fixtures import running_kratos

HTTP = app_client()

PASSWORD = "a-Long-passphrase-42"
BODY = base64.b64encode(
    b"function(ctx) { email: ctx.identity.traits.email, flow: ctx.flow.id, "
    b'ua: ctx.request_headers["User-Agent"] }'
).decode()
CANCEL = base64.b64encode(b'function(ctx) error "cancel"').decode()


@pytest.fixture(scope="module")
def target() -> Iterator[HookTarget]:
    """The hook target."""
    running = HookTarget().start()
    yield running
    running.stop()


def hook(target: HookTarget, path: str, **config: object) -> dict[str, object]:
    return {"hook": "web_hook", "config": {"url": f"{target.url}{path}", "method": "POST", **config}}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, target: HookTarget
) -> Iterator[KratosProcess]:
    """A server whose registration, login and settings call the target."""
    auth = {"type": "api_key", "config": {"name": "X-Hook-Key", "value": "s3cret", "in": "header"}}
    overrides = {
        "selfservice": {
            "methods": {"password": {"config": {"haveibeenpwned_enabled": False}}},
            "flows": {
                "registration": {
                    "after": {
                        "password": {
                            "hooks": [
                                hook(target, "/parse", response={"parse": True}),
                                {"hook": "session"},
                                hook(target, "/after", body=f"base64://{BODY}", auth=auth),
                                hook(target, "/slow", response={"ignore": True}),
                            ]
                        }
                    }
                },
                "login": {
                    "before": {"hooks": [hook(target, "/cancelled", body=f"base64://{CANCEL}")]},
                    "after": {"hooks": [hook(target, "/login")]},
                },
                "settings": {"after": {"profile": {"hooks": [hook(target, "/down-target")]}}},
            },
        }
    }
    yield from running_kratos(request, tmp_path_factory, overrides)


def register(server: KratosProcess, email: str) -> httpx.Response:
    flow = HTTP.get(f"{server.public_url}/self-service/registration/api").json()
    return HTTP.post(
        f"{server.public_url}/self-service/registration",
        params={"flow": flow["id"]},
        json={"method": "password", "password": PASSWORD, "traits": {"email": email}},
        headers={"User-Agent": "hook-test"},
        timeout=30,
    )


def test_after_registration_hooks_see_the_identity_and_may_change_it(
    server: KratosProcess, target: HookTarget
) -> None:
    target.answers["/parse"] = Answer(200, {"identity": {"metadata_public": {"plan": "gold"}}})
    target.answers["/slow"] = Answer(204, delay=10)
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    started = time.monotonic()
    answer = register(server, email)
    assert answer.status_code == 200, answer.text
    assert time.monotonic() - started < 8, "a hook whose response is ignored must not hold up the flow"
    identity = answer.json()["identity"]
    assert identity["metadata_public"] == {"plan": "gold"}
    stored = HTTP.get(f"{server.admin_url}/admin/identities/{identity['id']}").json()
    assert stored["metadata_public"] == {"plan": "gold"}
    after = target.requests("/after")[-1]
    assert after.headers["X-Hook-Key"] == "s3cret"
    assert after.body["email"] == email
    assert after.body["ua"] == ["hook-test"]
    assert uuid.UUID(after.body["flow"])
    parse = target.requests("/parse")[-1]
    assert parse.body["identity"]["traits"]["email"] == email
    assert "Cookie" not in parse.body["request_headers"]


def test_a_parsing_hook_can_refuse_with_field_messages(server: KratosProcess, target: HookTarget) -> None:
    refusal = {
        "messages": [
            {
                "instance_ptr": "#/traits/email",
                "messages": [{"id": 1234, "text": "not on the list", "type": "error"}],
            }
        ]
    }
    target.answers["/parse"] = Answer(400, refusal)
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    answer = register(server, email)
    assert answer.status_code == 400
    node = next(n for n in answer.json()["ui"]["nodes"] if n["attributes"]["name"] == "traits.email")
    assert node["messages"] == [{"id": 1234, "text": "not on the list", "type": "error"}]
    found = HTTP.get(f"{server.admin_url}/admin/identities", params={"credentials_identifier": email}).json()
    assert found == []
    target.answers["/parse"] = Answer(500, {"oops": True})
    failed = register(server, email)
    assert failed.status_code == 502
    assert failed.json()["error"]["reason"].startswith("A third-party upstream service responded improperly")
    target.answers["/parse"] = Answer(204)


def test_login_runs_before_and_after_hooks(server: KratosProcess, target: HookTarget) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    assert register(server, email).status_code == 200
    flow = HTTP.get(f"{server.public_url}/self-service/login/api").json()
    assert target.requests("/cancelled") == []  # the template cancelled the call
    target.answers["/login"] = Answer(204)
    done = HTTP.post(
        f"{server.public_url}/self-service/login",
        params={"flow": flow["id"]},
        json={"method": "password", "identifier": email, "password": PASSWORD},
    )
    assert done.status_code == 200
    sent = target.requests("/login")[-1].body
    assert sent["identity"]["traits"]["email"] == email
    assert sent["session"]["id"] == done.json()["session"]["id"]
    target.answers["/login"] = Answer(503)
    flow = HTTP.get(f"{server.public_url}/self-service/login/api").json()
    refused = HTTP.post(
        f"{server.public_url}/self-service/login",
        params={"flow": flow["id"]},
        json={"method": "password", "identifier": email, "password": PASSWORD},
    )
    assert refused.status_code == 502
    target.answers["/login"] = Answer(204)


def test_an_unreachable_target_is_a_502_not_a_hang(server: KratosProcess, target: HookTarget) -> None:
    token = register(server, f"{uuid.uuid4().hex[:8]}@example.com").json()["session_token"]
    target.answers["/down-target"] = Answer(502)
    flow = HTTP.get(
        f"{server.public_url}/self-service/settings/api", headers={"X-Session-Token": token}
    ).json()
    answer = HTTP.post(
        f"{server.public_url}/self-service/settings",
        params={"flow": flow["id"]},
        headers={"X-Session-Token": token},
        json={"method": "profile", "traits": {"email": f"{uuid.uuid4().hex[:8]}@example.com"}},
        timeout=30,
    )
    assert answer.status_code == 502
