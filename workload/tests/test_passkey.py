"""Passkeys on the real server: sign-up, sign-in by the returned user handle, settings.

A software authenticator keeps discoverable credentials and answers what the nodes carry, as
``webauthn.js`` posts it; browsers are cookie-keeping clients posting the forms.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from kratos_process import UI, KratosProcess
from server_fixtures import running_kratos
from webauthn_authenticator import SoftAuthenticator, corrupt_signature
from webauthn_browser import ORIGIN, Browser, key_config, message_ids, names, node, stored


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KratosProcess]:
    """Passkeys next to passwords (and security keys as second factors)."""
    yield from running_kratos(request, tmp_path_factory, key_config(passkey=True))


def email() -> str:
    return f"passkey-{uuid.uuid4().hex[:10]}@example.com"


def sign_up(server: KratosProcess, key: SoftAuthenticator, address: str) -> str:
    """Register with a passkey through both registration screens; the new identity's id."""
    with Browser(server) as browser:
        flow = browser.start("registration")
        flow = browser.shown(
            "registration", browser.post("registration", flow, {"method": "profile", "traits.email": address})
        )
        data = json.loads(node(flow, "passkey_create_data")["attributes"]["value"])
        assert data["displayNameFieldName"] == "traits.email"
        assert data["displayNameFieldNames"] == ["traits.email"]
        assert data["credentialOptions"]["publicKey"]["authenticatorSelection"]["residentKey"] == "required"
        trigger = node(flow, "passkey_register_trigger")
        assert trigger["meta"]["label"]["id"] == 1040007
        assert trigger["attributes"]["onclick"] == "window.oryPasskeyRegistration()"
        assert "webauthn:webauthn_script" in names(flow)
        created = key.create(data, ORIGIN, resident=True)
        done = browser.post("registration", flow, {"traits.email": address, "passkey_register": created})
        assert done.status_code == 303, done.text
        session = browser.whoami().json()
        assert [m["method"] for m in session["authentication_methods"]] == ["passkey"]
        return session["identity"]["id"]


def passkey_login(browser: Browser, key: SoftAuthenticator, *, json_answer: bool = False) -> httpx.Response:
    """Sign in with the passkey the authenticator offers for the login flow's discoverable challenge."""
    flow = browser.start("login")
    answer = key.get(node(flow, "passkey_challenge")["attributes"]["value"], ORIGIN)
    post = browser.post_json if json_answer else browser.post
    return post("login", flow, {"passkey_login": answer})


def test_sign_up_and_sign_in_with_a_passkey(server: KratosProcess) -> None:
    address, key = email(), SoftAuthenticator()
    identity_id = sign_up(server, key, address)
    credential = stored(server, identity_id, "passkey")
    assert credential is not None
    (handle,) = credential["identifiers"]
    assert re.fullmatch(r"[A-Za-z0-9]{64}", handle)
    assert base64.b64decode(credential["config"]["user_handle"]) == handle.encode()
    (saved,) = credential["config"]["credentials"]
    assert saved["is_passwordless"] is True

    with Browser(server) as browser:
        flow = browser.start("login")
        challenge = json.loads(node(flow, "passkey_challenge")["attributes"]["value"])
        assert "allowCredentials" not in challenge["publicKey"]  # the authenticator picks the account
        assert node(flow, "passkey_login")["attributes"]["onloadTrigger"] == "oryPasskeyLoginAutocompleteInit"
        assert node(flow, "passkey_login_trigger")["meta"]["label"]["id"] == 1010021
        assert node(flow, "identifier")["attributes"]["autocomplete"] == "username webauthn"
        done = browser.post("login", flow, {"passkey_login": key.get(challenge, ORIGIN)})
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"{UI}/"
        session = browser.whoami().json()
        assert session["identity"]["id"] == identity_id
        assert [m["method"] for m in session["authentication_methods"]] == ["passkey"]
    saved = (stored(server, identity_id, "passkey") or {})["config"]["credentials"][0]
    assert saved["authenticator"]["sign_count"] == 1

    with Browser(server) as browser:
        flow = browser.start("login")
        forged = corrupt_signature(key.get(node(flow, "passkey_challenge")["attributes"]["value"], ORIGIN))
        refused = browser.post_json("login", flow, {"passkey_login": forged})
        assert refused.status_code == 400
        assert message_ids(refused.json()) == [4000043]
        stranger = SoftAuthenticator()  # holds a passkey for this site that was never registered
        stranger.create(
            {
                "publicKey": {
                    "rp": {"id": "localhost", "name": "Example Corp"},
                    "user": {"id": base64.urlsafe_b64encode(b"z" * 48).decode(), "name": address},
                    "challenge": "AAAA",
                    "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
                }
            },
            ORIGIN,
            resident=True,
        )
        unknown = passkey_login(browser, stranger, json_answer=True)
        assert message_ids(unknown.json()) == [4000015]
        assert browser.whoami().status_code == 401


def test_apps_get_passkey_nodes_without_scripts_and_sign_in(server: KratosProcess) -> None:
    """As upstream v26.2.0: API flows keep the passkey nodes and their triggers, not the JavaScript."""
    address, key = email(), SoftAuthenticator()
    identity_id = sign_up(server, key, address)
    public = server.public_url
    registration = httpx.get(f"{public}/self-service/registration/api").json()
    second = httpx.post(
        f"{public}/self-service/registration",
        params={"flow": registration["id"]},
        json={"method": "profile", "traits": {"email": email()}},
    )
    assert second.status_code == 400
    trigger = node(second.json(), "passkey_register_trigger")["attributes"]
    assert (trigger["onclickTrigger"], "onclick" in trigger) == ("oryPasskeyRegistration", False)
    assert "passkey:passkey_create_data" in names(second.json())

    login = httpx.get(f"{public}/self-service/login/api").json()
    assert not [n for n in names(login) if n.startswith("webauthn:")]  # no script, no security keys
    assert "onload" not in node(login, "passkey_login")["attributes"]
    assert "onclick" not in node(login, "passkey_login_trigger")["attributes"]
    answer = key.get(node(login, "passkey_challenge")["attributes"]["value"], ORIGIN)
    done = httpx.post(
        f"{public}/self-service/login",
        params={"flow": login["id"]},
        json={"method": "passkey", "passkey_login": answer},
    )
    assert done.status_code == 200, done.text
    assert done.json()["session"]["identity"]["id"] == identity_id
    assert done.json()["session_token"]


def test_passkeys_are_added_and_removed_in_settings_but_never_the_last(server: KratosProcess) -> None:
    address, laptop, phone = email(), SoftAuthenticator(), SoftAuthenticator()
    identity_id = sign_up(server, laptop, address)
    with Browser(server) as browser:
        assert passkey_login(browser, laptop).status_code == 303
        flow = browser.start("settings")
        remove = node(flow, "passkey_remove")
        assert remove["attributes"]["disabled"] is True  # the only way to sign in
        assert remove["meta"]["label"]["id"] == 1050020
        refused = browser.post_json("settings", flow, {"passkey_remove": remove["attributes"]["value"]})
        assert refused.status_code == 400
        assert message_ids(refused.json(), "passkey_remove") == [4000001]

        options = json.loads(node(flow, "passkey_create_data")["attributes"]["value"])
        assert options["publicKey"]["user"]["name"] == address
        assert len(options["publicKey"]["excludeCredentials"]) == 1
        trigger = node(flow, "passkey_register_trigger")
        assert trigger["attributes"]["onclick"] == "window.oryPasskeySettingsRegistration()"
        created = phone.create(options, ORIGIN, resident=True)
        added = browser.post("settings", flow, {"passkey_settings_register": created})
        assert added.status_code == 303, added.text

        flow = browser.start("settings")
        removes = [n for n in flow["ui"]["nodes"] if n["attributes"].get("name") == "passkey_remove"]
        assert [n["attributes"]["disabled"] for n in removes] == [False, False]
        done = browser.post("settings", flow, {"passkey_remove": remove["attributes"]["value"]})
        assert done.status_code == 303, done.text
    credential = stored(server, identity_id, "passkey")
    assert credential is not None
    assert len(credential["identifiers"]) == 2  # each passkey was made with its own user handle
    assert len(credential["config"]["credentials"]) == 1

    with Browser(server) as browser:
        removed = passkey_login(browser, laptop, json_answer=True)
        assert message_ids(removed.json()) == [4000043]
        assert passkey_login(browser, phone).status_code == 303
        assert browser.whoami().json()["identity"]["id"] == identity_id
