"""``kratos.hydra.HydraClient`` against a real Ory Hydra v2.3.0: login and logout challenges end to end."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import pytest
from browser_client import Browser, query_param
from hydra import Hydra, OAuthClient, StubPages
from netutil import LoopbackServer, loopback_server

from kratos.config.sections import OAuth2Provider
from kratos.http.errors import KratosError
from kratos.hydra import HydraClient, LoginRequest

T = TypeVar("T")
STATE, NONCE = "state-1234567890", "n-0S6_WzA2Mj"


def call(url: str | None, action: Callable[[HydraClient], Awaitable[T]], **headers: str) -> T:
    """Run ``action`` with a ``HydraClient`` for the admin API at ``url``, on a fresh ``AsyncClient``."""

    async def main() -> T:
        async with httpx.AsyncClient(timeout=10.0) as http:
            return await action(HydraClient(OAuth2Provider(url=url, headers=headers), http))

    return asyncio.run(main())


def failure(url: str | None, action: Callable[[HydraClient], Awaitable[Any]]) -> KratosError:
    with pytest.raises(KratosError) as raised:
        call(url, action)
    return raised.value


@pytest.fixture(scope="module")
def oauth_client(hydra: Hydra, hydra_pages: StubPages) -> OAuthClient:
    return hydra.create_client(
        [hydra_pages.url("/callback")], post_logout_redirect_uris=[hydra_pages.url("/logged-out")]
    )


def start_authorization(browser: Browser, hydra: Hydra, client: OAuthClient, pages: StubPages) -> str:
    """Send the browser to ``/oauth2/auth``; it must land on the login UI. Returns the login challenge."""
    page = browser.follow(hydra.authorization_url(client, state=STATE, nonce=NONCE))
    assert page.status_code == 200, browser.hops
    assert browser.url.startswith(pages.url("/login?")), browser.hops
    return query_param(browser.url, "login_challenge")


def finish_authorization(
    browser: Browser, hydra: Hydra, client: OAuthClient, pages: StubPages, redirect_to: str
) -> dict[str, Any]:
    """From the login accept's ``redirect_to``: consent, the callback with a code, the tokens."""
    browser.follow(redirect_to)
    assert browser.url.startswith(pages.url("/consent?")), browser.hops
    browser.follow(hydra.accept_consent(query_param(browser.url, "consent_challenge")))
    assert browser.url.startswith(client.redirect_uri + "?"), browser.hops
    assert query_param(browser.url, "state") == STATE
    return hydra.exchange_code(client, query_param(browser.url, "code"))


@pytest.fixture(scope="module")
def logged_in(hydra: Hydra, hydra_pages: StubPages, oauth_client: OAuthClient) -> Iterator[dict[str, Any]]:
    """One browser through a first authorization: the login request it saw, the claims, the tokens."""
    subject, session_id = str(uuid.uuid4()), str(uuid.uuid4())
    with Browser() as browser:
        challenge = start_authorization(browser, hydra, oauth_client, hydra_pages)
        request = call(hydra.admin_url, lambda c: c.login_request(challenge))
        redirect_to = call(
            hydra.admin_url,
            lambda c: c.accept_login(
                challenge, subject=subject, session_id=session_id, remember=True, remember_for=3600,
                amr=["password"], acr="aal1",
            ),
        )  # fmt: skip
        tokens = finish_authorization(browser, hydra, oauth_client, hydra_pages, redirect_to)
        claims = hydra.id_token_claims(tokens["id_token"], oauth_client)
        yield {"browser": browser, "request": request, "challenge": challenge, "subject": subject,
               "claims": claims, "tokens": tokens}  # fmt: skip


def test_first_login_request_does_not_skip_and_names_the_client(
    logged_in: dict[str, Any], hydra: Hydra, oauth_client: OAuthClient
) -> None:
    request: LoginRequest = logged_in["request"]
    assert request.challenge == logged_in["challenge"]
    assert request.skip is False
    assert request.subject == ""
    assert request.client["client_id"] == oauth_client.client_id
    assert request.requested_scope == ["openid", "offline"]
    assert request.request_url.startswith(hydra.public_url + "/oauth2/auth?")
    assert request.raw["challenge"] == request.challenge


def test_accepted_login_gives_an_id_token_with_the_subject_and_methods(
    logged_in: dict[str, Any], hydra: Hydra, hydra_pages: StubPages
) -> None:
    claims = logged_in["claims"]
    assert claims["sub"] == logged_in["subject"]
    assert claims["amr"] == ["password"]
    assert claims["acr"] == "aal1"
    assert claims["nonce"] == NONCE
    assert logged_in["tokens"]["token_type"].lower() == "bearer"
    assert logged_in["tokens"]["refresh_token"]
    browser: Browser = logged_in["browser"]
    assert browser.visited(hydra.public_url + "/oauth2/auth")
    assert browser.visited(hydra_pages.url("/callback?"))


def test_second_authorization_skips_login_for_the_remembered_subject(
    logged_in: dict[str, Any], hydra: Hydra, hydra_pages: StubPages, oauth_client: OAuthClient
) -> None:
    browser: Browser = logged_in["browser"]
    browser.hops.clear()
    challenge = start_authorization(browser, hydra, oauth_client, hydra_pages)
    request = call(hydra.admin_url, lambda c: c.login_request(challenge))
    assert request.skip is True
    assert request.subject == logged_in["subject"]
    redirect_to = call(
        hydra.admin_url,
        lambda c: c.accept_login(
            challenge,
            subject=request.subject,
            session_id=None,
            remember=False,
            remember_for=0,
            amr=["password"],
        ),
    )
    tokens = finish_authorization(browser, hydra, oauth_client, hydra_pages, redirect_to)
    assert hydra.id_token_claims(tokens["id_token"], oauth_client)["sub"] == logged_in["subject"]


def test_a_used_login_challenge_still_reads_in_hydra_2_3(logged_in: dict[str, Any], hydra: Hydra) -> None:
    """Hydra v2.3 challenges are stateless (the flow is sealed in them): an accepted one still reads (200).

    So "used" is not an error Kratos can rely on here; only Hydra's verifier step refuses a replay.
    """
    again = call(hydra.admin_url, lambda c: c.login_request(logged_in["challenge"]))
    assert again.challenge == logged_in["challenge"]
    assert again.client["client_id"] == logged_in["request"].client["client_id"]


def test_an_unknown_login_challenge_is_a_bad_request(hydra: Hydra) -> None:
    error = failure(hydra.admin_url, lambda c: c.login_request("not-a-challenge"))
    assert error.status == 400
    assert error.reason == "Unable to get OAuth 2.0 Login Challenge."
    assert error.details == {"status_code": 404, "oauth2_error_hint": ""}
    assert error.to_dict()["error"]["code"] == 400


def test_an_empty_login_challenge_is_refused_without_asking_hydra(hydra: Hydra) -> None:
    error = failure(hydra.admin_url, lambda c: c.login_request(""))
    assert (error.status, error.reason, error.details) == (400, "invalid login_challenge", {})


def test_accepting_an_unknown_login_challenge_is_a_server_error(hydra: Hydra) -> None:
    error = failure(
        hydra.admin_url,
        lambda c: c.accept_login(
            "not-a-challenge", subject="x", session_id="y", remember=False, remember_for=0, amr=["password"]
        ),
    )
    assert error.status == 500
    assert error.reason == "Unable to accept OAuth 2.0 Login Challenge."
    assert 400 <= error.details["status_code"] < 500


def test_logout_request_and_accept_end_the_hydra_session(
    hydra: Hydra, hydra_pages: StubPages, oauth_client: OAuthClient
) -> None:
    subject = str(uuid.uuid4())
    with Browser() as browser:
        challenge = start_authorization(browser, hydra, oauth_client, hydra_pages)
        redirect_to = call(
            hydra.admin_url,
            lambda c: c.accept_login(
                challenge, subject=subject, session_id="kratos-session", remember=True, remember_for=0,
                amr=["password"],
            ),
        )  # fmt: skip
        tokens = finish_authorization(browser, hydra, oauth_client, hydra_pages, redirect_to)
        logout = f"{hydra.public_url}/oauth2/sessions/logout?" + urlencode(
            {
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": hydra_pages.url("/logged-out"),
                "state": "bye",
            }
        )
        browser.follow(logout)
        assert browser.url.startswith(hydra_pages.url("/logout?")), browser.hops
        logout_challenge = query_param(browser.url, "logout_challenge")
        request = call(hydra.admin_url, lambda c: c.logout_request(logout_challenge))
        assert request.challenge == logout_challenge
        assert request.subject == subject
        assert request.rp_initiated is True
        assert request.session_id
        assert request.client is not None
        assert request.client["client_id"] == oauth_client.client_id
        browser.follow(call(hydra.admin_url, lambda c: c.accept_logout(logout_challenge)))
        assert browser.url == hydra_pages.url("/logged-out?state=bye"), browser.hops
        again = start_authorization(browser, hydra, oauth_client, hydra_pages)
        assert call(hydra.admin_url, lambda c: c.login_request(again)).skip is False


def test_an_unknown_logout_challenge_is_a_bad_request(hydra: Hydra) -> None:
    error = failure(hydra.admin_url, lambda c: c.logout_request("not-a-challenge"))
    assert error.status == 400
    assert error.reason == "Unable to get OAuth 2.0 Logout Challenge."
    error = failure(hydra.admin_url, lambda c: c.accept_logout("not-a-challenge"))
    assert error.status == 500
    assert error.reason == "Unable to accept OAuth 2.0 Logout Challenge."


def test_hydra_stopped_is_a_server_error(start_hydra: Callable[..., Hydra]) -> None:
    stopped = start_hydra()
    stopped.stop()
    error = failure(stopped.admin_url, lambda c: c.login_request("any"))
    assert (error.status, error.reason, error.details) == (
        500,
        "Unable to get OAuth 2.0 Login Challenge.",
        {},
    )
    assert error.to_dict()["error"]["message"].startswith("An internal server error occurred")
    error = failure(
        stopped.admin_url,
        lambda c: c.accept_login("any", subject="x", session_id=None, remember=False, remember_for=0, amr=[]),
    )
    assert (error.status, error.reason) == (500, "Unable to accept OAuth 2.0 Login Challenge.")


def test_unconfigured_url_is_a_misconfiguration() -> None:
    error = failure(None, lambda c: c.login_request("any"))
    assert (error.status, error.error_id, error.reason) == (
        500, "invalid_configuration", "oauth2_provider.url is not configured"
    )  # fmt: skip


class Recorder(BaseHTTPRequestHandler):
    """A stand-in admin API that answers 503 with an OAuth2 error, recording each request."""

    seen: list[dict[str, Any]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                          "body": json.loads(body) if body else None})  # fmt: skip
        answer = json.dumps({"error": "temporarily_unavailable", "error_hint": "database is down"}).encode()
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_PUT = _answer  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def recorder() -> Iterator[LoopbackServer]:
    Recorder.seen = []
    with loopback_server(Recorder) as server:
        yield server


def test_hydra_5xx_is_a_server_error_with_its_hint_and_headers_are_sent(recorder: LoopbackServer) -> None:
    url = recorder.base_url + "/prefix/"

    async def both(client: HydraClient) -> list[KratosError]:
        errors: list[KratosError] = []
        for action in (
            client.login_request("c1"),
            client.accept_login(
                "c2",
                subject="id-1",
                session_id="s-1",
                remember=True,
                remember_for=86400,
                amr=["password", "totp"],
            ),
        ):
            with pytest.raises(KratosError) as raised:
                await action
            errors.append(raised.value)
        return errors

    read, accept = call(url, both, Authorization="Bearer admin-token", **{"X-Tenant": "t1"})
    assert (read.status, read.details) == (500, {"status_code": 503, "oauth2_error_hint": "database is down"})
    assert accept.status == 500
    assert accept.details["oauth2_error_hint"] == "database is down"
    get, put = Recorder.seen
    assert (get["method"], get["path"]) == (
        "GET",
        "/prefix/admin/oauth2/auth/requests/login?login_challenge=c1",
    )
    assert (put["method"], put["path"]) == (
        "PUT", "/prefix/admin/oauth2/auth/requests/login/accept?login_challenge=c2"
    )  # fmt: skip
    assert put["body"] == {
        "subject": "id-1",
        "identity_provider_session_id": "s-1",
        "remember": True,
        "remember_for": 86400,
        "amr": ["password", "totp"],
    }
    for seen in (get, put):
        assert seen["headers"]["Authorization"] == "Bearer admin-token"
        assert seen["headers"]["X-Tenant"] == "t1"
