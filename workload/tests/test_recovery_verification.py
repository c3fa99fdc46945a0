"""Recovery and verification by code and by link, end to end: the server's courier sends real emails to an
SMTP server in-process, and the tests complete the flows with what those emails carry."""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import ory_kratos_client
import pytest
from kratos_process import FLOW_OVERRIDES, UI, KratosProcess, merged
from netutil import app_client
from server_fixtures import running_kratos
from smtp_sink import SmtpSink, plain_text

PASSWORD = "a-Long-passphrase-42"
HTTP = app_client()


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    """The SMTP server every test server's courier delivers to."""
    server = SmtpSink().start()
    yield server
    server.stop()


def flows_config(sink: SmtpSink, method: str) -> dict[str, Any]:
    """Recovery and verification by ``method``; a verified address to log in; a courier to ``sink``."""
    return merged(
        FLOW_OVERRIDES,
        {
            "selfservice": {
                "methods": {"link": {"enabled": True}, "code": {"config": {"max_submissions": 3}}},
                "flows": {
                    "recovery": {"enabled": True, "use": method, "ui_url": f"{UI}/recovery"},
                    "verification": {
                        "enabled": True,
                        "use": method,
                        "ui_url": f"{UI}/verification",
                        "notify_unknown_recipients": True,
                    },
                    "registration": {
                        "after": {
                            "password": {"hooks": [{"hook": "session"}, {"hook": "show_verification_ui"}]}
                        }
                    },
                    "login": {"after": {"password": {"hooks": [{"hook": "require_verified_address"}]}}},
                },
            },
            "courier": {
                "smtp": {
                    "connection_uri": f"smtp://127.0.0.1:{sink.port}/?disable_starttls=true",
                    "from_address": "accounts@example.com",
                    "from_name": "Example Accounts",
                },
                "worker": {"pull_wait": "100ms"},
            },
        },
    )


@pytest.fixture(
    scope="module",
    params=[("sqlite", "code"), ("postgres", "code"), ("sqlite", "link"), ("postgres", "link")],
    ids=lambda param: "-".join(param),
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[KratosProcess]:
    """A server per database and method whose courier runs in the serving process."""
    database, method = request.param
    config = flows_config(sink, method)
    yield from running_kratos(request, tmp_path_factory, config, "--watch-courier", database=database)


def method_of(server: KratosProcess) -> str:
    """The method the server's recovery and verification use."""
    return server.overrides["selfservice"]["flows"]["recovery"]["use"]


def email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def wait_for_email(sink: SmtpSink, to: str, count: int = 1, timeout: float = 15.0) -> list[Any]:
    """The messages ``to`` received, once there are ``count`` of them."""
    return sink.wait_for(to, count, timeout)


def secret_in(message: Any, method: str) -> str:
    """The code, or the link's URL, an email carries."""
    text = plain_text(message)
    if method == "code":
        found = re.search(r"\b(\d{6})\b", text)
    else:
        found = re.search(r"(https?://\S+token=\S+)", text)
    assert found, text
    return found.group(1)


def create_identity(server: KratosProcess, address: str, password: str | None = PASSWORD) -> dict[str, Any]:
    body: dict[str, Any] = {"schema_id": "default", "traits": {"email": address}}
    if password:
        body["credentials"] = {"password": {"config": {"password": password}}}
    response = HTTP.post(f"{server.admin_url}/admin/identities", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def submit(server: KratosProcess, kind: str, flow_id: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
    return HTTP.post(f"{server.public_url}/self-service/{kind}", params={"flow": flow_id}, json=body, **kw)


def api_flow(server: KratosProcess, kind: str) -> dict[str, Any]:
    response = HTTP.get(f"{server.public_url}/self-service/{kind}/api")
    assert response.status_code == 200, response.text
    return response.json()


def ids(flow: dict[str, Any]) -> list[int]:
    return [m["id"] for m in flow["ui"].get("messages", [])]


def use_link(client: httpx.Client, server: KratosProcess, link: str) -> httpx.Response:
    assert link.startswith(server.public_url), link
    return client.get(link, follow_redirects=False)


# recovery


def test_recovery_api_flow_sends_the_secret_and_signs_in(server: KratosProcess, sink: SmtpSink) -> None:
    method = method_of(server)
    address = email()
    create_identity(server, address)
    flow = api_flow(server, "recovery")
    assert flow["state"] == "choose_method"
    assert [n["attributes"]["name"] for n in flow["ui"]["nodes"]] == ["csrf_token", "email", "method"]

    sent = submit(server, "recovery", flow["id"], {"method": method, "email": address.upper()})
    assert sent.status_code == 200, sent.text
    assert sent.json()["state"] == "sent_email"
    assert ids(sent.json()) == [1060003 if method == "code" else 1060002]

    message = wait_for_email(sink, address)[0]
    assert message["From"] == "Example Accounts <accounts@example.com>"
    secret = secret_in(message, method)
    if method == "code":
        wrong = submit(server, "recovery", flow["id"], {"method": "code", "code": "000000"})
        assert wrong.status_code == 200
        assert ids(wrong.json()) == [4060006]
        done = submit(server, "recovery", flow["id"], {"method": "code", "code": secret})
    else:
        done = HTTP.get(secret, headers={"Accept": "application/json"})
    assert done.status_code == 422, done.text
    redirect = done.json()["redirect_browser_to"]
    assert redirect.startswith(f"{UI}/settings?flow=")

    again = submit(
        server, "recovery", flow["id"], {"method": method, method_field(method): secret_value(secret)}
    )
    assert ids(again.json()) == [4060001]


def method_field(method: str) -> str:
    return "code" if method == "code" else "token"


def secret_value(secret: str) -> str:
    return secret if secret.isdigit() else secret.split("token=")[1].split("&")[0]


def test_recovery_in_a_browser_leads_to_settings_with_a_privileged_session(
    server: KratosProcess, sink: SmtpSink
) -> None:
    method = method_of(server)
    address = email()
    create_identity(server, address, password=None)
    with httpx.Client() as browser:
        start = browser.get(f"{server.public_url}/self-service/recovery/browser")
        assert start.status_code == 303
        assert start.headers["location"].startswith(f"{UI}/recovery?flow=")
        flow_id = start.headers["location"].split("flow=")[1]
        flow = browser.get(f"{server.public_url}/self-service/recovery/flows", params={"id": flow_id}).json()
        csrf = next(n for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token")["attributes"][
            "value"
        ]
        form = {"method": method, "email": address, "csrf_token": csrf}
        posted = browser.post(
            f"{server.public_url}/self-service/recovery", params={"flow": flow_id}, data=form
        )
        assert posted.status_code == 303
        assert posted.headers["location"] == f"{UI}/recovery?flow={flow_id}"
        secret = secret_in(wait_for_email(sink, address)[0], method)
        if method == "code":
            done = browser.post(
                f"{server.public_url}/self-service/recovery",
                params={"flow": flow_id},
                data={"method": "code", "code": secret, "csrf_token": csrf},
            )
        else:
            done = use_link(browser, server, secret)
        assert done.status_code == 303, done.text
        settings_url = done.headers["location"]
        assert settings_url.startswith(f"{UI}/settings?flow=")

        whoami = browser.get(f"{server.public_url}/sessions/whoami").json()
        assert [m["method"] for m in whoami["authentication_methods"]] == [f"{method}_recovery"]
        assert whoami["identity"]["verifiable_addresses"][0]["verified"] is True

        settings_id = settings_url.split("flow=")[1]
        settings = browser.get(f"{server.public_url}/self-service/settings/flows", params={"id": settings_id})
        settings_flow = settings.json()
        assert ids(settings_flow) == [1060001]
        token = next(n for n in settings_flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token")
        changed = browser.post(
            f"{server.public_url}/self-service/settings",
            params={"flow": settings_id},
            json={"method": "password", "password": PASSWORD, "csrf_token": token["attributes"]["value"]},
            headers={"Accept": "application/json"},
        )
        assert changed.status_code == 200, changed.text

    with ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=server.public_url)) as client:
        frontend = ory_kratos_client.FrontendApi(client)
        login = frontend.create_native_login_flow()
        body = ory_kratos_client.UpdateLoginFlowBody(
            ory_kratos_client.UpdateLoginFlowWithPasswordMethod(
                method="password", identifier=address, password=PASSWORD
            )
        )
        assert frontend.update_login_flow(login.id, body).session.identity.traits["email"] == address


def test_an_unknown_address_gets_the_same_answer_and_no_recovery_secret(
    server: KratosProcess, sink: SmtpSink
) -> None:
    method = method_of(server)
    known, unknown = email(), email()
    create_identity(server, known)
    answers = []
    for address in (known, unknown):
        flow = api_flow(server, "recovery")
        answer = submit(server, "recovery", flow["id"], {"method": method, "email": address}).json()
        answers.append((answer["state"], ids(answer)))
    assert answers[0] == answers[1]
    wait_for_email(sink, known)
    time.sleep(0.5)
    assert not [r for r in sink.received if unknown in r.rcpt_tos]  # notify_unknown_recipients is off


def test_codes_are_stored_as_hmacs_and_guessing_is_bounded(server: KratosProcess, sink: SmtpSink) -> None:
    if method_of(server) != "code":
        pytest.skip("the bound on guesses is the code method's")
    address = email()
    create_identity(server, address)
    flow = api_flow(server, "recovery")
    submit(server, "recovery", flow["id"], {"method": "code", "email": address})
    code = secret_in(wait_for_email(sink, address)[0], "code")
    if server.dsn.startswith("sqlite"):
        path = server.dsn.removeprefix("sqlite://").split("?")[0]
        with sqlite3.connect(path) as db:
            stored = [row[0] for row in db.execute("SELECT digest FROM selfservice_codes")]
        assert stored
        assert code not in stored
        assert all(len(d) == 64 for d in stored)
    for _ in range(3):
        assert ids(submit(server, "recovery", flow["id"], {"method": "code", "code": "999999"}).json()) == [
            4060006
        ]
    refused = submit(server, "recovery", flow["id"], {"method": "code", "code": code}).json()
    assert ids(refused) == [4000001]
    assert "too often" in refused["ui"]["messages"][0]["text"]


def test_admin_recovery_code_and_link(server: KratosProcess) -> None:
    address = email()
    identity = create_identity(server, address)
    with ory_kratos_client.ApiClient(ory_kratos_client.Configuration(host=server.admin_url)) as client:
        admin = ory_kratos_client.IdentityApi(client)
        code = admin.create_recovery_code_for_identity(
            ory_kratos_client.CreateRecoveryCodeForIdentityBody(identity_id=identity["id"], expires_in="10m")
        )
        link = admin.create_recovery_link_for_identity(
            create_recovery_link_for_identity_body=ory_kratos_client.CreateRecoveryLinkForIdentityBody(
                identity_id=identity["id"], expires_in="10m"
            )
        )
    assert re.fullmatch(r"\d{6}", code.recovery_code)
    assert code.recovery_link.startswith(f"{UI}/recovery?flow=")
    flow_id = code.recovery_link.split("flow=")[1]
    with httpx.Client() as browser:
        flow = browser.get(f"{server.public_url}/self-service/recovery/flows", params={"id": flow_id}).json()
        assert flow["state"] == "sent_email"
        assert [n["attributes"]["name"] for n in flow["ui"]["nodes"]] == ["code", "method"]
        done = browser.post(
            f"{server.public_url}/self-service/recovery",
            params={"flow": flow_id},
            data={"method": "code", "code": code.recovery_code},
        )
        assert done.status_code == 303
        assert done.headers["location"].startswith(f"{UI}/settings?flow=")
        assert browser.get(f"{server.public_url}/sessions/whoami").status_code == 200

    assert link.recovery_link.startswith(f"{server.public_url}/self-service/recovery?")
    with httpx.Client() as browser:
        done = use_link(browser, server, link.recovery_link)
        assert done.status_code == 303
        assert done.headers["location"].startswith(f"{UI}/settings?flow=")
        whoami = browser.get(f"{server.public_url}/sessions/whoami").json()
        assert [m["method"] for m in whoami["authentication_methods"]] == ["link_recovery"]
        # an administrator's link proves no address
        assert whoami["identity"]["verifiable_addresses"][0]["verified"] is False
        assert use_link(httpx.Client(), server, link.recovery_link).status_code in (200, 303)


def test_admin_recovery_refuses_bad_input(server: KratosProcess) -> None:
    url = f"{server.admin_url}/admin/recovery/code"
    assert HTTP.post(url, json={"identity_id": str(uuid.uuid4())}).status_code == 404
    assert HTTP.post(url, json={"identity_id": "nope"}).status_code == 400
    bad = HTTP.post(url, json={"identity_id": str(uuid.uuid4()), "expires_in": "bogus"})
    assert bad.status_code == 400
    assert "expires_in" in bad.json()["error"]["reason"]
    assert HTTP.post(url, content=b"{not json").status_code == 400


def test_an_expired_admin_code_is_refused(server: KratosProcess) -> None:
    identity = create_identity(server, email())
    code = HTTP.post(
        f"{server.admin_url}/admin/recovery/code", json={"identity_id": identity["id"], "expires_in": "1s"}
    ).json()
    time.sleep(1.2)
    flow_id = code["recovery_link"].split("flow=")[1]
    refused = HTTP.post(
        f"{server.public_url}/self-service/recovery",
        params={"flow": flow_id},
        json={"method": "code", "code": code["recovery_code"]},
    )
    assert refused.status_code in (200, 410), refused.text


# verification


def test_registration_sends_a_verification_message_and_its_secret_verifies(
    server: KratosProcess, sink: SmtpSink
) -> None:
    method = method_of(server)
    address = email()
    flow = api_flow(server, "registration")
    registered = submit(
        server,
        "registration",
        flow["id"],
        {"method": "password", "traits": {"email": address}, "password": PASSWORD},
    ).json()
    shown = [c for c in registered["continue_with"] if c["action"] == "show_verification_ui"]
    assert shown
    assert shown[0]["flow"]["verifiable_address"] == address
    identity_id = registered["identity"]["id"]
    admin = HTTP.get(f"{server.admin_url}/admin/identities/{identity_id}").json()
    assert admin["verifiable_addresses"][0]["status"] == "sent"

    login = api_flow(server, "login")
    refused = submit(
        server, "login", login["id"], {"method": "password", "identifier": address, "password": PASSWORD}
    )
    assert refused.status_code == 400
    assert ids(refused.json()) == [4000010]

    secret = secret_in(wait_for_email(sink, address)[0], method)
    verification_id = shown[0]["flow"]["id"]
    if method == "code":
        wrong = submit(server, "verification", verification_id, {"method": "code", "code": "000000"})
        assert ids(wrong.json()) == [4070006]
        done = submit(server, "verification", verification_id, {"method": "code", "code": secret})
        assert done.status_code == 200, done.text
        passed = done.json()
    else:
        assert use_link(httpx.Client(), server, secret).status_code == 303
        passed = HTTP.get(
            f"{server.public_url}/self-service/verification/flows", params={"id": verification_id}
        ).json()
    assert passed["state"] == "passed_challenge"
    assert ids(passed) == [1080002]
    assert passed["ui"]["nodes"][0]["type"] == "a"

    address_row = HTTP.get(f"{server.admin_url}/admin/identities/{identity_id}").json()[
        "verifiable_addresses"
    ][0]
    assert address_row["verified"] is True
    assert address_row["status"] == "completed"
    assert address_row["verified_at"]
    login = api_flow(server, "login")
    allowed = submit(
        server, "login", login["id"], {"method": "password", "identifier": address, "password": PASSWORD}
    )
    assert allowed.status_code == 200, allowed.text


def test_verification_flow_for_any_address_and_unknown_recipients(
    server: KratosProcess, sink: SmtpSink
) -> None:
    method = method_of(server)
    address, stranger = email(), email()
    create_identity(server, address)
    for target in (address, stranger):
        flow = api_flow(server, "verification")
        assert [n["attributes"]["name"] for n in flow["ui"]["nodes"]] == ["email", "method"]
        sent = submit(server, "verification", flow["id"], {"method": method, "email": target})
        assert sent.status_code == 200
        assert sent.json()["state"] == "sent_email"
    warning = wait_for_email(sink, stranger)[0]  # notify_unknown_recipients: the invalid template
    assert not re.search(r"\b\d{6}\b", plain_text(warning))
    assert "token=" not in plain_text(warning)
    assert secret_in(wait_for_email(sink, address)[0], method)
    missing = submit(server, "verification", api_flow(server, "verification")["id"], {"method": method})
    assert missing.status_code == 400
    assert missing.json()["ui"]["nodes"][0]["messages"][0]["id"] == 4000002


def test_a_code_link_fills_in_the_browser_form(server: KratosProcess, sink: SmtpSink) -> None:
    if method_of(server) != "code":
        pytest.skip("links of the link method verify at once")
    address = email()
    create_identity(server, address)
    with httpx.Client() as browser:
        flow = browser.get(
            f"{server.public_url}/self-service/verification/browser", headers={"Accept": "application/json"}
        ).json()
        csrf = next(n for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token")["attributes"][
            "value"
        ]
        browser.post(
            f"{server.public_url}/self-service/verification",
            params={"flow": flow["id"]},
            data={"method": "code", "email": address, "csrf_token": csrf},
        )
        message = wait_for_email(sink, address)[0]
        link = re.search(r"(https?://\S+/self-service/verification\?\S+)", plain_text(message))
        assert link
        opened = browser.get(link.group(1))
        assert opened.status_code == 303
        assert opened.headers["location"] == f"{UI}/verification?flow={flow['id']}"
        filled = browser.get(
            f"{server.public_url}/self-service/verification/flows", params={"id": flow["id"]}
        ).json()
        code_node = next(n for n in filled["ui"]["nodes"] if n["attributes"]["name"] == "code")
        assert code_node["attributes"]["value"] == secret_in(message, "code")


def test_a_changed_email_in_settings_is_verified_again(server: KratosProcess, sink: SmtpSink) -> None:
    method = method_of(server)
    old, new = email(), email()
    identity = create_identity(server, old)
    address = identity["verifiable_addresses"][0]
    patched = HTTP.patch(
        f"{server.admin_url}/admin/identities/{identity['id']}",
        json=[
            {"op": "replace", "path": "/verifiable_addresses/0/verified", "value": True},
            {"op": "replace", "path": "/verifiable_addresses/0/status", "value": "completed"},
        ],
    )
    assert patched.status_code == 200, patched.text
    assert address["value"] == old
    login = api_flow(server, "login")
    signed_in = submit(
        server, "login", login["id"], {"method": "password", "identifier": old, "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["session_token"]
    headers = {"X-Session-Token": token}
    settings = HTTP.get(f"{server.public_url}/self-service/settings/api", headers=headers).json()
    changed = submit(
        server, "settings", settings["id"], {"method": "profile", "traits": {"email": new}}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    shown = changed.json()["continue_with"]
    assert shown[0]["action"] == "show_verification_ui"
    assert shown[0]["flow"]["verifiable_address"] == new
    assert secret_in(wait_for_email(sink, new)[0], method)
    now = HTTP.get(f"{server.admin_url}/admin/identities/{identity['id']}").json()["verifiable_addresses"]
    assert [(a["value"], a["verified"], a["status"]) for a in now] == [(new, False, "sent")]


def test_the_official_sdk_reads_every_recovery_and_verification_answer(
    server: KratosProcess, sink: SmtpSink
) -> None:
    """The SDK's models parse each step's flow (nodes, messages, continue_with) as a client sees them."""
    method = method_of(server)
    address = email()
    create_identity(server, address)
    sdk = ory_kratos_client
    with sdk.ApiClient(sdk.Configuration(host=server.public_url)) as client:
        frontend = sdk.FrontendApi(client)
        body_type = {
            "code": sdk.UpdateVerificationFlowWithCodeMethod,
            "link": sdk.UpdateVerificationFlowWithLinkMethod,
        }
        verification = frontend.create_native_verification_flow()
        sent = frontend.update_verification_flow(
            verification.id, sdk.UpdateVerificationFlowBody(body_type[method](method=method, email=address))
        )
        assert sent.state == "sent_email"
        secret = secret_in(wait_for_email(sink, address)[0], method)
        if method == "code":
            passed = frontend.update_verification_flow(
                verification.id, sdk.UpdateVerificationFlowBody(body_type[method](method="code", code=secret))
            )
        else:
            use_link(httpx.Client(), server, secret)
            passed = frontend.get_verification_flow(verification.id)
        assert passed.state == "passed_challenge"
        assert passed.ui.nodes[0].attributes.actual_instance.href

        recovery = frontend.create_native_recovery_flow()
        recovery_type = {
            "code": sdk.UpdateRecoveryFlowWithCodeMethod,
            "link": sdk.UpdateRecoveryFlowWithLinkMethod,
        }
        asked = frontend.update_recovery_flow(
            recovery.id, sdk.UpdateRecoveryFlowBody(recovery_type[method](method=method, email=address))
        )
        assert asked.state == "sent_email"
        assert [m.id for m in asked.ui.messages or []] == [1060003 if method == "code" else 1060002]


def test_disabled_flows_answer_as_upstream(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> None:
    """Without recovery and verification, their endpoints answer 400 (browsers go to the error UI)."""
    for kratos in running_kratos(request, tmp_path_factory, FLOW_OVERRIDES, database="sqlite"):
        api = HTTP.get(f"{kratos.public_url}/self-service/recovery/api")
        assert api.status_code == 400
        assert api.json()["error"]["reason"] == "Recovery is not allowed because it was disabled."
        browser = HTTP.get(f"{kratos.public_url}/self-service/verification/browser", follow_redirects=False)
        assert browser.status_code == 303
        assert browser.headers["location"].startswith(f"{UI}/error?id=")


def test_the_login_verification_hook_sends_a_message_to_an_unverified_address(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, sink: SmtpSink
) -> None:
    config = merged(
        flows_config(sink, "code"),
        {
            "selfservice": {
                "flows": {
                    "login": {
                        "after": {
                            "password": {
                                "hooks": [{"hook": "verification"}, {"hook": "show_verification_ui"}]
                            }
                        }
                    }
                }
            }
        },
    )
    for kratos in running_kratos(request, tmp_path_factory, config, "--watch-courier", database="sqlite"):
        address = email()
        create_identity(kratos, address)
        login = api_flow(kratos, "login")
        signed_in = submit(
            kratos, "login", login["id"], {"method": "password", "identifier": address, "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        shown = [c for c in signed_in.json()["continue_with"] if c["action"] == "show_verification_ui"]
        assert shown[0]["flow"]["verifiable_address"] == address
        assert secret_in(wait_for_email(sink, address)[0], "code")


def test_a_browser_registration_goes_on_to_a_verification_flow_it_may_read(server: KratosProcess) -> None:
    with httpx.Client() as browser:
        flow = browser.get(
            f"{server.public_url}/self-service/registration/browser", headers={"Accept": "application/json"}
        ).json()
        csrf = next(n for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token")["attributes"][
            "value"
        ]
        form = {"method": "password", "traits.email": email(), "password": PASSWORD, "csrf_token": csrf}
        done = browser.post(
            f"{server.public_url}/self-service/registration", params={"flow": flow["id"]}, data=form
        )
        assert done.status_code == 303
        assert done.headers["location"].startswith(f"{UI}/verification?flow=")
        verification_id = done.headers["location"].split("flow=")[1]
        shown = browser.get(
            f"{server.public_url}/self-service/verification/flows", params={"id": verification_id}
        )
        assert shown.status_code == 200, shown.text
        assert shown.json()["state"] == "sent_email"
