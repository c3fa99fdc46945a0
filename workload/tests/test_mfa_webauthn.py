"""Security keys (``webauthn``) on the real server: in settings, as a second factor, and passwordless.

A software authenticator answers the options the nodes carry, as ``webauthn.js`` would post them; browsers
are cookie-keeping clients posting the forms.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from kratos_process import DATA, UI, KratosProcess
from server_fixtures import running_kratos
from webauthn_authenticator import SoftAuthenticator, corrupt_signature
from webauthn_browser import (
    ORIGIN,
    Browser,
    create_identity,
    key_config,
    message_ids,
    names,
    node,
    stored,
)

from kratos.identity.credentials.webauthn import WebAuthnConfig
from kratos.identity.model import Credentials, Identity
from kratos.persistence import migrate
from kratos.persistence.database import Database
from kratos.persistence.identities import IdentityRepository
from kratos.schema import SchemaRegistry, parse_schema
from kratos.selfservice.flow.model import Flow, FlowType, Kind
from kratos.selfservice.strategy.webauthn.ceremony import RelyingParty
from kratos.selfservice.strategy.webauthn.errors import WebAuthnError
from kratos.selfservice.strategy.webauthn.strategy import WebAuthnStrategy
from kratos.ui.node import Container


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KratosProcess]:
    """Security keys as second factors."""
    yield from running_kratos(request, tmp_path_factory, key_config())


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def passwordless(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KratosProcess]:
    """Security keys that sign in alone, with the identifier-first login the charm renders."""
    yield from running_kratos(
        request, tmp_path_factory, key_config(passwordless=True, style="identifier_first")
    )


def email() -> str:
    return f"key-{uuid.uuid4().hex[:10]}@example.com"


def add_key(browser: Browser, key: SoftAuthenticator, name: str = "YubiKey") -> httpx.Response:
    """Register a key in settings as the settings page's trigger does."""
    flow = browser.start("settings")
    trigger = node(flow, "webauthn_register_trigger")["attributes"]
    assert trigger["onclick"] == f"window.oryWebAuthnRegistration({trigger['value']})"
    created = key.create(trigger["value"], ORIGIN)
    return browser.post(
        "settings", flow, {"webauthn_register": created, "webauthn_register_displayname": name}
    )


def sign_count(server: KratosProcess, identity_id: str) -> list[int]:
    credential = stored(server, identity_id, "webauthn")
    assert credential is not None
    return [k["authenticator"]["sign_count"] for k in credential["config"]["credentials"]]


def second_factor_flow(
    server: KratosProcess, key: SoftAuthenticator, address: str
) -> tuple[Browser, dict[str, Any]]:
    """A browser signed in with the password, on its way to the second factor."""
    browser = Browser(server)
    first = browser.password_login(address)
    assert first.status_code == 303
    step_up = httpx.URL(first.headers["location"])
    assert (step_up.path, step_up.params["aal"]) == ("/self-service/login/browser", "aal2")
    flow = browser.shown("login", browser.http.get(str(step_up)))
    return browser, flow


def assertion(key: SoftAuthenticator, flow: dict[str, Any], origin: str = ORIGIN) -> str:
    return key.get(node(flow, "webauthn_login_trigger")["attributes"]["value"], origin)


def test_a_key_added_in_settings_is_the_second_factor_of_the_next_login(server: KratosProcess) -> None:
    address, key = email(), SoftAuthenticator()
    identity_id = create_identity(server, address)
    with Browser(server) as browser:
        assert browser.password_login(address).status_code == 303
        flow = browser.start("settings")
        assert {
            "webauthn:webauthn_register_displayname",
            "webauthn:webauthn_register",
            "webauthn:webauthn_script",
        } <= set(names(flow))
        script = node(flow, "webauthn_script")["attributes"]
        assert script["src"] == f"{server.public_url}/.well-known/ory/webauthn.js"
        served = browser.http.get("/.well-known/ory/webauthn.js")
        assert served.status_code == 200
        assert served.headers["content-type"].startswith("text/javascript")
        added = add_key(browser, key, "YubiKey 5")
        assert added.status_code == 303, added.text
        session = browser.whoami().json()
        assert session["authenticator_assurance_level"] == "aal2"  # the new key proved a second factor
        assert [m["method"] for m in session["authentication_methods"]] == ["password", "webauthn"]
    credential = stored(server, identity_id, "webauthn")
    assert credential is not None
    assert credential["identifiers"] == [address]
    (saved,) = credential["config"]["credentials"]
    assert (saved["display_name"], saved["is_passwordless"]) == ("YubiKey 5", False)
    assert credential["config"]["user_handle"]  # the identity id, as upstream

    browser, flow = second_factor_flow(server, key, address)
    with browser:
        assert node(flow, "identifier")["attributes"] == {
            "name": "identifier",
            "type": "hidden",
            "value": address,
            "disabled": False,
            "node_type": "input",
        }
        trigger = node(flow, "webauthn_login_trigger")
        assert trigger["meta"]["label"]["id"] == 1010008
        assert browser.whoami().status_code == 403
        done = browser.post("login", flow, {"identifier": address, "webauthn_login": assertion(key, flow)})
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"{UI}/"
        session = browser.whoami().json()
        assert session["authenticator_assurance_level"] == "aal2"
        assert [(m["method"], m["aal"]) for m in session["authentication_methods"]] == [
            ("password", "aal1"),
            ("webauthn", "aal2"),
        ]
    assert sign_count(server, identity_id) == [1]  # the registration's 0, then the login's 1


def test_refused_assertions_change_nothing(server: KratosProcess) -> None:
    address, key = email(), SoftAuthenticator()
    identity_id = create_identity(server, address)
    with Browser(server) as browser:
        assert add_key_after_login(browser, address, key).status_code == 303
    clone = key.clone()
    browser, flow = second_factor_flow(server, key, address)
    with browser:
        valid = assertion(key, flow)
        for bad in (assertion(key, flow, "http://evil.example"), corrupt_signature(assertion(key, flow))):
            refused = browser.post_json("login", flow, {"identifier": address, "webauthn_login": bad})
            assert refused.status_code == 400, refused.text
            assert message_ids(refused.json()) == [4000043]
        missing = browser.post_json("login", flow, {"webauthn_login": valid})
        assert message_ids(missing.json(), "identifier") == [4000002]
        assert browser.whoami().status_code == 403
        assert sign_count(server, identity_id) == [0]  # still the registration's counter
        other_browser, other_flow = second_factor_flow(server, key, address)
        with other_browser:  # an assertion answers its own flow's challenge only
            replayed = other_browser.post_json(
                "login", other_flow, {"identifier": address, "webauthn_login": valid}
            )
            assert message_ids(replayed.json()) == [4000043]
        assert (
            browser.post("login", flow, {"identifier": address, "webauthn_login": valid}).status_code == 303
        )
    counter = sign_count(server, identity_id)
    browser, flow = second_factor_flow(server, key, address)
    with browser:  # the clone signs with the counter the original had before that login
        cloned = browser.post_json(
            "login", flow, {"identifier": address, "webauthn_login": assertion(clone, flow)}
        )
        assert message_ids(cloned.json()) == [4000043]
        assert browser.whoami().status_code == 403
    assert sign_count(server, identity_id) == counter


def add_key_after_login(browser: Browser, address: str, key: SoftAuthenticator) -> httpx.Response:
    assert browser.password_login(address).status_code == 303
    return add_key(browser, key)


@pytest.fixture(params=["sqlite", "postgres"])
def dsn(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/race.sqlite"
    return request.getfixturevalue("postgres_dsn")


def test_two_logins_racing_with_one_assertion_do_not_both_pass(dsn: str) -> None:
    """Both read the keys and the flow before either stores the counter; the second finds them changed.

    The key is a synced passkey (its counter stays 0), so only the stored row's change refuses the race.
    """
    key = SoftAuthenticator(counter_step=0)
    rp = RelyingParty("localhost", "Example Corp", (ORIGIN,))

    async def scenario() -> None:
        db = await Database.open(dsn)
        try:
            await migrate.upgrade(db.engine)
            pool = IdentityRepository(db)
            schema = parse_schema("keys", (DATA / "identity.webauthn.schema.json").read_bytes())
            strategy = WebAuthnStrategy(
                pool, SchemaRegistry([schema], "keys"), rp, "http://127.0.0.1:4433/", passwordless=False
            )
            options = rp.registration_options(b"user-handle-0001")
            registered = rp.verify_registration(
                key.create(options.to_json(), ORIGIN), options.session, passwordless=False
            )
            config = WebAuthnConfig([registered.credential], registered.user_handle).to_json()
            address = "racer@example.com"
            identity = Identity(
                schema_id="keys",
                traits={"email": address},
                credentials={"webauthn": Credentials(type="webauthn", identifiers=[address], config=config)},
            )
            await pool.create_many([identity])
            first, second = await pool.get(identity.id), await pool.get(identity.id)
            assert first is not None
            assert second is not None
            now = datetime.now(UTC)
            flow = Flow(Kind.LOGIN, FlowType.BROWSER, "", now + timedelta(hours=1), Container(action=""))
            strategy.populate_second_factor(flow, first)
            other = Flow.from_storage(flow.id, deepcopy(flow.to_storage()), flow.updated_at)  # read meanwhile
            body = {"identifier": address, "webauthn_login": assertion(key, flow.to_json())}
            await strategy.verify_second_factor(flow, body, first)
            with pytest.raises(WebAuthnError) as refused:
                await strategy.verify_second_factor(other, body, second)
            assert refused.value.message.id == 4000043
        finally:
            await db.close()

    asyncio.run(scenario())


def test_keys_are_removed_in_settings_and_by_an_administrator(server: KratosProcess) -> None:
    address, key, spare = email(), SoftAuthenticator(), SoftAuthenticator()
    identity_id = create_identity(server, address)
    with Browser(server) as browser:
        assert add_key_after_login(browser, address, key).status_code == 303
        assert add_key(browser, spare, "spare").status_code == 303
        flow = browser.start("settings")
        removes = [n for n in flow["ui"]["nodes"] if n["attributes"].get("name") == "webauthn_remove"]
        assert [n["meta"]["label"]["context"]["display_name"] for n in removes] == ["YubiKey", "spare"]
        assert [n["meta"]["label"]["id"] for n in removes] == [1050018, 1050018]
        assert not any(n["attributes"]["disabled"] for n in removes)  # second factors can always go
        excluded = node(flow, "webauthn_register_trigger")["attributes"]["value"]
        assert excluded.count('"type":"public-key","id"') == 2  # both keys are excluded from a new one
        done = browser.post("settings", flow, {"webauthn_remove": removes[1]["attributes"]["value"]})
        assert done.status_code == 303, done.text
    credential = stored(server, identity_id, "webauthn")
    assert credential is not None
    assert [k["display_name"] for k in credential["config"]["credentials"]] == ["YubiKey"]
    deleted = httpx.delete(
        f"{server.admin_url}/admin/identities/{identity_id}/credentials/webauthn", timeout=30
    )
    assert deleted.status_code == 204
    assert stored(server, identity_id, "webauthn") is None
    with Browser(server) as browser:  # no second factor any more: the password is enough
        first = browser.password_login(address)
        assert first.headers["location"] == f"{UI}/"
        assert browser.whoami().json()["authenticator_assurance_level"] == "aal1"


def test_api_flows_offer_no_security_keys(server: KratosProcess) -> None:
    address, key = email(), SoftAuthenticator()
    create_identity(server, address)
    with Browser(server) as browser:
        assert add_key_after_login(browser, address, key).status_code == 303
    login = httpx.get(f"{server.public_url}/self-service/login/api").json()
    assert not [n for n in names(login) if n.startswith("webauthn:")]
    done = httpx.post(
        f"{server.public_url}/self-service/login",
        params={"flow": login["id"]},
        json={"method": "password", "identifier": address, "password": "a-Long-passphrase-42"},
    ).json()
    token = done["session_token"]
    aal2 = httpx.get(
        f"{server.public_url}/self-service/login/api",
        params={"aal": "aal2"},
        headers={"X-Session-Token": token},
    ).json()
    assert aal2["ui"]["nodes"] is None
    settings = httpx.get(f"{server.public_url}/self-service/settings/api", headers={"X-Session-Token": token})
    assert settings.status_code == 403  # the session is aal1 and the identity has a key


def test_a_passwordless_key_signs_in_after_the_identifier(passwordless: KratosProcess) -> None:
    server, address, key = passwordless, email(), SoftAuthenticator()
    identity_id = create_identity(server, address)
    with Browser(server) as browser:
        assert add_key_after_login(browser, address, key).status_code == 303
        assert browser.whoami().json()["authenticator_assurance_level"] == "aal1"  # a first factor
    (saved,) = (stored(server, identity_id, "webauthn") or {})["config"]["credentials"]
    assert saved["is_passwordless"] is True

    with Browser(server) as browser:
        flow = browser.start("login")
        flow = browser.shown(
            "login", browser.post("login", flow, {"method": "identifier_first", "identifier": address})
        )
        button = [
            n
            for n in flow["ui"]["nodes"]
            if n["group"] == "webauthn" and n["attributes"].get("value") == "webauthn"
        ]
        assert [b["meta"]["label"]["id"] for b in button] == [1010008]
        flow = browser.shown(
            "login", browser.post("login", flow, {"method": "webauthn", "identifier": address})
        )
        assert message_ids(flow) == [1010012]
        assert node(flow, "identifier")["attributes"]["type"] == "hidden"
        assert node(flow, "webauthn_login_trigger")["meta"]["label"]["id"] == 1010011
        done = browser.post("login", flow, {"identifier": address, "webauthn_login": assertion(key, flow)})
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"{UI}/"
        session = browser.whoami().json()
        assert [m["method"] for m in session["authentication_methods"]] == ["webauthn"]

    with Browser(server) as spa:  # a single-page app is told to reload the flow
        flow = spa.start("login")
        flow = spa.shown(
            "login", spa.post("login", flow, {"method": "identifier_first", "identifier": address})
        )
        answer = spa.post_json("login", flow, {"method": "webauthn", "identifier": address})
        assert answer.status_code == 422
        assert answer.json()["error"]["id"] == "browser_location_change_required"
        unknown = spa.post_json("login", flow, {"method": "webauthn", "identifier": email()})
        assert message_ids(unknown.json()) == [4000015]

    deleted = httpx.delete(
        f"{server.admin_url}/admin/identities/{identity_id}/credentials/webauthn", timeout=30
    )
    assert deleted.status_code == 204  # an administrator's delete keeps passwordless keys
    assert len((stored(server, identity_id, "webauthn") or {})["config"]["credentials"]) == 1


def test_sign_up_with_a_security_key_and_keep_the_last_one(passwordless: KratosProcess) -> None:
    server, address, key = passwordless, email(), SoftAuthenticator()
    with Browser(server) as browser:
        flow = browser.start("registration")
        flow = browser.shown(
            "registration", browser.post("registration", flow, {"method": "profile", "traits.email": address})
        )
        trigger = node(flow, "webauthn_register_trigger")
        assert trigger["meta"]["label"]["id"] == 1040004
        created = key.create(trigger["attributes"]["value"], ORIGIN)
        done = browser.post(
            "registration",
            flow,
            {
                "traits.email": address,
                "webauthn_register": created,
                "webauthn_register_displayname": "Touch ID",
            },
        )
        assert done.status_code == 303, done.text
        session = browser.whoami().json()
        assert [m["method"] for m in session["authentication_methods"]] == ["webauthn"]
        identity_id = session["identity"]["id"]
        settings = browser.start("settings")
        remove = node(settings, "webauthn_remove")
        assert remove["attributes"]["disabled"] is True  # the only way to sign in
        refused = browser.post_json("settings", settings, {"webauthn_remove": remove["attributes"]["value"]})
        assert refused.status_code == 400
        assert message_ids(refused.json(), "webauthn_remove") == [4000001]
    credential = stored(server, identity_id, "webauthn")
    assert credential is not None
    assert credential["identifiers"] == [address]
    assert [k["display_name"] for k in credential["config"]["credentials"]] == ["Touch ID"]
    api = httpx.get(f"{server.public_url}/self-service/registration/api").json()
    assert not [n for n in names(api) if n.startswith("webauthn:")]
