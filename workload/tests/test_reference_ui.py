"""Ory's reference self-service UI (kratos-selfservice-ui-node) in headless Chromium against this server.

Needs a built checkout of github.com/ory/kratos-selfservice-ui-node (``npm ci && npm run build``) named by
``KRATOS_SELFSERVICE_UI``, Debian's ``chromium`` and the ``playwright`` package; skipped without them (the UI
is not on a package registry, so CI machines cannot fetch it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
import pytest
from kratos_process import KratosProcess
from netutil import free_port
from smtp_sink import SmtpSink

UI_DIR = os.environ.get("KRATOS_SELFSERVICE_UI", "")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORD = "a-Long-passphrase-42"
pytestmark = pytest.mark.skipif(
    not (UI_DIR and (Path(UI_DIR) / "lib" / "index.js").exists() and CHROMIUM and find_spec("playwright")),
    reason="set KRATOS_SELFSERVICE_UI to a built kratos-selfservice-ui-node, install chromium and playwright",
)


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    """Where the server's courier sends its emails."""
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ui_url(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[str]:
    """Our server (its courier included) and the reference UI beside it, both on loopback."""
    port = free_port()
    ui = f"http://127.0.0.1:{port}"
    work = tmp_path_factory.mktemp("reference-ui")
    kratos = KratosProcess(
        work,
        f"sqlite://{work}/kratos.sqlite?_fk=true",
        overrides={
            "selfservice": {
                "default_browser_return_url": f"{ui}/welcome",
                "allowed_return_urls": [ui],
                "methods": {
                    "password": {"config": {"haveibeenpwned_enabled": False}},
                    "totp": {"enabled": True, "config": {"issuer": "Example"}},
                    "lookup_secret": {"enabled": True},
                },
                "flows": {
                    "login": {"ui_url": f"{ui}/login"},
                    "registration": {
                        "ui_url": f"{ui}/registration",
                        "after": {"password": {"hooks": [{"hook": "session"}]}},
                    },
                    "settings": {"ui_url": f"{ui}/settings"},
                    "error": {"ui_url": f"{ui}/error"},
                    "logout": {"after": {"default_browser_return_url": f"{ui}/login"}},
                    "recovery": {"enabled": True, "ui_url": f"{ui}/recovery"},
                    "verification": {"enabled": True, "ui_url": f"{ui}/verification"},
                },
            },
            "courier": {
                "smtp": {"connection_uri": f"smtp://127.0.0.1:{sink.port}/?disable_starttls=true"},
                "worker": {"pull_wait": "100ms"},
            },
        },
    )
    kratos.migrate()
    kratos.start("--watch-courier")
    env = {
        **os.environ,
        "PORT": str(port),
        "KRATOS_PUBLIC_URL": kratos.public_url,
        "KRATOS_BROWSER_URL": kratos.public_url,
        "COOKIE_SECRET": "changeme-changeme",
        "CSRF_COOKIE_NAME": "ui_csrf",
        "CSRF_COOKIE_SECRET": "changeme-changeme",
        "DANGEROUSLY_DISABLE_SECURE_CSRF_COOKIES": "true",
    }
    node = subprocess.Popen(
        ["node", "lib/index.js"],
        cwd=UI_DIR,
        env=env,
        stdout=(work / "ui.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{ui}/health/alive", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield ui
    finally:
        node.terminate()
        node.wait(10)
        kratos.stop()


def test_sign_up_in_two_steps_sign_in_change_settings_and_sign_out(ui_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    email = f"{uuid.uuid4().hex[:10]}@example.com"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        # Registration: traits first, then the password.
        _sign_up(page, ui_url, email)
        page.wait_for_url(f"{ui_url}/welcome**")
        page.goto(f"{ui_url}/sessions")
        expect(page.locator("body")).to_contain_text(email)
        # Sign out, then a wrong password, then the right one.
        page.goto(f"{ui_url}/welcome")
        page.click("text=Log out")
        page.wait_for_url(f"{ui_url}/login**")
        page.fill('input[name="identifier"]', email)
        page.fill('input[name="password"]', "not-the-password")
        page.click('button[name="method"][value="password"]')
        expect(page.locator("body")).to_contain_text("The provided credentials are invalid")
        page.fill('input[name="identifier"]', email)
        page.fill('input[name="password"]', PASSWORD)
        page.click('button[name="method"][value="password"]')
        page.wait_for_url(f"{ui_url}/welcome**")
        # Settings: a new email address.
        changed = f"new-{email}"
        page.goto(f"{ui_url}/settings")
        page.fill('input[name="traits.email"]', changed)
        page.click('button[name="method"][value="profile"]')
        expect(page.locator("body")).to_contain_text("Your changes have been saved")
        browser.close()


def test_recover_an_account_by_code_and_set_a_new_password(ui_url: str, sink: SmtpSink) -> None:
    from playwright.sync_api import expect, sync_playwright

    email = f"{uuid.uuid4().hex[:10]}@example.com"
    new_password = "another-Long-passphrase-7"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        _sign_up(page, ui_url, email)
        page.wait_for_url(f"{ui_url}/**")
        page.context.clear_cookies()
        # Forgot the password: ask for a code, read it from the email, enter it.
        page.goto(f"{ui_url}/recovery")
        page.fill('input[name="email"]', email)
        page.click('button[name="method"][value="code"]')
        expect(page.locator("body")).to_contain_text("An email containing a recovery code has been sent")
        code = _code_sent_to(sink, email, "recovery")
        page.fill('input[name="code"]', code)
        page.click('button[name="method"][value="code"]')
        page.wait_for_url(f"{ui_url}/settings**")
        expect(page.locator("body")).to_contain_text("You successfully recovered your account")
        page.fill('input[name="password"]', new_password)
        page.click('button[name="method"][value="password"]')
        expect(page.locator("body")).to_contain_text("Your changes have been saved")
        # The new password signs in.
        page.context.clear_cookies()
        page.goto(f"{ui_url}/login")
        page.fill('input[name="identifier"]', email)
        page.fill('input[name="password"]', new_password)
        page.click('button[name="method"][value="password"]')
        page.wait_for_url(f"{ui_url}/welcome**")
        browser.close()


def test_set_up_an_authenticator_app_and_sign_in_with_its_code(ui_url: str) -> None:
    import pyotp
    from playwright.sync_api import expect, sync_playwright

    email = f"{uuid.uuid4().hex[:10]}@example.com"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        _sign_up(page, ui_url, email)
        page.wait_for_url(f"{ui_url}/welcome**")
        # Settings: the QR code and the secret as Ory's UI shows them; the app's code confirms it.
        page.goto(f"{ui_url}/settings")
        expect(page.locator('img[src^="data:image/png;base64,"]')).to_be_visible()
        secret = page.locator('[data-testid="node/text/totp_secret_key/text"], #totp_secret_key').first
        app = pyotp.TOTP(secret.inner_text().strip())
        page.fill('input[name="totp_code"]', app.now())
        page.click('button[name="method"][value="totp"]')
        expect(page.locator("body")).to_contain_text("Your changes have been saved")
        # Signed out, the password alone is not enough: Ory's UI asks for the code.
        page.context.clear_cookies()
        page.goto(f"{ui_url}/login")
        page.fill('input[name="identifier"]', email)
        page.fill('input[name="password"]', PASSWORD)
        page.click('button[name="method"][value="password"]')
        page.wait_for_selector('input[name="totp_code"]')
        page.fill('input[name="totp_code"]', app.at(time.time() + 30))
        page.click('button[name="method"][value="totp"]')
        page.wait_for_url(f"{ui_url}/welcome**")
        page.goto(f"{ui_url}/sessions")
        expect(page.locator("body")).to_contain_text("aal2")
        browser.close()


def _sign_up(page: Any, ui_url: str, email: str) -> None:
    """Registration: traits first, then the password."""
    page.goto(f"{ui_url}/registration")
    page.fill('input[name="traits.email"]', email)
    page.click('button[name="method"][value="profile"]')
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[name="method"][value="password"]')


def _code_sent_to(sink: SmtpSink, address: str, purpose: str, timeout: float = 15.0) -> str:
    """The six-digit code of the newest ``purpose`` email to ``address``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for received in reversed(list(sink.received)):
            text = received.message.get_body(("plain",)).get_content()
            if address in received.rcpt_tos and purpose in str(received.message["Subject"]).lower():
                found = re.search(r"\b(\d{6})\b", text)
                if found:
                    return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no {purpose} code reached {address}")
