"""Kratos as Ory Hydra's login provider: an OAuth2 client's authorization through Hydra, our login and
consent, back to the client's token; a second authorization skips the form.

Real Hydra v2.3.0 (built from the Go module proxy, see ``hydra_build.py``) and the real server; the browser
follows every redirect across both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from browser_client import Browser
from hydra import Hydra, OAuthClient, StubPages
from kratos_process import UI, KratosProcess
from oidc_helpers import PROVIDER_ID, oidc_server
from oidc_provider import OpenIdProvider

PASSWORD = "a-Long-passphrase-42"
CALLBACK = "http://127.0.0.1:9/oauth2/callback"  # the OAuth2 client's redirect URI: never fetched


@pytest.fixture(scope="module")
def provider() -> Iterator[OpenIdProvider]:
    with OpenIdProvider() as running:
        yield running


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    hydra: Hydra,
    hydra_pages: StubPages,
    provider: OpenIdProvider,
) -> Iterator[KratosProcess]:
    hydra_config = {
        "oauth2_provider": {"url": hydra.admin_url, "override_return_to": True},
        "selfservice": {"allowed_return_urls": [UI, hydra.public_url]},
    }
    for running in oidc_server(request, tmp_path_factory, provider, database="sqlite", config=hydra_config):
        hydra_pages.forward["/login"] = f"{running.public_url}/self-service/login/browser"
        try:
            yield running
        finally:  # Hydra and its pages are shared by the session: leave them as found
            del hydra_pages.forward["/login"]


@pytest.fixture(scope="module")
def client(hydra: Hydra) -> OAuthClient:
    return hydra.create_client([CALLBACK])


def one(url: str, name: str) -> str:
    return parse_qs(urlsplit(url).query)[name][0]


def test_an_authorization_goes_through_our_login_and_consent_to_the_token(
    server: KratosProcess, hydra: Hydra, hydra_pages: StubPages, client: OAuthClient
) -> None:
    email = "hydra-user@example.com"
    created = httpx.post(
        f"{server.admin_url}/admin/identities",
        json={"traits": {"email": email}, "credentials": {"password": {"config": {"password": PASSWORD}}}},
    )
    assert created.status_code == 201, created.text
    identity_id = created.json()["id"]
    with Browser() as browser:
        browser.follow(
            hydra.authorization_url(client, state="state-123456", nonce="nonce-123456"), stop_at=[UI]
        )
        assert browser.url.startswith(f"{UI}/login?flow=")
        flow = browser.request(
            "GET", f"{server.public_url}/self-service/login/flows", params={"id": one(browser.url, "flow")}
        ).json()
        assert flow["oauth2_login_challenge"]
        assert flow["oauth2_login_request"]["client"]["client_id"] == client.client_id
        assert flow["return_to"] == flow["oauth2_login_request"]["request_url"]  # override_return_to
        assert flow["return_to"].startswith(f"{hydra.public_url}/oauth2/auth?")
        token = next(
            n["attributes"]["value"] for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token"
        )
        browser.follow(
            flow["ui"]["action"],
            method="POST",
            data={"csrf_token": token, "method": "password", "identifier": email, "password": PASSWORD},
            stop_at=[hydra_pages.url("/consent")],
        )
        after_consent = hydra.accept_consent(one(browser.url, "consent_challenge"))
        browser.follow(after_consent, stop_at=[CALLBACK])
        assert one(browser.url, "state") == "state-123456"
        tokens = hydra.exchange_code(client, one(browser.url, "code"))
        claims = hydra.id_token_claims(tokens["id_token"], client)
        assert claims["sub"] == identity_id
        assert claims["amr"] == ["password"]
        assert claims["acr"] == "aal1"
        assert claims["nonce"] == "nonce-123456"

        # The second authorization: Hydra remembers the login, Kratos has the session: no form.
        browser.follow(
            hydra.authorization_url(client, state="state-654321", nonce="nonce-654321"),
            stop_at=[hydra_pages.url("/consent"), UI],
        )
        assert browser.url.startswith(hydra_pages.url("/consent")), browser.url


def test_an_unknown_login_challenge_is_refused_with_hydras_answer(
    server: KratosProcess,
) -> None:
    unknown = httpx.get(
        f"{server.public_url}/self-service/login/browser",
        params={"login_challenge": "not-a-challenge"},
        headers={"Accept": "application/json"},
    )
    assert unknown.status_code == 400, unknown.text
    assert unknown.json()["error"]["reason"] == "Unable to get OAuth 2.0 Login Challenge."


def csrf(flow: dict[str, Any]) -> str:
    return next(
        n["attributes"]["value"] for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token"
    )


def to_the_token(
    browser: Browser, hydra: Hydra, hydra_pages: StubPages, client: OAuthClient
) -> dict[str, Any]:
    """From Hydra's consent page (where the browser is) to the client's id_token claims."""
    assert browser.url.startswith(hydra_pages.url("/consent")), browser.url
    browser.follow(hydra.accept_consent(one(browser.url, "consent_challenge")), stop_at=[CALLBACK])
    tokens = hydra.exchange_code(client, one(browser.url, "code"))
    return hydra.id_token_claims(tokens["id_token"], client)


def test_a_sign_up_link_of_an_oauth2_login_registers_and_goes_back_to_hydra(
    server: KratosProcess, hydra: Hydra, hydra_pages: StubPages, client: OAuthClient
) -> None:
    with Browser() as browser:
        browser.follow(
            hydra.authorization_url(client, state="state-reg-1", nonce="nonce-reg-1"), stop_at=[UI]
        )
        login = browser.request(
            "GET", f"{server.public_url}/self-service/login/flows", params={"id": one(browser.url, "flow")}
        ).json()
        challenge = login["oauth2_login_challenge"]
        browser.follow(
            f"{server.public_url}/self-service/registration/browser",
            params={"login_challenge": challenge},
            stop_at=[UI],
        )
        flow = browser.request(
            "GET",
            f"{server.public_url}/self-service/registration/flows",
            params={"id": one(browser.url, "flow")},
        ).json()
        assert flow["oauth2_login_challenge"] == challenge
        body = {
            "csrf_token": csrf(flow),
            "method": "password",
            "password": PASSWORD,
            "traits.email": "new@example.com",
        }
        browser.follow(
            flow["ui"]["action"], method="POST", data=body, stop_at=[hydra_pages.url("/consent"), UI]
        )
        claims = to_the_token(browser, hydra, hydra_pages, client)
    identities = httpx.get(
        f"{server.admin_url}/admin/identities", params={"credentials_identifier": "new@example.com"}
    ).json()
    assert [claims["sub"]] == [identity["id"] for identity in identities]
    assert claims["amr"] == ["password"]


def test_a_new_social_account_signs_in_to_the_oauth2_client(
    server: KratosProcess, hydra: Hydra, hydra_pages: StubPages, client: OAuthClient, provider: OpenIdProvider
) -> None:
    provider.user = {"sub": "hydra-social-1", "email": "social-hydra@example.com", "email_verified": True}
    with Browser() as browser:
        browser.follow(
            hydra.authorization_url(client, state="state-soc-1", nonce="nonce-soc-1"), stop_at=[UI]
        )
        flow = browser.request(
            "GET", f"{server.public_url}/self-service/login/flows", params={"id": one(browser.url, "flow")}
        ).json()
        browser.follow(
            flow["ui"]["action"],
            method="POST",
            data={"csrf_token": csrf(flow), "provider": PROVIDER_ID},
            stop_at=[hydra_pages.url("/consent"), UI],
        )
        claims = to_the_token(browser, hydra, hydra_pages, client)
    assert claims["amr"] == ["oidc"]
    identity = httpx.get(f"{server.admin_url}/admin/identities/{claims['sub']}").json()
    assert identity["traits"]["email"] == "social-hydra@example.com"
