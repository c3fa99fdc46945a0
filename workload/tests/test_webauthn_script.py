"""``/.well-known/ory/webauthn.js``: served as upstream serves it, and driving real ceremonies in Chromium.

The browser test loads small pages with upstream-shaped nodes from a loopback server, lets a CDP virtual
authenticator answer ``navigator.credentials``, and verifies what the pages post with our relying party.
It needs Debian's ``chromium`` and the ``playwright`` package, and is skipped without them.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import queue
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.util import find_spec
from typing import Any

import httpx
import pytest
import uvicorn
from netutil import free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from kratos.identity.credentials.webauthn import WebAuthnConfig
from kratos.selfservice.strategy.webauthn.ceremony import CeremonyOptions, RelyingParty, go_json
from kratos.selfservice.strategy.webauthn.script import (
    SCRIPT_PATH,
    webauthn_js,
    webauthn_js_integrity,
    webauthn_js_routes,
    webauthn_js_url,
)
from kratos.selfservice.strategy.webauthn.session import CeremonySession

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
GLOBALS = [
    f"{prefix}{name}"
    for name in (
        "WebAuthnLogin",
        "WebAuthnRegistration",
        "PasskeyLogin",
        "PasskeyLoginAutocompleteInit",
        "PasskeyRegistration",
        "PasskeySettingsRegistration",
    )
    for prefix in ("__ory", "ory")
]


@dataclass
class Site:
    """A loopback site: ``/page`` renders :attr:`nodes` in a form posting to ``/submit``."""

    port: int
    nodes: list[str] = field(default_factory=list)
    posted: queue.Queue[dict[str, str]] = field(default_factory=queue.Queue)

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.port}"

    async def page(self, _: Request) -> Response:
        script = (
            f'<script src="{webauthn_js_url(self.origin)}" integrity="{webauthn_js_integrity()}" '
            'crossorigin="anonymous" referrerpolicy="no-referrer"></script>'
        )
        form = f'<form method="POST" action="/submit">{"".join(self.nodes)}</form>'
        return HTMLResponse(f"<!doctype html><html><head>{script}</head><body>{form}</body></html>")

    async def submit(self, request: Request) -> Response:
        form = await request.form()
        self.posted.put({k: str(v) for k, v in form.items()})
        return HTMLResponse("<p id=done>posted</p>")


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """The pages, the script route and the form target on ``http://localhost:<port>``."""
    state = Site(free_port())
    app = Starlette(
        routes=[
            *webauthn_js_routes(),
            Route("/page", state.page),
            Route("/submit", state.submit, methods=["POST"]),
        ]
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=state.port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield state
    server.should_exit = True
    thread.join(timeout=10)


def test_script_is_served_with_upstreams_headers(site: Site) -> None:
    response = httpx.get(f"http://127.0.0.1:{site.port}{SCRIPT_PATH}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=UTF-8"
    assert "cache-control" not in response.headers  # upstream sends none
    assert response.content == webauthn_js()
    for name in GLOBALS:
        assert name.removeprefix("__").removeprefix("ory") in response.text
    digest = base64.b64encode(hashlib.sha512(response.content).digest()).decode()
    assert webauthn_js_integrity() == f"sha512-{digest}"
    assert (
        webauthn_js_url("https://kratos.example.org/")
        == "https://kratos.example.org/.well-known/ory/webauthn.js"
    )


# --- Chromium with a virtual authenticator ------------------------------------------------------

needs_browser = pytest.mark.skipif(
    not (CHROMIUM and find_spec("playwright")), reason="needs Debian's chromium and the playwright package"
)


def _input(name: str, kind: str = "hidden", value: str = "", onclick: str = "") -> str:
    click = f' onclick="{html.escape(onclick)}"' if onclick else ""
    return f'<input name="{name}" type="{kind}" value="{html.escape(value)}"{click}>'


def _stored(options: CeremonyOptions) -> CeremonySession:
    return CeremonySession.from_json(json.loads(json.dumps(options.session.to_json())))


@dataclass
class Tab:
    """A Chromium page and the errors it reported (page errors, console errors, alerts)."""

    page: Any
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser_page(site: Site) -> Iterator[Tab]:
    """A Chromium page with a CTAP2 virtual authenticator that keeps resident keys and verifies users."""
    if not (CHROMIUM and find_spec("playwright")):
        pytest.skip("needs Debian's chromium and the playwright package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        cdp = page.context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )
        tab = Tab(page)

        def dismiss(dialog: Any) -> None:
            tab.errors.append(dialog.message)
            dialog.dismiss()

        page.on("pageerror", lambda exc: tab.errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: (
                tab.errors.append(msg.text)
                if msg.type == "error" and "favicon" not in msg.location.get("url", "")
                else None
            ),
        )
        page.on("dialog", dismiss)
        yield tab
        browser.close()


def _run(site: Site, tab: Tab, nodes: list[str], trigger: str, *, expect_post: bool = True) -> dict[str, str]:
    """Load ``nodes``, wait for the script, click ``trigger`` and return what the form posted."""
    site.nodes = nodes
    page = tab.page
    tab.errors.clear()
    page.goto(f"{site.origin}/page")
    page.wait_for_function("window.__oryWebAuthnInitialized === true", timeout=10_000)
    assert page.evaluate(f"[{', '.join(f'typeof window.{n}' for n in GLOBALS)}]") == ["function"] * len(
        GLOBALS
    )
    page.click(f'[name="{trigger}"]')
    try:
        posted = site.posted.get(timeout=15 if expect_post else 3)
    except queue.Empty:
        if expect_post:
            pytest.fail(f"the page posted nothing; page errors: {tab.errors}")
        return {}
    assert expect_post, f"the page posted {posted}"
    page.wait_for_url(f"{site.origin}/submit", timeout=10_000)  # the next page load must not interrupt it
    return posted


@needs_browser
def test_security_key_registration_and_login_in_chromium(site: Site, browser_page: Tab) -> None:
    rp = RelyingParty("localhost", "Test", (site.origin,))
    options = rp.registration_options(b"user-1")
    value = options.to_json()
    posted = _run(
        site,
        browser_page,
        [
            _input("webauthn_register"),
            _input("webauthn_register_trigger", "button", value, f"window.oryWebAuthnRegistration({value})"),
        ],
        "webauthn_register_trigger",
    )
    key = rp.verify_registration(posted["webauthn_register"], _stored(options), passwordless=False)
    config = WebAuthnConfig([key.credential], key.user_handle)

    login = rp.login_options(config.credentials, config.user_handle)
    value = login.to_json()
    posted = _run(
        site,
        browser_page,
        [
            _input("webauthn_login"),
            _input("webauthn_login_trigger", "button", value, "window.oryWebAuthnLogin()"),
        ],
        "webauthn_login_trigger",
    )
    used = rp.verify_login(posted["webauthn_login"], _stored(login), config.credentials, config.user_handle)
    assert used.sign_count > key.credential.sign_count or used.sign_count == 0


@needs_browser
def test_passkey_registration_login_and_settings_in_chromium(site: Site, browser_page: Tab) -> None:
    rp = RelyingParty("localhost", "Test", (site.origin,))
    handle = b"passkey-user-handle-0123456789"
    options = rp.registration_options(handle, resident_key="required", user_verification="preferred")
    create_data = go_json({"credentialOptions": options.options, "displayNameFieldName": "traits.email"})
    posted = _run(
        site,
        browser_page,
        [
            _input("traits.email", "email", "ada@example.com"),
            _input("passkey_create_data", value=create_data),
            _input("passkey_register"),
            _input("passkey_register_trigger", "button", onclick="window.oryPasskeyRegistration()"),
        ],
        "passkey_register_trigger",
    )
    assert posted["traits.email"] == "ada@example.com"
    key = rp.verify_registration(posted["passkey_register"], _stored(options), passwordless=True)
    config = WebAuthnConfig([key.credential], key.user_handle)

    login = rp.discoverable_login_options()
    posted = _run(
        site,
        browser_page,
        [
            _input("identifier", "text"),
            _input("passkey_challenge", value=login.to_json()),
            _input("passkey_login"),
            _input("passkey_login_trigger", "button", onclick="window.oryPasskeyLogin()"),
        ],
        "passkey_login_trigger",
    )
    # The authenticator found the passkey by RP id alone and returned its user handle.
    returned = json.loads(posted["passkey_login"])["response"]["userHandle"]
    assert base64.urlsafe_b64decode(returned + "==") == handle
    rp.verify_login(posted["passkey_login"], _stored(login), config.credentials, config.user_handle)

    settings = [
        _input("passkey_settings_register"),
        _input("passkey_register_trigger", "button", onclick="window.oryPasskeySettingsRegistration()"),
    ]
    more = rp.registration_options(b"another-handle", user_name="ada@example.com", resident_key="required")
    posted = _run(
        site,
        browser_page,
        [_input("passkey_create_data", value=more.to_json()), *settings],
        "passkey_register_trigger",
    )
    second = rp.verify_registration(posted["passkey_settings_register"], _stored(more), passwordless=True)
    assert second.credential.id != key.credential.id

    # excludeCredentials names the first passkey: the authenticator refuses, nothing is posted.
    again = rp.registration_options(handle, resident_key="required", exclude=config.credentials)
    nodes = [_input("passkey_create_data", value=again.to_json()), *settings]
    assert _run(site, browser_page, nodes, "passkey_register_trigger", expect_post=False) == {}
    deadline = time.monotonic() + 15  # the refusal is reported asynchronously (late on a busy machine)
    while not any("InvalidStateError" in e for e in browser_page.errors) and time.monotonic() < deadline:
        browser_page.page.wait_for_timeout(100)
    assert any("InvalidStateError" in e for e in browser_page.errors), browser_page.errors
