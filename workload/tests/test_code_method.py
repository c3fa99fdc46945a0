"""The code method end to end: passwordless registration and login, and codes as a second factor.

The real server's courier sends every code to an SMTP server in-process (or, for phone numbers, to an
HTTP SMS gateway on loopback); the tests read the codes from what arrives and finish the flows with the
official SDK (apps) or a cookie-keeping client posting forms with their CSRF token (browsers).
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import ory_kratos_client as sdk
import pytest
from hook_target import HookTarget
from kratos_process import DATA, FLOW_OVERRIDES, UI, KratosProcess, merged
from netutil import app_client
from ory_kratos_client.exceptions import ApiException
from server_fixtures import running_kratos
from smtp_sink import SmtpSink, plain_text

PASSWORD = "a-Long-passphrase-42"
HTTP = app_client()
SMS_BODY = base64.b64encode(b"function(ctx) { to: ctx.recipient, body: ctx.body }").decode()


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway() -> Iterator[HookTarget]:
    """The SMS gateway the courier's ``sms`` channel posts to."""
    target = HookTarget().start()
    yield target
    target.stop()


def code_config(sink: SmtpSink, gateway: HookTarget, mode: str) -> dict[str, Any]:
    """``mode``: ``passwordless_enabled`` or ``mfa_enabled``; at most 3 tries per flow."""
    return merged(
        FLOW_OVERRIDES,
        {
            "identity": {
                "default_schema_id": "default",
                "schemas": [{"id": "default", "url": (DATA / "identity.code.schema.json").as_uri()}],
            },
            "selfservice": {
                "methods": {"code": {mode: True, "config": {"max_submissions": 3}}},
                "flows": {"registration": {"after": {"code": {"hooks": [{"hook": "session"}]}}}},
            },
            "courier": {
                "smtp": {"connection_uri": f"smtp://127.0.0.1:{sink.port}/?disable_starttls=true"},
                "channels": [
                    {
                        "id": "sms",
                        "type": "http",
                        "request_config": {
                            "url": f"{gateway.url}/sms",
                            "method": "POST",
                            "body": f"base64://{SMS_BODY}",
                        },
                    }
                ],
                "worker": {"pull_wait": "100ms"},
            },
        },
    )


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def passwordless(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sink: SmtpSink,
    gateway: HookTarget,
) -> Iterator[KratosProcess]:
    config = code_config(sink, gateway, "passwordless_enabled")
    yield from running_kratos(request, tmp_path_factory, config, "--watch-courier")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def mfa(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sink: SmtpSink,
    gateway: HookTarget,
) -> Iterator[KratosProcess]:
    config = code_config(sink, gateway, "mfa_enabled")
    yield from running_kratos(request, tmp_path_factory, config, "--watch-courier")


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def code_in(text: str) -> str:
    found = re.search(r"\b(\d{6})\b", text)
    assert found, text
    return found.group(1)


def mailed_code(sink: SmtpSink, to: str, count: int = 1) -> str:
    """The code of the ``count``-th email ``to`` received."""
    return code_in(plain_text(sink.wait_for(to, count)[count - 1]))


def ids(flow: dict[str, Any]) -> list[int]:
    return [m["id"] for m in flow["ui"].get("messages") or ()]


def names(flow: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """``(group, name, value)`` of every input node."""
    return [
        (n["group"], n["attributes"].get("name"), n["attributes"].get("value")) for n in flow["ui"]["nodes"]
    ]


def field_ids(flow: dict[str, Any], name: str) -> list[int]:
    node = next(n for n in flow["ui"]["nodes"] if n["attributes"].get("name") == name)
    return [m["id"] for m in node["messages"]]


def create_identity(server: KratosProcess, traits: dict[str, Any]) -> dict[str, Any]:
    body = {
        "schema_id": "default",
        "traits": traits,
        "credentials": {"password": {"config": {"password": PASSWORD}}},
    }
    response = HTTP.post(f"{server.admin_url}/admin/identities", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def submit(server: KratosProcess, kind: str, flow_id: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
    return HTTP.post(f"{server.public_url}/self-service/{kind}", params={"flow": flow_id}, json=body, **kw)


def api_flow(server: KratosProcess, kind: str, **kw: Any) -> dict[str, Any]:
    response = HTTP.get(f"{server.public_url}/self-service/{kind}/api", **kw)
    assert response.status_code == 200, response.text
    return response.json()


def refused(call: Any) -> dict[str, Any]:
    """The flow an SDK call answered with 400."""
    with pytest.raises(ApiException) as caught:
        call()
    assert caught.value.status == 400, caught.value.body
    return json.loads(str(caught.value.body))


# passwordless registration and login


def test_registration_by_code_with_the_sdk(passwordless: KratosProcess, sink: SmtpSink) -> None:
    address = new_email()
    with sdk.ApiClient(sdk.Configuration(host=passwordless.public_url)) as client:
        frontend = sdk.FrontendApi(client)
        flow = frontend.create_native_registration_flow()

        def register(**fields: Any) -> Any:
            body = sdk.UpdateRegistrationFlowWithCodeMethod(
                method="code", traits={"email": address}, **fields
            )
            return frontend.update_registration_flow(flow.id, sdk.UpdateRegistrationFlowBody(body))

        sent = refused(register)
        assert sent["state"] == "sent_email"
        assert ids(sent) == [1040005]
        assert ("code", "code", None) in names(sent)
        assert ("code", "resend", "code") in names(sent)
        assert ("default", "traits.email", address) in names(sent)
        code = mailed_code(sink, address)

        wrong = refused(lambda: register(code="000000" if code != "000000" else "111111"))
        assert ids(wrong) == [4040003]
        done = register(code=code)
        assert done.session is not None
        assert [m.method for m in done.session.authentication_methods or []] == ["code"]
        assert done.session_token

    identity = HTTP.get(
        f"{passwordless.admin_url}/admin/identities/{done.identity.id}",
        params={"include_credential": ["code", "password"]},
    ).json()
    credentials = identity["credentials"]
    assert credentials["code"]["identifiers"] == [address]
    assert credentials["code"]["config"]["addresses"] == [{"channel": "email", "address": address}]
    assert credentials["password"]["config"] == {}  # no password, as upstream stores it
    [verifiable] = identity["verifiable_addresses"]
    assert (verifiable["verified"], verifiable["status"]) == (True, "completed")
    again = {"method": "code", "traits": {"email": address}, "code": code}
    assert ids(submit(passwordless, "registration", flow.id, again).json()) == [4010003]


def test_login_by_code_and_every_refusal(passwordless: KratosProcess, sink: SmtpSink) -> None:
    address = new_email()
    create_identity(passwordless, {"email": address})
    flow = api_flow(passwordless, "login")
    assert ("code", "method", "code") in names(flow)

    nobody = new_email()
    unknown = submit(passwordless, "login", flow["id"], {"method": "code", "identifier": nobody})
    assert unknown.status_code == 400
    assert ids(unknown.json()) == [4000035]
    assert unknown.json()["state"] == "choose_method"

    sent = submit(passwordless, "login", flow["id"], {"method": "code", "identifier": address.upper()})
    assert sent.status_code == 400, sent.text
    assert (sent.json()["state"], ids(sent.json())) == ("sent_email", [1010014])
    assert ("default", "identifier", address) in names(sent.json())
    code = mailed_code(sink, address)
    assert not [r for r in sink.received if nobody in r.rcpt_tos]  # nothing went to the unknown address

    empty = submit(passwordless, "login", flow["id"], {"method": "code", "identifier": address, "code": ""})
    assert field_ids(empty.json(), "code") == [4000002]
    wrong = submit(
        passwordless, "login", flow["id"], {"method": "code", "identifier": address, "code": "12345"}
    )
    assert ids(wrong.json()) == [4010008]

    with sdk.ApiClient(sdk.Configuration(host=passwordless.public_url)) as client:
        body = sdk.UpdateLoginFlowWithCodeMethod(method="code", csrf_token="", identifier=address, code=code)
        done = sdk.FrontendApi(client).update_login_flow(flow["id"], sdk.UpdateLoginFlowBody(body))
    assert done.session.authenticator_assurance_level == sdk.AuthenticatorAssuranceLevel.AAL1
    assert [m.method for m in done.session.authentication_methods or []] == ["code"]
    assert done.session_token
    whoami = HTTP.get(
        f"{passwordless.public_url}/sessions/whoami", headers={"X-Session-Token": done.session_token}
    )
    assert whoami.json()["identity"]["verifiable_addresses"][0]["verified"] is True  # the code reached it

    replay = submit(
        passwordless, "login", flow["id"], {"method": "code", "identifier": address, "code": code}
    )
    assert (replay.status_code, ids(replay.json())) == (400, [4010002])


def test_resend_expiry_and_the_bound_on_tries(passwordless: KratosProcess, sink: SmtpSink) -> None:
    address = new_email()
    create_identity(passwordless, {"email": address})
    flow = api_flow(passwordless, "login")
    submit(passwordless, "login", flow["id"], {"method": "code", "identifier": address})
    first = mailed_code(sink, address)
    again = submit(
        passwordless, "login", flow["id"], {"method": "code", "identifier": address, "resend": "code"}
    )
    assert (again.json()["state"], ids(again.json())) == ("sent_email", [1010014])
    second = mailed_code(sink, address, 2)
    if first != second:  # a resend replaces the code
        stale = submit(
            passwordless, "login", flow["id"], {"method": "code", "identifier": address, "code": first}
        )
        assert ids(stale.json()) == [4010008]

    if passwordless.dsn.startswith("sqlite"):  # stored as HMACs only; an expired code opens nothing
        path = passwordless.dsn.removeprefix("sqlite://").split("?")[0]
        with closing(sqlite3.connect(path, timeout=10)) as db, db:
            rows = db.execute(
                "SELECT purpose, digest FROM selfservice_codes WHERE flow_id = ?",
                (flow["id"].replace("-", ""),),
            ).fetchall()
            assert rows
            assert all(purpose == "login_code" and second not in digest for purpose, digest in rows)
            db.execute(
                "UPDATE selfservice_codes SET expires_at = '2000-01-01 00:00:00.000000' WHERE flow_id = ?",
                (flow["id"].replace("-", ""),),
            )
        expired = submit(
            passwordless, "login", flow["id"], {"method": "code", "identifier": address, "code": second}
        )
        assert ids(expired.json()) == [4010008]

    for _ in range(3):
        submit(passwordless, "login", flow["id"], {"method": "code", "identifier": address, "code": "999999"})
    submit(passwordless, "login", flow["id"], {"method": "code", "identifier": address, "resend": "code"})
    latest = mailed_code(sink, address, 3)
    bounded = submit(
        passwordless, "login", flow["id"], {"method": "code", "identifier": address, "code": latest}
    )
    assert ids(bounded.json()) == [4000001]
    assert "too often" in bounded.json()["ui"]["messages"][0]["text"]


def test_browser_forms_register_and_sign_in_by_code(passwordless: KratosProcess, sink: SmtpSink) -> None:
    address = new_email()
    with httpx.Client(base_url=passwordless.public_url) as browser:
        flow_id, token = open_browser_flow(browser, "registration")
        sent = browser.post(
            "/self-service/registration",
            params={"flow": flow_id},
            data={"csrf_token": token, "method": "code", "traits.email": address},
        )
        assert sent.status_code == 303
        assert sent.headers["location"] == f"{UI}/registration?flow={flow_id}"
        shown = browser.get("/self-service/registration/flows", params={"id": flow_id}).json()
        assert shown["state"] == "sent_email"
        form = {"csrf_token": token, "method": "code", "traits.email": address}
        done = browser.post(
            "/self-service/registration",
            params={"flow": flow_id},
            data={**form, "code": mailed_code(sink, address)},
        )
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "http://127.0.0.1:4455/"
        assert browser.get("/sessions/whoami").json()["identity"]["traits"]["email"] == address

    with httpx.Client(base_url=passwordless.public_url) as browser:
        flow_id, token = open_browser_flow(browser, "login")
        unknown = browser.post(
            "/self-service/login",
            params={"flow": flow_id},
            data={"csrf_token": token, "method": "code", "identifier": new_email()},
        )
        assert unknown.status_code == 303
        assert ids(browser.get("/self-service/login/flows", params={"id": flow_id}).json()) == [4000035]
        sent = browser.post(
            "/self-service/login",
            params={"flow": flow_id},
            data={"csrf_token": token, "method": "code", "identifier": address},
        )
        assert (sent.status_code, sent.headers["location"]) == (303, f"{UI}/login?flow={flow_id}")
        no_csrf = browser.post(
            "/self-service/login", params={"flow": flow_id}, data={"method": "code", "code": "123456"}
        )
        assert no_csrf.status_code == 303
        assert "/error?id=" in no_csrf.headers["location"]
        done = browser.post(
            "/self-service/login",
            params={"flow": flow_id},
            data={
                "csrf_token": token,
                "method": "code",
                "identifier": address,
                "code": mailed_code(sink, address, 2),
            },
        )
        assert done.status_code == 303, done.text
        whoami = browser.get("/sessions/whoami").json()
        assert [m["method"] for m in whoami["authentication_methods"]] == ["code"]


def test_spa_gets_the_flow_as_json(passwordless: KratosProcess, sink: SmtpSink) -> None:
    address = new_email()
    create_identity(passwordless, {"email": address})
    with httpx.Client(base_url=passwordless.public_url, headers={"Accept": "application/json"}) as spa:
        flow = spa.get("/self-service/login/browser").json()
        token = next(v for _, n, v in names(flow) if n == "csrf_token")
        sent = spa.post(
            "/self-service/login",
            params={"flow": flow["id"]},
            json={"csrf_token": token, "method": "code", "identifier": address},
        )
        assert (sent.status_code, sent.json()["state"]) == (400, "sent_email")
        done = spa.post(
            "/self-service/login",
            params={"flow": flow["id"]},
            json={
                "csrf_token": token,
                "method": "code",
                "identifier": address,
                "code": mailed_code(sink, address),
            },
        )
        assert done.status_code == 200, done.text
        assert done.json()["session"]["identity"]["traits"]["email"] == address


def test_a_phone_number_gets_its_code_by_sms(passwordless: KratosProcess, gateway: HookTarget) -> None:
    phone = f"+49151{uuid.uuid4().int % 10**8:08d}"  # a valid German mobile number
    create_identity(passwordless, {"email": new_email(), "phone": phone})
    flow = api_flow(passwordless, "login")
    sent = submit(passwordless, "login", flow["id"], {"method": "code", "identifier": phone})
    assert sent.json()["state"] == "sent_email", sent.text
    text = wait_for_sms(gateway, phone)
    done = submit(
        passwordless, "login", flow["id"], {"method": "code", "identifier": phone, "code": code_in(text)}
    )
    assert done.status_code == 200, done.text
    assert done.json()["session"]["identity"]["traits"]["phone"] == phone


def wait_for_sms(gateway: HookTarget, to: str, timeout: float = 15.0) -> str:
    """The text of the message the gateway got for ``to``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for request in gateway.requests("/sms"):
            if isinstance(request.body, dict) and request.body.get("to") == to:
                return str(request.body["body"])
        time.sleep(0.05)
    raise AssertionError(f"no text message to {to}")


def open_browser_flow(browser: httpx.Client, kind: str, **params: str) -> tuple[str, str]:
    """Start a browser flow as a browser does: its id and the CSRF token its page carries."""
    start = browser.get(f"/self-service/{kind}/browser", params=params)
    assert start.status_code == 303, start.text
    flow_id = start.headers["location"].split("flow=")[1]
    flow = browser.get(f"/self-service/{kind}/flows", params={"id": flow_id}).json()
    token = next(v for _, n, v in names(flow) if n == "csrf_token")
    return flow_id, token


# second factor


def test_code_as_second_factor_for_an_app(mfa: KratosProcess, sink: SmtpSink) -> None:
    address = new_email()
    create_identity(mfa, {"email": address})
    login = api_flow(mfa, "login")
    assert ("code", "method", "code") not in names(login)  # no passwordless sign-in
    first = submit(
        mfa, "login", login["id"], {"method": "password", "identifier": address, "password": PASSWORD}
    )
    token = first.json()["session_token"]
    headers = {"X-Session-Token": token}
    whoami = HTTP.get(f"{mfa.public_url}/sessions/whoami", headers=headers)
    assert (whoami.status_code, whoami.json()["error"]["id"]) == (403, "session_aal2_required")

    flow = api_flow(mfa, "login", params={"aal": "aal2"}, headers=headers)
    assert ids(flow) == [1010004]
    [button] = [n for n in flow["ui"]["nodes"] if n["attributes"].get("name") == "address"]
    assert (button["attributes"]["value"], button["meta"]["label"]["id"]) == (address, 1010023)

    other = submit(mfa, "login", flow["id"], {"method": "code", "address": new_email()}, headers=headers)
    assert ids(other.json()) == [4000035]
    sent = submit(
        mfa, "login", flow["id"], {"address": address}, headers=headers
    )  # the button names no method
    assert (sent.status_code, sent.json()["state"], ids(sent.json())) == (400, "sent_email", [1010025])
    wrong = submit(mfa, "login", flow["id"], {"method": "code", "code": "00000"}, headers=headers)
    assert ids(wrong.json()) == [4010008]
    done = submit(
        mfa, "login", flow["id"], {"method": "code", "code": mailed_code(sink, address)}, headers=headers
    )
    assert done.status_code == 200, done.text
    session = done.json()["session"]
    assert session["authenticator_assurance_level"] == "aal2"
    assert [(m["method"], m["aal"]) for m in session["authentication_methods"]] == [
        ("password", "aal1"),
        ("code", "aal2"),
    ]
    assert HTTP.get(f"{mfa.public_url}/sessions/whoami", headers=headers).status_code == 200


def test_code_as_second_factor_in_a_browser(mfa: KratosProcess, sink: SmtpSink) -> None:
    address = new_email()
    create_identity(mfa, {"email": address})
    with httpx.Client(base_url=mfa.public_url) as browser:
        flow_id, token = open_browser_flow(browser, "login")
        first = browser.post(
            "/self-service/login",
            params={"flow": flow_id},
            data={"csrf_token": token, "method": "password", "identifier": address, "password": PASSWORD},
        )
        assert first.status_code == 303
        assert first.headers["location"].endswith("/self-service/login/browser?aal=aal2")
        flow_id, token = open_browser_flow(browser, "login", aal="aal2")
        sent = browser.post(
            "/self-service/login", params={"flow": flow_id}, data={"csrf_token": token, "address": address}
        )
        assert (sent.status_code, sent.headers["location"]) == (303, f"{UI}/login?flow={flow_id}")
        done = browser.post(
            "/self-service/login",
            params={"flow": flow_id},
            data={"csrf_token": token, "method": "code", "code": mailed_code(sink, address)},
        )
        assert done.status_code == 303, done.text
        assert browser.get("/sessions/whoami").json()["authenticator_assurance_level"] == "aal2"


def test_identifier_first_knows_an_identity_that_has_only_codes(
    tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink, gateway: HookTarget
) -> None:
    schema = json.loads((DATA / "identity.code.schema.json").read_text())
    del schema["properties"]["traits"]["properties"]["email"]["ory.sh/kratos"]["credentials"]["password"]
    only_codes = "base64://" + base64.b64encode(json.dumps(schema).encode()).decode()
    config = merged(
        code_config(sink, gateway, "passwordless_enabled"),
        {
            "identity": {"schemas": [{"id": "default", "url": only_codes}]},
            "selfservice": {"flows": {"login": {"style": "identifier_first"}}},
        },
    )
    workdir = tmp_path_factory.mktemp("identifier-first")
    server = KratosProcess(workdir, f"sqlite://{workdir}/kratos.sqlite?_fk=true", overrides=config)
    server.migrate()
    server.start()
    try:
        address = new_email()
        created = HTTP.post(
            f"{server.admin_url}/admin/identities",
            json={"schema_id": "default", "traits": {"email": address}},
        )
        assert created.status_code == 201, created.text
        assert set(created.json()["credentials"]) == {"code"}
        flow = HTTP.get(f"{server.public_url}/self-service/login/api").json()
        step = HTTP.post(
            f"{server.public_url}/self-service/login",
            params={"flow": flow["id"]},
            json={"method": "identifier_first", "identifier": address},
        ).json()
        messages = [m["id"] for n in step["ui"]["nodes"] for m in n["messages"]]
        assert 4000037 not in messages
        assert ("code", "submit") in {(n["group"], n["attributes"].get("type")) for n in step["ui"]["nodes"]}
        unknown = HTTP.post(
            f"{server.public_url}/self-service/login",
            params={"flow": flow["id"]},
            json={"method": "identifier_first", "identifier": new_email()},
        ).json()
        assert 4000037 in [m["id"] for n in unknown["ui"]["nodes"] for m in n["messages"]]
    finally:
        server.stop()
