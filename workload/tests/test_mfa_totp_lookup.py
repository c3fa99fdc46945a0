"""TOTP apps and backup codes as second factors, and the AAL rules around them, on the real server.

Codes come from the enrolled secret (pyotp, as an authenticator app computes them) and from the codes the
settings flow shows; apps are driven with the official SDK's wire format, browsers with forms and cookies.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import ory_kratos_client
import pyotp
import pytest
from kratos_process import FLOW_OVERRIDES, UI, KratosProcess, merged
from netutil import app_client
from server_fixtures import running_kratos

HTTP = app_client()
PASSWORD = "a-Long-passphrase-42"
MFA = {
    "selfservice": {
        "methods": {
            "totp": {"enabled": True, "config": {"issuer": "Example Corp"}},
            "lookup_secret": {"enabled": True},
        }
    }
}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KratosProcess]:
    """A server with TOTP and backup codes on, on SQLite and PostgreSQL."""
    yield from running_kratos(request, tmp_path_factory, merged(FLOW_OVERRIDES, MFA))


def email() -> str:
    return f"mfa-{uuid.uuid4().hex[:10]}@example.com"


def post(
    server: KratosProcess, kind: str, flow: dict[str, Any], token: str, body: dict[str, Any]
) -> httpx.Response:
    return HTTP.post(
        f"{server.public_url}/self-service/{kind}",
        params={"flow": flow["id"]},
        headers={"X-Session-Token": token},
        json=body,
        timeout=30,
    )


def settings_action(server: KratosProcess, token: str, body: dict[str, Any]) -> httpx.Response:
    """A new settings flow of ``token``, submitted at once with ``body``."""
    return post(server, "settings", settings_flow(server, token), token, body)


def register(server: KratosProcess, address: str) -> str:
    flow = HTTP.get(f"{server.public_url}/self-service/registration/api").json()
    done = HTTP.post(
        f"{server.public_url}/self-service/registration",
        params={"flow": flow["id"]},
        json={"method": "password", "password": PASSWORD, "traits": {"email": address}},
        timeout=30,
    )
    assert done.status_code == 200, done.text
    return done.json()["session_token"]


def password_login(server: KratosProcess, address: str) -> dict[str, Any]:
    flow = HTTP.get(f"{server.public_url}/self-service/login/api").json()
    done = HTTP.post(
        f"{server.public_url}/self-service/login",
        params={"flow": flow["id"]},
        json={"method": "password", "identifier": address, "password": PASSWORD},
        timeout=30,
    )
    assert done.status_code == 200, done.text
    return done.json()


def settings_flow(server: KratosProcess, token: str) -> dict[str, Any]:
    flow = HTTP.get(f"{server.public_url}/self-service/settings/api", headers={"X-Session-Token": token})
    assert flow.status_code == 200, flow.text
    return flow.json()


def node(flow: dict[str, Any], name: str) -> dict[str, Any]:
    return next(
        n for n in flow["ui"]["nodes"] if n["attributes"].get("name", n["attributes"].get("id")) == name
    )


def enrol_totp(server: KratosProcess, token: str) -> pyotp.TOTP:
    """Set up an authenticator app in settings the way a user does: read the secret, type the code."""
    flow = settings_flow(server, token)
    secret = node(flow, "totp_secret_key")["attributes"]["text"]["context"]["secret"]
    assert node(flow, "totp_qr")["attributes"]["src"].startswith("data:image/png;base64,")
    app = pyotp.TOTP(secret)
    wrong = post(
        server,
        "settings",
        flow,
        token,
        {"method": "totp", "totp_code": "000000" if app.now() != "000000" else "111111"},
    )
    assert wrong.status_code == 400
    assert [m["id"] for m in node(wrong.json(), "totp_code")["messages"]] == [4000008]
    done = post(server, "settings", flow, token, {"method": "totp", "totp_code": app.now()})
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "success"
    assert node(done.json(), "totp_unlink")["attributes"]["type"] == "submit"
    return app


def whoami(server: KratosProcess, token: str) -> httpx.Response:
    return HTTP.get(f"{server.public_url}/sessions/whoami", headers={"X-Session-Token": token})


def aal2_flow(server: KratosProcess, token: str) -> dict[str, Any]:
    flow = HTTP.get(
        f"{server.public_url}/self-service/login/api",
        params={"aal": "aal2"},
        headers={"X-Session-Token": token},
    )
    assert flow.status_code == 200, flow.text
    return flow.json()


def next_code(app: pyotp.TOTP) -> str:
    """The next step's code (accepted with one step of skew): the current one went to the enrolment."""
    return app.at(time.time() + app.interval)


def test_totp_enrolment_steps_up_and_login_needs_the_code(server: KratosProcess) -> None:
    address = email()
    token = register(server, address)
    app = enrol_totp(server, token)
    enrolled = whoami(server, token).json()
    assert enrolled["authenticator_assurance_level"] == "aal2"
    assert [m["method"] for m in enrolled["authentication_methods"]] == ["password", "totp"]
    assert pyotp.parse_uri(pyotp.TOTP(app.secret).provisioning_uri()).secret == app.secret

    first = password_login(server, address)
    assert first["session"]["authenticator_assurance_level"] == "aal1"
    assert first["session"]["identity"] is None  # not shown before the second factor, as upstream
    aal1 = first["session_token"]
    refused = whoami(server, aal1)
    assert refused.status_code == 403
    assert refused.json()["error"]["id"] == "session_aal2_required"
    assert refused.json()["redirect_browser_to"].endswith("/self-service/login/browser?aal=aal2")

    flow = aal2_flow(server, aal1)
    assert [m["id"] for m in flow["ui"]["messages"]] == [1010004]
    names = [
        (n["group"], n["attributes"].get("name"), n["attributes"].get("value")) for n in flow["ui"]["nodes"]
    ]
    assert ("totp", "totp_code", "") in names
    assert ("totp", "method", "totp") in names
    assert ("lookup_secret", "lookup_secret", "") not in names  # no backup codes set up
    short = post(server, "login", flow, aal1, {"method": "totp", "totp_code": "12345"})
    assert short.status_code == 400
    assert [m["id"] for m in node(short.json(), "totp_code")["messages"]] == [4000003]
    guess = "000000" if next_code(app) != "000000" else "111111"
    wrong = post(server, "login", flow, aal1, {"method": "totp", "totp_code": guess})
    assert wrong.status_code == 400
    assert [m["id"] for m in wrong.json()["ui"]["messages"]] == [4000008]
    code = next_code(app)
    done = post(server, "login", flow, aal1, {"method": "totp", "totp_code": code})
    assert done.status_code == 200, done.text
    session = done.json()["session"]
    assert session["authenticator_assurance_level"] == "aal2"
    assert [(m["method"], m["aal"]) for m in session["authentication_methods"]] == [
        ("password", "aal1"),
        ("totp", "aal2"),
    ]
    assert whoami(server, aal1).json()["identity"]["traits"]["email"] == address

    again = HTTP.get(
        f"{server.public_url}/self-service/login/api",
        params={"aal": "aal2"},
        headers={"X-Session-Token": aal1},
    )
    assert again.status_code == 400
    assert again.json()["error"]["id"] == "session_already_available"

    other = password_login(server, address)["session_token"]  # the same code, replayed on a new session
    replay = post(server, "login", aal2_flow(server, other), other, {"method": "totp", "totp_code": code})
    assert replay.status_code == 400
    assert [m["id"] for m in replay.json()["ui"]["messages"]] == [4000008]


def test_aal_requests_without_a_session_or_a_bad_level_are_refused(server: KratosProcess) -> None:
    anonymous = HTTP.get(f"{server.public_url}/self-service/login/api", params={"aal": "aal2"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["id"] == "session_aal1_required"
    bogus = HTTP.get(f"{server.public_url}/self-service/login/api", params={"aal": "aal9"})
    assert bogus.status_code == 400
    assert "aal9" in bogus.json()["error"]["reason"]


def test_backup_codes_are_confirmed_then_each_works_once(server: KratosProcess) -> None:
    address = email()
    token = register(server, address)
    flow = settings_flow(server, token)
    assert node(flow, "lookup_secret_regenerate")["meta"]["label"]["id"] == 1050008
    shown = post(
        server, "settings", flow, token, {"method": "lookup_secret", "lookup_secret_regenerate": True}
    )
    assert shown.status_code == 200, shown.text
    secrets = node(shown.json(), "lookup_secret_codes")["attributes"]["text"]["context"]["secrets"]
    codes = [s["context"]["secret"] for s in secrets]
    assert len(codes) == 12
    assert len(set(codes)) == 12
    assert all(s["id"] == 1050009 for s in secrets)
    assert whoami(server, token).json()["authenticator_assurance_level"] == "aal1"  # nothing stored yet
    confirmed = post(
        server, "settings", shown.json(), token, {"method": "lookup_secret", "lookup_secret_confirm": True}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert [m["method"] for m in whoami(server, token).json()["authentication_methods"]] == [
        "password",
        "lookup_secret",
    ]

    aal1 = password_login(server, address)["session_token"]
    flow = aal2_flow(server, aal1)
    assert node(flow, "lookup_secret")["meta"]["label"]["id"] == 1010007
    unknown = post(server, "login", flow, aal1, {"method": "lookup_secret", "lookup_secret": "notacode"})
    assert [m["id"] for m in unknown.json()["ui"]["messages"]] == [4000016]
    used = post(server, "login", flow, aal1, {"method": "lookup_secret", "lookup_secret": codes[0]})
    assert used.status_code == 200, used.text
    assert used.json()["session"]["authenticator_assurance_level"] == "aal2"

    other = password_login(server, address)["session_token"]
    replay = post(
        server,
        "login",
        aal2_flow(server, other),
        other,
        {"method": "lookup_secret", "lookup_secret": codes[0]},
    )
    assert [m["id"] for m in replay.json()["ui"]["messages"]] == [4000012]

    revealed = settings_action(server, token, {"method": "lookup_secret", "lookup_secret_reveal": True})
    listed = node(revealed.json(), "lookup_secret_codes")["attributes"]["text"]
    assert [s["id"] for s in listed["context"]["secrets"]] == [1050014] + [1050009] * 11
    assert listed["text"].startswith("used, ")


def test_two_logins_racing_with_one_backup_code_cannot_both_use_it(server: KratosProcess) -> None:
    address = email()
    token = register(server, address)
    shown = settings_action(server, token, {"method": "lookup_secret", "lookup_secret_regenerate": True})
    code = node(shown.json(), "lookup_secret_codes")["attributes"]["text"]["context"]["secrets"][0][
        "context"
    ]["secret"]
    post(server, "settings", shown.json(), token, {"method": "lookup_secret", "lookup_secret_confirm": True})
    tokens = [password_login(server, address)["session_token"] for _ in range(6)]
    flows = [aal2_flow(server, t) for t in tokens]

    async def race() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.public_url, timeout=30) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/self-service/login",
                        params={"flow": f["id"]},
                        headers={"X-Session-Token": t},
                        json={"method": "lookup_secret", "lookup_secret": code},
                    )
                    for f, t in zip(flows, tokens, strict=True)
                )
            )

    answers = asyncio.run(race())
    assert sorted(a.status_code for a in answers) == [200, 400, 400, 400, 400, 400]


def test_settings_ask_for_the_second_factor_and_unlinking_leaves_aal1(server: KratosProcess) -> None:
    address = email()
    token = register(server, address)
    enrol_totp(server, token)
    aal1 = password_login(server, address)["session_token"]
    refused = HTTP.get(f"{server.public_url}/self-service/settings/api", headers={"X-Session-Token": aal1})
    assert refused.status_code == 403
    assert refused.json()["error"]["id"] == "session_aal2_required"

    flow = settings_flow(server, token)  # the enrolling session is aal2
    unlinked = post(server, "settings", flow, token, {"method": "totp", "totp_unlink": True})
    assert unlinked.status_code == 200, unlinked.text
    assert node(unlinked.json(), "totp_secret_key")  # a new app can be set up
    assert whoami(server, aal1).status_code == 200  # the identity has no second factor left

    later = password_login(server, address)
    assert later["session"]["identity"]["traits"]["email"] == address


def test_an_admin_deleting_the_only_second_factor_leaves_an_empty_aal2_form(
    server: KratosProcess,
) -> None:
    address = email()
    token = register(server, address)
    enrol_totp(server, token)
    aal1 = password_login(server, address)["session_token"]
    identity_id = HTTP.get(f"{server.public_url}/sessions/whoami", headers={"X-Session-Token": token}).json()[
        "identity"
    ]["id"]
    with ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=server.admin_url)) as client:
        admin = ory_kratos_client.IdentityApi(client)
        admin.delete_identity_credentials(identity_id, "totp")
        stored = admin.get_identity(identity_id, include_credential=["totp"])
        assert stored.credentials is not None
        assert "totp" not in stored.credentials
    flow = aal2_flow(server, aal1)
    assert flow["ui"]["nodes"] is None
    assert [m["id"] for m in flow["ui"]["messages"]] == [1010004]
    assert whoami(server, aal1).status_code == 200


def test_a_browser_goes_from_the_password_to_the_code_and_back_to_its_return_to(
    server: KratosProcess,
) -> None:
    address = email()
    app = enrol_totp(server, register(server, address))
    with httpx.Client(base_url=server.public_url, timeout=30) as browser:
        start = browser.get("/self-service/login/browser", params={"return_to": f"{UI}/welcome"})
        flow_id = start.headers["location"].split("flow=")[1]
        flow = browser.get("/self-service/login/flows", params={"id": flow_id}).json()
        csrf = node(flow, "csrf_token")["attributes"]["value"]
        first = browser.post(
            "/self-service/login",
            params={"flow": flow_id},
            data={"method": "password", "identifier": address, "password": PASSWORD, "csrf_token": csrf},
        )
        assert first.status_code == 303
        step_up = httpx.URL(first.headers["location"])
        assert step_up.path == "/self-service/login/browser"
        assert step_up.params["aal"] == "aal2"
        assert step_up.params["return_to"] == f"{UI}/welcome"
        assert browser.get("/sessions/whoami").status_code == 403

        second = browser.get(str(step_up))
        assert second.status_code == 303
        aal2_id = second.headers["location"].split("flow=")[1]
        flow = browser.get("/self-service/login/flows", params={"id": aal2_id}).json()
        assert flow["requested_aal"] == "aal2"
        done = browser.post(
            "/self-service/login",
            params={"flow": aal2_id},
            data={
                "method": "totp",
                "totp_code": next_code(app),
                "csrf_token": node(flow, "csrf_token")["attributes"]["value"],
            },
        )
        assert done.status_code == 303
        assert done.headers["location"] == f"{UI}/welcome"
        assert browser.get("/sessions/whoami").json()["authenticator_assurance_level"] == "aal2"


def test_a_single_page_app_is_told_to_go_to_the_second_factor(server: KratosProcess) -> None:
    address = email()
    enrol_totp(server, register(server, address))
    with httpx.Client(base_url=server.public_url, timeout=30, headers={"Accept": "application/json"}) as spa:
        flow = spa.get("/self-service/login/browser").json()
        answer = spa.post(
            "/self-service/login",
            params={"flow": flow["id"]},
            json={
                "method": "password",
                "identifier": address,
                "password": PASSWORD,
                "csrf_token": node(flow, "csrf_token")["attributes"]["value"],
            },
        )
        assert answer.status_code == 422
        assert answer.json()["error"]["id"] == "browser_location_change_required"
        assert "aal=aal2" in answer.json()["redirect_browser_to"]
        assert spa.get("/sessions/whoami").status_code == 403  # the aal1 cookie is set


def test_turning_a_method_off_stops_asking_for_it_at_the_next_login(tmp_path: Path) -> None:
    dsn = f"sqlite://{tmp_path}/kratos.sqlite?_fk=true"
    first = KratosProcess(tmp_path, dsn, overrides=merged(FLOW_OVERRIDES, MFA))
    first.migrate()
    first.start()
    try:
        address = email()
        enrol_totp(first, register(first, address))
        assert password_login(first, address)["session"]["identity"] is None  # aal2 is asked for
    finally:
        first.stop()
    off = {"selfservice": {"methods": {"totp": {"enabled": False}}}}
    second = KratosProcess(tmp_path, dsn, overrides=merged(FLOW_OVERRIDES, MFA, off)).start()
    try:
        answer = password_login(second, address)
        assert answer["session"]["identity"]["traits"]["email"] == address
        assert whoami(second, answer["session_token"]).status_code == 200
    finally:
        second.stop()


def test_a_browser_below_the_required_aal_is_sent_from_settings_to_the_second_factor(
    server: KratosProcess,
) -> None:
    address = email()
    enrol_totp(server, register(server, address))
    with httpx.Client(base_url=server.public_url, timeout=30) as browser:
        flow = browser.get("/self-service/login/browser", headers={"Accept": "application/json"}).json()
        browser.post(
            "/self-service/login",
            params={"flow": flow["id"]},
            data={
                "method": "password",
                "identifier": address,
                "password": PASSWORD,
                "csrf_token": node(flow, "csrf_token")["attributes"]["value"],
            },
        )
        settings = browser.get("/self-service/settings/browser", params={"return_to": f"{UI}/done"})
        assert settings.status_code == 303
        location = httpx.URL(settings.headers["location"])
        assert (location.path, location.params["aal"]) == ("/self-service/login/browser", "aal2")
        assert httpx.URL(location.params["return_to"]).path == "/self-service/settings/browser"
        spa = browser.get("/self-service/settings/browser", headers={"Accept": "application/json"})
        assert spa.status_code == 403
        assert spa.json()["error"]["id"] == "session_aal2_required"
