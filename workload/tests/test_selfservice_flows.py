"""Registration, login, settings, whoami and logout, driven as apps (the SDK) and browsers (forms) do."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import ory_kratos_client
import pytest
from kratos_process import FLOW_OVERRIDES, UI, KratosProcess
from netutil import app_client
from ory_kratos_client.exceptions import ApiException
from server_fixtures import running_kratos

HTTP = app_client()

PASSWORD = "a-Long-passphrase-42"


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mysql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KratosProcess]:
    """A running server with flows configured, on each database."""
    yield from running_kratos(request, tmp_path_factory, FLOW_OVERRIDES)


@pytest.fixture(scope="module")
def frontend(server: KratosProcess) -> Iterator[ory_kratos_client.FrontendApi]:
    """The SDK's FrontendApi on the public port."""
    with ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=server.public_url)) as client:
        yield ory_kratos_client.FrontendApi(client)


def email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def register_api(frontend: ory_kratos_client.FrontendApi, address: str) -> Any:
    flow = frontend.create_native_registration_flow()
    body = ory_kratos_client.UpdateRegistrationFlowBody(
        ory_kratos_client.UpdateRegistrationFlowWithPasswordMethod(
            method="password", password=PASSWORD, traits={"email": address}
        )
    )
    return frontend.update_registration_flow(flow.id, body)


def login_api(frontend: ory_kratos_client.FrontendApi, identifier: str, password: str) -> Any:
    flow = frontend.create_native_login_flow()
    body = ory_kratos_client.UpdateLoginFlowBody(
        ory_kratos_client.UpdateLoginFlowWithPasswordMethod(
            method="password", identifier=identifier, password=password
        )
    )
    return frontend.update_login_flow(flow.id, body)


def node_names(flow: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [
        (n["group"], n["attributes"].get("name"), n["attributes"].get("type")) for n in flow["ui"]["nodes"]
    ]


def test_api_registration_gives_a_session_that_whoami_knows(frontend: ory_kratos_client.FrontendApi) -> None:
    address = email()
    registered = register_api(frontend, address)
    assert registered.identity.traits == {"email": address}
    assert registered.session_token.startswith("ory_st_")
    session = frontend.to_session(x_session_token=registered.session_token)
    assert session.identity.id == registered.identity.id
    assert session.authenticator_assurance_level == "aal1"
    assert [m.method for m in session.authentication_methods] == ["password"]


def test_registration_starts_with_the_traits_then_asks_for_a_credential(server: KratosProcess) -> None:
    flow = HTTP.get(f"{server.public_url}/self-service/registration/api").json()
    assert node_names(flow) == [
        ("default", "csrf_token", "hidden"),
        ("default", "traits.email", "email"),
        ("default", "traits.username", "text"),
        ("default", "traits.name.first", "text"),
        ("default", "traits.name.last", "text"),
        ("profile", "method", "submit"),
    ]
    second = HTTP.post(
        f"{server.public_url}/self-service/registration",
        params={"flow": flow["id"]},
        json={"method": "profile", "traits": {"email": email()}},
    )
    assert second.status_code == 400
    body = second.json()
    assert [m["id"] for m in body["ui"]["messages"]] == [1040009]
    names = node_names(body)
    assert ("password", "password", "password") in names
    assert ("profile", "screen", "submit") in names
    assert ("default", "traits.email", "hidden") in names
    done = HTTP.post(
        f"{server.public_url}/self-service/registration",
        params={"flow": flow["id"]},
        json={"method": "password", "password": PASSWORD},
    )
    assert done.status_code == 200, done.text
    assert done.json()["continue_with"][0]["action"] == "set_ory_session_token"


def test_duplicate_registration_and_short_password_are_form_messages(
    frontend: ory_kratos_client.FrontendApi, server: KratosProcess
) -> None:
    address = email()
    register_api(frontend, address)
    for password, expected in ((PASSWORD, 4000007), ("short", None)):
        flow = HTTP.get(f"{server.public_url}/self-service/registration/api").json()
        answer = HTTP.post(
            f"{server.public_url}/self-service/registration",
            params={"flow": flow["id"]},
            json={
                "method": "password",
                "password": password,
                "traits": {"email": address if expected else email()},
            },
        )
        assert answer.status_code == 400
        if expected:
            assert [m["id"] for m in answer.json()["ui"]["messages"]] == [expected]
        else:
            node = next(n for n in answer.json()["ui"]["nodes"] if n["attributes"]["name"] == "password")
            assert [m["id"] for m in node["messages"]] == [4000032]


def test_login_refuses_wrong_and_unknown_alike_then_accepts_the_password(
    frontend: ory_kratos_client.FrontendApi, server: KratosProcess
) -> None:
    address = email()
    register_api(frontend, address)
    for identifier, password in ((address, "wrong-password-1"), (email(), PASSWORD)):
        with pytest.raises(ApiException) as failed:
            login_api(frontend, identifier, password)
        assert failed.value.status == 400
        assert '"id":4000006' in failed.value.body.replace(" ", "")
    logged_in = login_api(frontend, address.upper(), PASSWORD)
    assert logged_in.session.identity.traits["email"] == address
    assert frontend.to_session(x_session_token=logged_in.session_token).id == logged_in.session.id


def test_whoami_without_or_with_a_forged_token_is_401(server: KratosProcess) -> None:
    for headers in ({}, {"X-Session-Token": "ory_st_forged"}, {"Authorization": "Bearer nope"}):
        answer = HTTP.get(f"{server.public_url}/sessions/whoami", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"]["reason"] == "No valid session credentials found in the request."


def test_settings_changes_traits_and_password_then_logout_ends_the_session(
    frontend: ory_kratos_client.FrontendApi, server: KratosProcess
) -> None:
    token = register_api(frontend, email()).session_token
    headers = {"X-Session-Token": token}
    flow = HTTP.get(f"{server.public_url}/self-service/settings/api", headers=headers).json()
    new_address = email()
    saved = HTTP.post(
        f"{server.public_url}/self-service/settings",
        params={"flow": flow["id"]},
        headers=headers,
        json={"method": "profile", "traits": {"email": new_address}},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["state"] == "success"
    assert saved.json()["identity"]["traits"]["email"] == new_address
    changed = HTTP.post(
        f"{server.public_url}/self-service/settings",
        params={"flow": flow["id"]},
        headers=headers,
        json={"method": "password", "password": "another-Long-pass-99"},
    )
    assert changed.status_code == 200
    assert login_api(frontend, new_address, "another-Long-pass-99").session_token
    frontend.perform_native_logout(ory_kratos_client.PerformNativeLogoutBody(session_token=token))
    assert HTTP.get(f"{server.public_url}/sessions/whoami", headers=headers).status_code == 401


def test_browser_registration_login_and_logout_with_cookies_and_csrf(server: KratosProcess) -> None:
    with httpx.Client(base_url=server.public_url, timeout=30) as browser:
        start = browser.get("/self-service/registration/browser")
        assert start.status_code == 303
        assert start.headers["location"].startswith(f"{UI}/registration?flow=")
        flow_id = start.headers["location"].split("flow=")[1]
        flow = browser.get("/self-service/registration/flows", params={"id": flow_id}).json()
        csrf = next(n for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token")["attributes"][
            "value"
        ]
        address = email()
        form = {"method": "password", "password": PASSWORD, "traits.email": address}
        forged = browser.post(
            "/self-service/registration", params={"flow": flow_id}, data={**form, "csrf_token": "x"}
        )
        assert forged.status_code == 303
        assert forged.headers["location"].startswith(f"{UI}/error?id=")
        error_id = forged.headers["location"].split("id=")[1]
        stored = browser.get("/self-service/errors", params={"id": error_id}).json()
        assert stored["error"]["id"] == "security_csrf_violation"
        done = browser.post(
            "/self-service/registration", params={"flow": flow_id}, data={**form, "csrf_token": csrf}
        )
        assert done.status_code == 303
        assert "ory_kratos_session" in done.headers.get("set-cookie", "")
        assert browser.get("/sessions/whoami").json()["identity"]["traits"]["email"] == address
        again = browser.get("/self-service/login/browser", headers={"Accept": "application/json"})
        assert again.status_code == 400
        assert again.json()["error"]["id"] == "session_already_available"
        logout = browser.get("/self-service/logout/browser").json()
        assert browser.get(logout["logout_url"]).status_code == 303
        assert browser.get("/sessions/whoami").status_code == 401


def test_api_flows_refuse_browser_cookies_and_expired_or_unknown_flows(server: KratosProcess) -> None:
    flow = HTTP.get(f"{server.public_url}/self-service/login/api").json()
    answer = HTTP.post(
        f"{server.public_url}/self-service/login",
        params={"flow": flow["id"]},
        json={"method": "password", "identifier": "a@b.co", "password": "x"},
        headers={"Cookie": "some=cookie"},
    )
    assert answer.status_code == 400
    assert [m["id"] for m in answer.json()["ui"]["messages"]] == [4000001]
    missing = HTTP.post(f"{server.public_url}/self-service/login", params={"flow": "nope"}, json={})
    assert missing.status_code == 400
    unknown = HTTP.get(f"{server.public_url}/self-service/login/flows", params={"id": str(uuid.uuid4())})
    assert unknown.status_code == 404
    forbidden = HTTP.get(
        f"{server.public_url}/self-service/login/api", params={"return_to": "https://evil.example/"}
    )
    assert forbidden.status_code == 400
    assert forbidden.json()["error"]["id"] == "self_service_flow_return_to_forbidden"


def test_admin_lists_and_disables_sessions(
    frontend: ory_kratos_client.FrontendApi, server: KratosProcess
) -> None:
    registered = register_api(frontend, email())
    listed = HTTP.get(f"{server.admin_url}/admin/identities/{registered.identity.id}/sessions").json()
    assert [s["id"] for s in listed] == [registered.session.id]
    assert HTTP.delete(f"{server.admin_url}/admin/sessions/{registered.session.id}").status_code == 204
    headers = {"X-Session-Token": registered.session_token}
    assert HTTP.get(f"{server.public_url}/sessions/whoami", headers=headers).status_code == 401


def test_fifty_registrations_of_one_email_make_one_identity(server: KratosProcess) -> None:
    address = email()

    async def attempt(client: httpx.AsyncClient) -> httpx.Response:
        flow = (await client.get("/self-service/registration/api")).json()
        return await client.post(
            "/self-service/registration",
            params={"flow": flow["id"]},
            json={"method": "password", "password": PASSWORD, "traits": {"email": address}},
        )

    async def storm() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.public_url, timeout=60) as client:
            return await asyncio.gather(*(attempt(client) for _ in range(50)))

    answers = asyncio.run(storm())
    assert sorted(a.status_code for a in answers) == [200] + [400] * 49
    for refused in (a for a in answers if a.status_code == 400):
        assert [m["id"] for m in refused.json()["ui"]["messages"]] == [4000007]
    found = HTTP.get(f"{server.admin_url}/admin/identities", params={"credentials_identifier": address})
    assert len(found.json()) == 1


def test_empty_optional_form_fields_are_left_out_as_upstream_does(server: KratosProcess) -> None:
    with httpx.Client(base_url=server.public_url, timeout=30) as browser:
        flow_id = browser.get("/self-service/registration/browser").headers["location"].split("flow=")[1]
        flow = browser.get("/self-service/registration/flows", params={"id": flow_id}).json()
        csrf = next(n for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token")
        address = email()
        form = {
            "csrf_token": csrf["attributes"]["value"],
            "traits.email": address,
            "traits.username": "",
            "traits.name.first": "",
            "method": "password",
            "password": PASSWORD,
        }
        done = browser.post("/self-service/registration", params={"flow": flow_id}, data=form)
        assert done.status_code == 303, done.text
        assert browser.get("/sessions/whoami").json()["identity"]["traits"] == {"email": address, "name": {}}


def test_an_imported_hash_is_replaced_after_the_first_login(
    frontend: ory_kratos_client.FrontendApi, server: KratosProcess
) -> None:
    address = email()
    pbkdf2 = (  # upstream's vector for the password "test"
        "$pbkdf2-sha256$i=100000,l=32$1jP+5Zxpxgtee/iPxGgOz0RfE9/KJuDElP1ley4VxXc$"
        "QJxzfvdbHYBpydCbHoFg3GJEqMFULwskiuqiJctoYpI"
    )
    created = HTTP.post(
        f"{server.admin_url}/admin/identities",
        json={
            "schema_id": "default",
            "traits": {"email": address},
            "credentials": {"password": {"config": {"hashed_password": pbkdf2}}},
        },
    )
    assert created.status_code == 201, created.text
    assert login_api(frontend, address, "test").session_token
    stored = HTTP.get(
        f"{server.admin_url}/admin/identities/{created.json()['id']}",
        params={"include_credential": "password"},
    ).json()
    assert stored["credentials"]["password"]["config"]["hashed_password"].startswith("$2a$")
    assert login_api(frontend, address, "test").session_token


def test_a_user_lists_and_ends_their_other_sessions_and_admins_extend_them(
    frontend: ory_kratos_client.FrontendApi, server: KratosProcess
) -> None:
    address = email()
    first = register_api(frontend, address)
    second = login_api(frontend, address, PASSWORD)
    third = login_api(frontend, address, PASSWORD)
    mine = {"X-Session-Token": first.session_token}
    others = HTTP.get(f"{server.public_url}/sessions", headers=mine).json()
    assert {s["id"] for s in others} == {second.session.id, third.session.id}
    ended = HTTP.delete(f"{server.public_url}/sessions/{second.session.id}", headers=mine)
    assert ended.status_code == 204
    own = HTTP.delete(f"{server.public_url}/sessions/{first.session.id}", headers=mine)
    assert own.status_code == 400
    assert HTTP.delete(f"{server.public_url}/sessions", headers=mine).json() == {"count": 1}
    token_of_third = {"X-Session-Token": third.session_token}
    assert HTTP.get(f"{server.public_url}/sessions/whoami", headers=token_of_third).status_code == 401
    detail = HTTP.get(
        f"{server.admin_url}/admin/sessions/{first.session.id}", params={"expand": ["identity", "devices"]}
    ).json()
    assert detail["identity"]["traits"]["email"] == address
    assert detail["devices"][0]["user_agent"]
    extended = HTTP.patch(f"{server.admin_url}/admin/sessions/{first.session.id}/extend")
    assert extended.status_code == 200
    assert extended.json()["expires_at"] >= detail["expires_at"]
    active = HTTP.get(f"{server.admin_url}/admin/sessions", params={"active": "false"}).json()
    assert {second.session.id, third.session.id} <= {s["id"] for s in active}


def test_a_single_page_app_is_told_where_the_browser_goes_after_login(
    server: KratosProcess, frontend: ory_kratos_client.FrontendApi
) -> None:
    address = email()
    register_api(frontend, address)
    with httpx.Client(base_url=server.public_url, timeout=30, headers={"Accept": "application/json"}) as spa:
        flow = spa.get("/self-service/login/browser", params={"return_to": f"{UI}/app"}).json()
        csrf = next(n for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token")
        done = spa.post(
            "/self-service/login",
            params={"flow": flow["id"]},
            json={
                "method": "password",
                "identifier": address,
                "password": PASSWORD,
                "csrf_token": csrf["attributes"]["value"],
            },
        )
        assert done.status_code == 200, done.text
        assert done.json()["continue_with"] == [
            {"action": "redirect_browser_to", "redirect_browser_to": f"{UI}/app"}
        ]
        assert "session_token" not in done.json()
