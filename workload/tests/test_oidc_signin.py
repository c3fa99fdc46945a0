"""Social sign-in end to end: a real OpenID provider on loopback (authlib), the real server, a browser.

Registration and login by the same button, the provider's claims mapped by Jsonnet, tokens stored
encrypted, and every refusal upstream makes: forged, missing or other-browser states, replayed callbacks,
a wrong nonce, a provider that says no or is down, and unverified email addresses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kratos_process import UI, KratosProcess
from oidc_helpers import CIPHER_SECRET, PROVIDER_ID, Browser, message_texts, messages, oidc_server, query
from oidc_provider import OpenIdProvider

from kratos.hash.cipher import XChaCha20Poly1305Cipher


@pytest.fixture(scope="module")
def provider() -> Iterator[OpenIdProvider]:
    with OpenIdProvider() as running:
        yield running


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, provider: OpenIdProvider
) -> Iterator[KratosProcess]:
    hints = {"selfservice": {"flows": {"registration": {"login_hints": True}}}}
    yield from oidc_server(request, tmp_path_factory, provider, config=hints, pkce="auto")


@pytest.fixture(scope="module")
def identifier_first(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, provider: OpenIdProvider
) -> Iterator[KratosProcess]:
    style = {"selfservice": {"flows": {"login": {"style": "identifier_first"}}}}
    offline = {  # an issuer nobody answers for
        "id": "offline",
        "provider": "generic",
        "client_id": "c",
        "client_secret": "s",
        "issuer_url": "http://127.0.0.1:9/issuer",
        "mapper_url": "base64://e30=",
    }
    yield from oidc_server(
        request, tmp_path_factory, provider, database="sqlite", config=style, also=[offline]
    )


@pytest.fixture
def browser(server: KratosProcess, provider: OpenIdProvider) -> Iterator[Browser]:
    provider.deny = None
    provider.wrong_nonce = provider.down = False
    client = Browser(server)
    yield client
    client.close()


_COUNTER = iter(range(10**6))


def new_user(provider: OpenIdProvider, *, verified: bool = True, **claims: Any) -> dict[str, Any]:
    number = next(_COUNTER)
    provider.user = {
        "sub": f"subject-{number}-{id(provider)}",
        "email": f"social-{number}-{id(provider)}@example.com",
        "email_verified": verified,
        "name": "Ada",
        **claims,
    }
    return provider.user


def identity_of(server: KratosProcess, identity_id: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{server.admin_url}/admin/identities/{identity_id}", params={"include_credential": "oidc"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_button_registers_a_new_account_then_signs_it_in(
    server: KratosProcess, provider: OpenIdProvider, browser: Browser
) -> None:
    user = new_user(provider)
    flow = browser.start("login")
    buttons = [n for n in flow["ui"]["nodes"] if n["group"] == "oidc"]
    assert [(b["attributes"]["name"], b["attributes"]["value"]) for b in buttons] == [
        ("provider", PROVIDER_ID)
    ]
    assert buttons[0]["meta"]["label"] == {
        "id": 1010002,
        "text": "Sign in with Loopback",
        "type": "info",
        "context": {"provider": "Loopback", "provider_id": PROVIDER_ID},
    }
    to_provider = browser.submit(flow, provider=PROVIDER_ID)
    assert to_provider.status_code == 303
    authorize = query(to_provider.headers["location"])
    assert to_provider.headers["location"].startswith(provider.issuer)
    assert authorize["client_id"] == "kratos-client"
    assert (
        authorize["redirect_uri"] == f"{server.public_url}/self-service/methods/oidc/callback/{PROVIDER_ID}"
    )
    assert authorize["code_challenge_method"] == "S256"  # discovery advertises S256 (pkce: auto)
    assert authorize["nonce"]
    assert authorize["state"]
    assert set(authorize["scope"].split()) == {"openid", "email", "profile"}
    assert "ory_kratos_continuity" in to_provider.cookies
    done = browser.follow(to_provider)
    assert done.status_code == 303
    assert done.headers["location"] == UI + "/"
    whoami = browser.whoami().json()
    identity = whoami["identity"]
    assert identity["traits"] == {"email": user["email"], "name": {"first": "Ada"}}
    assert identity["metadata_public"] == {"provider_subject": user["sub"]}
    assert [(a["value"], a["verified"], a["status"]) for a in identity["verifiable_addresses"]] == [
        (user["email"], True, "completed")
    ]
    assert [(m["method"], m["aal"], m.get("provider")) for m in whoami["authentication_methods"]] == [
        ("oidc", "aal1", PROVIDER_ID)
    ]
    stored = identity_of(server, identity["id"])["credentials"]["oidc"]
    assert stored["identifiers"] == [f"{PROVIDER_ID}:{user['sub']}"]
    link = stored["config"]["providers"][0]
    assert (link["provider"], link["subject"]) == (PROVIDER_ID, user["sub"])
    cipher = XChaCha20Poly1305Cipher([CIPHER_SECRET.encode()])
    id_token = cipher.decrypt(link["initial_id_token"]).decode()
    assert id_token.count(".") == 2  # the provider's signed id_token, stored sealed
    assert bytes.fromhex(link["initial_id_token"]) != id_token.encode()
    assert cipher.decrypt(link["initial_access_token"])
    assert provider.token_requests[-1]["code_verifier"]  # PKCE verifier sent

    again = Browser(server)
    try:
        signed_in = again.sign_in_with_provider("registration")  # the sign-up button of a known account
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == UI + "/"
        assert again.whoami().json()["identity"]["id"] == identity["id"]
    finally:
        again.close()


def test_upstream_parameters_reach_the_provider_and_spas_are_sent_there(
    server: KratosProcess, provider: OpenIdProvider, browser: Browser
) -> None:
    flow = browser.start("login")
    token = next(n for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token")["attributes"][
        "value"
    ]
    body = {
        "csrf_token": token,
        "method": "oidc",
        "provider": PROVIDER_ID,
        "upstream_parameters": {"login_hint": "ada@example.com", "prompt": "select_account", "evil": "x"},
    }
    answer = browser.client.post(flow["ui"]["action"], json=body, headers={"Accept": "application/json"})
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert error["error"]["id"] == "browser_location_change_required"
    sent = query(error["redirect_browser_to"])
    assert (sent["login_hint"], sent["prompt"]) == ("ada@example.com", "select_account")
    assert "evil" not in sent  # only upstream's allowed parameters


def test_forged_missing_and_foreign_states_are_refused_before_any_code_is_redeemed(
    server: KratosProcess, provider: OpenIdProvider, browser: Browser
) -> None:
    new_user(provider)
    flow = browser.start("login")
    to_provider = browser.submit(flow, provider=PROVIDER_ID)
    at_provider = browser.client.get(to_provider.headers["location"])
    callback = at_provider.headers["location"]
    code, state = query(callback)["code"], query(callback)["state"]
    base = f"{server.public_url}/self-service/methods/oidc/callback/{PROVIDER_ID}"
    exchanges = len(provider.token_requests)

    def error_of(answer: httpx.Response) -> dict[str, Any]:
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].startswith(UI + "/error?id=")
        error_id = query(answer.headers["location"])["id"]
        return httpx.get(f"{server.public_url}/self-service/errors", params={"id": error_id}).json()["error"]

    missing = error_of(browser.client.get(base, params={"code": code}))
    assert missing["code"] == 400
    assert "did not return the state query parameter" in missing["reason"]
    forged = error_of(browser.client.get(base, params={"code": code, "state": state[:-4] + "abcd"}))
    assert "state parameter is invalid" in forged["reason"]
    with httpx.Client(base_url=server.public_url) as other_browser:  # no continuity cookie
        foreign = error_of(other_browser.get(callback))
    assert foreign["message"] == "no resumable session found"
    wrong_provider = error_of(
        browser.client.get(base.replace(PROVIDER_ID, "other"), params={"code": code, "state": state})
    )
    assert "provider mismatch" in wrong_provider["reason"]
    assert len(provider.token_requests) == exchanges  # none of them redeemed the code

    assert browser.follow(browser.client.get(callback)).headers["location"] == UI + "/"
    assert browser.whoami().status_code == 200
    replay = error_of(browser.client.get(callback))  # the state is used up
    assert "does not match" in replay["reason"]
    assert len(provider.token_requests) == exchanges + 1


@pytest.mark.parametrize(
    ("misbehaviour", "expected"),
    [
        ("deny", 'the OpenID Provider returned error "access_denied"'),
        ("wrong_nonce", "nonce"),
        ("token_error", "invalid_grant"),
        ("down", "503"),
    ],
)
def test_provider_failures_show_in_the_flow(
    server: KratosProcess, provider: OpenIdProvider, browser: Browser, misbehaviour: str, expected: str
) -> None:
    new_user(provider)
    switches = {"deny": "access_denied", "token_error": "invalid_grant", "wrong_nonce": True}
    try:
        if misbehaviour in switches:
            setattr(provider, misbehaviour, switches[misbehaviour])
        flow = browser.start("login")
        at_provider = browser.client.get(browser.submit(flow, provider=PROVIDER_ID).headers["location"])
        provider.down = misbehaviour == "down"  # gone between the sign-in there and the code exchange
        answer = browser.client.get(at_provider.headers["location"])
    finally:
        provider.deny, provider.token_error, provider.wrong_nonce, provider.down = None, None, False, False
    assert answer.status_code == 303, answer.text
    kind, shown = browser.ui_flow(answer)
    assert kind == "login"
    assert messages(shown) == [4000001]
    assert expected in message_texts(shown)[0]
    assert browser.whoami().status_code == 401


def test_an_unverified_email_is_not_taken_and_the_form_asks_for_it(
    server: KratosProcess, provider: OpenIdProvider, browser: Browser
) -> None:
    new_user(provider, verified=False)
    answer = browser.sign_in_with_provider("registration")
    assert answer.status_code == 302, answer.text  # registration flows with errors: 302, as upstream
    kind, shown = browser.ui_flow(answer)
    assert kind == "registration"
    names = [(n["group"], n["attributes"]["name"]) for n in shown["ui"]["nodes"]]
    assert ("default", "traits.email") in names
    assert ("oidc", "provider") in names, (browser.hops, shown["ui"]["messages"])
    button = next(n for n in shown["ui"]["nodes"] if n["attributes"]["name"] == "provider")
    assert button["meta"]["label"]["id"] == 1040003
    email = next(n for n in shown["ui"]["nodes"] if n["attributes"]["name"] == "traits.email")
    assert [m["id"] for m in email["messages"]] == [4000002]
    assert browser.whoami().status_code == 401


def test_an_app_id_token_for_the_generic_provider_is_refused_as_upstream(
    server: KratosProcess, provider: OpenIdProvider
) -> None:
    """Upstream verifies app id_tokens only for the providers that publish fixed keys (Google, Apple...)."""
    user = new_user(provider)
    flow = httpx.get(f"{server.public_url}/self-service/login/api").json()
    token = provider.issue_id_token("kratos-client", nonce="app-nonce", sub=user["sub"])
    body = {"method": "oidc", "provider": PROVIDER_ID, "id_token": token, "id_token_nonce": "app-nonce"}
    refused = httpx.post(flow["ui"]["action"], json=body)
    assert refused.status_code == 502, refused.text
    error = refused.json()["error"]
    assert (error["id"], error["reason"]) == (
        "upstream_error",
        "The provider generic does not support id_token verification",
    )


PASSWORD = "a-Long-passphrase-42"


def create_password_identity(server: KratosProcess, email: str) -> str:
    created = httpx.post(
        f"{server.admin_url}/admin/identities",
        json={
            "schema_id": "default",
            "traits": {"email": email},
            "credentials": {"password": {"config": {"password": PASSWORD}}},
        },
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_an_email_that_is_taken_leads_to_sign_in_and_link_never_to_a_takeover(
    server: KratosProcess, provider: OpenIdProvider, browser: Browser
) -> None:
    user = new_user(provider)
    owner = create_password_identity(server, user["email"])
    answer = browser.sign_in_with_provider("login")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"{UI}/login?flow=")
    assert query(answer.headers["location"])["no_org_ui"] == "true"
    _, flow = browser.ui_flow(answer)
    (shown,) = flow["ui"]["messages"]
    assert shown["id"] == 1010016
    assert shown["context"]["duplicateIdentifier"] == user["email"]
    assert shown["context"]["provider"] == "Loopback"
    assert shown["context"]["available_credential_types"] == ["code", "password"]  # login_hints, sorted
    assert {n["group"] for n in flow["ui"]["nodes"]} == {"default", "password"}
    assert f'"{user["email"]}"' in shown["text"]
    identifier = next(n for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "identifier")
    assert (identifier["attributes"]["type"], identifier["attributes"]["value"]) == ("hidden", user["email"])
    assert not any(n["group"] == "oidc" for n in flow["ui"]["nodes"])  # the provider just used is hidden
    assert browser.whoami().status_code == 401
    assert "oidc" not in identity_of(server, owner)["credentials"]  # nothing linked before the owner signs in

    wrong = browser.submit(flow, method="password", identifier=user["email"], password="not-the-password")
    assert wrong.status_code == 303
    assert "oidc" not in identity_of(server, owner)["credentials"]
    signed_in = browser.submit(
        browser.flow("login", flow["id"]), method="password", identifier=user["email"], password=PASSWORD
    )
    assert signed_in.status_code == 303, signed_in.text
    whoami = browser.whoami().json()
    assert whoami["identity"]["id"] == owner
    assert [(m["method"], m.get("provider")) for m in whoami["authentication_methods"]] == [
        ("password", None),
        ("oidc", PROVIDER_ID),
    ]
    assert identity_of(server, owner)["credentials"]["oidc"]["identifiers"] == [
        f"{PROVIDER_ID}:{user['sub']}"
    ]

    later = Browser(server)
    try:
        assert later.sign_in_with_provider("login").headers["location"] == UI + "/"
        assert later.whoami().json()["identity"]["id"] == owner  # the linked account signs in by itself
    finally:
        later.close()


def settings_buttons(flow: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (n["attributes"]["name"], n["attributes"]["value"])
        for n in flow["ui"]["nodes"]
        if n["group"] == "oidc"
    ]


def test_settings_link_and_unlink_never_the_last_way_in(
    server: KratosProcess, provider: OpenIdProvider, browser: Browser
) -> None:
    user = new_user(provider)
    browser.sign_in_with_provider("registration")
    identity_id = browser.whoami().json()["identity"]["id"]
    flow = browser.start("settings")
    assert settings_buttons(flow) == []  # the only way in: no unlink button
    refused = browser.submit(flow, unlink=PROVIDER_ID)
    assert refused.status_code == 303
    _, shown = browser.ui_flow(refused)
    assert messages(shown) == [4000001]
    assert "last remaining first factor" in message_texts(shown)[0]

    flow = browser.flow("settings", flow["id"])
    assert browser.submit(flow, method="password", password=PASSWORD).status_code == 303
    flow = browser.start("settings")
    assert settings_buttons(flow) == [("unlink", PROVIDER_ID)]
    unlink = next(n for n in flow["ui"]["nodes"] if n["group"] == "oidc")
    assert unlink["meta"]["label"]["id"] == 1050003
    assert browser.submit(flow, unlink=PROVIDER_ID).status_code == 303
    assert "oidc" not in identity_of(server, identity_id)["credentials"]

    flow = browser.start("settings")
    assert settings_buttons(flow) == [("link", PROVIDER_ID)]
    to_provider = browser.submit(flow, link=PROVIDER_ID)
    assert to_provider.status_code == 303
    assert to_provider.headers["location"].startswith(provider.issuer)
    back = browser.follow(to_provider)
    assert back.status_code == 303, back.text
    kind, done = browser.ui_flow(back)
    assert (kind, done["state"], messages(done)) == ("settings", "success", [1050001])
    assert identity_of(server, identity_id)["credentials"]["oidc"]["identifiers"] == [
        f"{PROVIDER_ID}:{user['sub']}"
    ]


def test_identifier_first_offers_providers_first_then_only_the_linked_ones(
    identifier_first: KratosProcess, provider: OpenIdProvider
) -> None:
    """As upstream: the buttons are on the first screen; once identified, only the account's links stay."""
    linked = Browser(identifier_first)
    try:
        user = new_user(provider)
        first = linked.start("login")
        assert [n["attributes"]["name"] for n in first["ui"]["nodes"]] == [
            "identifier", "method", "provider", "provider", "csrf_token",
        ]  # fmt: skip
        assert linked.follow(linked.submit(first, provider=PROVIDER_ID)).headers["location"] == UI + "/"
    finally:
        linked.close()
    unlinked = create_password_identity(identifier_first, "no-links@example.com")
    assert unlinked
    for email, expected in ((user["email"], [("provider", PROVIDER_ID)]), ("no-links@example.com", [])):
        browser = Browser(identifier_first)
        try:
            flow = browser.start("login")
            answer = browser.submit(flow, method="identifier_first", identifier=email)
            _, second = browser.ui_flow(answer)
            assert settings_buttons(second) == expected, email
        finally:
            browser.close()


def test_a_login_challenge_without_hydra_configured_is_refused(server: KratosProcess) -> None:
    answer = httpx.get(
        f"{server.public_url}/self-service/login/browser",
        params={"login_challenge": "abc"},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 500
    assert answer.json()["error"]["reason"] == (
        "refusing to parse login_challenge query parameter because oauth2_provider.url is invalid or unset"
    )


def test_a_taken_email_at_registration_says_how_that_account_signs_in(
    server: KratosProcess, provider: OpenIdProvider
) -> None:
    """``login_hints``: 4000028 names the identifier and the ways in, where 4000007 only says it exists."""
    user = new_user(provider)
    social = Browser(server)
    try:
        social.sign_in_with_provider("registration")
    finally:
        social.close()
    flow = httpx.get(f"{server.public_url}/self-service/registration/api").json()
    body = {"method": "password", "password": PASSWORD, "traits": {"email": user["email"]}}
    refused = httpx.post(flow["ui"]["action"], json=body)
    assert refused.status_code == 400, refused.text
    (shown,) = refused.json()["ui"]["messages"]
    assert shown["id"] == 4000028
    assert shown["text"] == (
        f"You tried signing in with {user['email']} which is already in use by another account. "
        "You can sign in using social sign in. "
        "You can sign in using one of the following social sign in providers: Loopback."
    )
    assert shown["context"] == {
        "available_credential_types": ["code", "oidc"],  # the schema makes the email a code identifier
        "available_oidc_providers": [PROVIDER_ID],
        "credential_identifier_hint": user["email"],
    }


def test_an_app_signs_in_through_the_system_browser_and_exchanges_its_code(
    server: KratosProcess, provider: OpenIdProvider
) -> None:
    """``return_session_token_exchange_code``: the browser brings a code back to the app, which alone (with
    the init code) gets the session token, as often as it asks."""
    user = new_user(provider)
    public = server.public_url
    app_callback = UI + "/app-callback"
    params = {"return_session_token_exchange_code": "true", "return_to": app_callback}
    flow = httpx.get(f"{public}/self-service/login/api", params=params).json()
    init_code = flow["session_token_exchange_code"]
    assert init_code
    assert (
        "session_token_exchange_code"
        not in httpx.get(f"{public}/self-service/login/flows", params={"id": flow["id"]}).json()
    )  # only the app that started the flow gets it
    started = httpx.post(flow["ui"]["action"], json={"method": "oidc", "provider": PROVIDER_ID})
    assert started.status_code == 422, started.text
    with httpx.Client() as system_browser:  # never saw the flow, has no continuity cookie
        at_provider = system_browser.get(started.json()["redirect_browser_to"])
        back = system_browser.get(at_provider.headers["location"])
    assert back.status_code == 303, back.text
    assert back.headers["location"].startswith(app_callback + "?code=")
    return_to_code = query(back.headers["location"])["code"]

    def exchange(**codes: str) -> httpx.Response:
        return httpx.get(f"{public}/sessions/token-exchange", params=codes)

    exchanged = exchange(init_code=init_code, return_to_code=return_to_code)
    assert exchanged.status_code == 200, exchanged.text
    token = exchanged.json()["session_token"]
    assert exchanged.json()["session"]["identity"]["traits"]["email"] == user["email"]
    assert exchange(init_code=init_code, return_to_code=return_to_code).json()["session_token"] == token
    whoami = httpx.get(f"{public}/sessions/whoami", headers={"X-Session-Token": token})
    assert whoami.json()["identity"]["traits"]["email"] == user["email"]
    assert exchange(init_code=init_code, return_to_code="wrong").status_code == 404
    missing = exchange(init_code=init_code)
    assert missing.status_code == 400
    assert missing.json()["error"]["reason"] == '"init_code" and "return_to_code" query params must be set'


def test_a_provider_that_cannot_be_reached_is_an_error_as_upstream(identifier_first: KratosProcess) -> None:
    """Its discovery fails when the button is pressed: 500 invalid_configuration, no trip to it."""
    browser = Browser(identifier_first)
    try:
        flow = browser.start("login")
        answer = browser.submit(flow, provider="offline")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith(UI + "/error?id=")
        error = httpx.get(
            f"{identifier_first.public_url}/self-service/errors",
            params={"id": query(answer.headers["location"])["id"]},
        ).json()["error"]
        assert (error["code"], error["id"]) == (500, "invalid_configuration")
        assert error["reason"].startswith("Unable to initialize OpenID Connect Provider: ")
    finally:
        browser.close()
