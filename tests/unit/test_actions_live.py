"""Actions against the real workload, started with the config the charm renders (enforce_mfa on).

A user signs up and sets up an authenticator app and backup codes through the public API, as the login UI
does; `reset-identity-mfa` then removes those real credentials and the identity signs in without them.
"""

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from ops import testing
from test_actions import run, running_state

from charm import KratosCharm

pyotp = pytest.importorskip("pyotp", reason="the workload package is installed by `tox -e unit`")
pytest.importorskip("kratos", reason="the workload package is installed by `tox -e unit`")
from live_kratos import LiveKratos  # noqa: E402 - after the skip: it renders with the workload's deps

sys.path.insert(0, str(Path(__file__).parents[2] / "workload" / "tests"))
from webauthn_authenticator import SoftAuthenticator  # noqa: E402 - the workload tests' software key

PASSWORD = "correct-Horse-battery-9"
EMAIL = "ada@example.com"


@pytest.fixture
def kratos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveKratos]:
    with LiveKratos(tmp_path, {"enforce_mfa": True}) as live:
        monkeypatch.setattr(KratosCharm, "admin_url", live.admin)
        yield live


def node(flow: dict[str, Any], name: str) -> dict[str, Any]:
    return next(
        n for n in flow["ui"]["nodes"] if name in (n["attributes"].get("name"), n["attributes"].get("id"))
    )


def sign_up_with_both_second_factors(kratos: LiveKratos) -> tuple[str, str]:
    """A new identity with a TOTP app and confirmed backup codes; its token and one backup code."""
    traits = {"email": EMAIL, "given_name": "Ada"}
    signed_up = kratos.submit(
        "registration", None, {"method": "password", "password": PASSWORD, "traits": traits}
    )
    assert signed_up.status_code == 200, signed_up.text
    token = signed_up.json()["session_token"]
    flow = kratos.api("GET", "/self-service/settings/api", token).json()
    secret = node(flow, "totp_secret_key")["attributes"]["text"]["context"]["secret"]
    totp = pyotp.TOTP(secret).now()
    enrolled = kratos.api(
        "POST",
        "/self-service/settings",
        token,
        params={"flow": flow["id"]},
        json={"method": "totp", "totp_code": totp},
    )
    assert enrolled.status_code == 200, enrolled.text
    shown = kratos.submit(
        "settings", token, {"method": "lookup_secret", "lookup_secret_regenerate": True}
    ).json()
    code = node(shown, "lookup_secret_codes")["attributes"]["text"]["context"]["secrets"][0]["context"][
        "secret"
    ]
    confirmed = kratos.api(
        "POST",
        "/self-service/settings",
        token,
        params={"flow": shown["id"]},
        json={"method": "lookup_secret", "lookup_secret_confirm": True},
    )
    assert confirmed.status_code == 200, confirmed.text
    return token, code


def password_login(kratos: LiveKratos) -> dict[str, Any]:
    answer = kratos.submit("login", None, {"method": "password", "identifier": EMAIL, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_reset_identity_mfa_removes_real_totp_and_backup_codes(
    ctx: testing.Context[KratosCharm], kratos: LiveKratos
) -> None:
    _, code = sign_up_with_both_second_factors(kratos)
    aal1 = password_login(kratos)["session_token"]
    assert kratos.api("GET", "/sessions/whoami", aal1).status_code == 403  # the second factor is asked for

    removed = run(ctx, "reset-identity-mfa", email=EMAIL, **{"mfa-type": "totp"})
    assert removed["removed"] == "totp"
    step_up = kratos.api("GET", "/self-service/login/api", aal1, params={"aal": "aal2"}).json()
    offered = {n["attributes"].get("name") for n in step_up["ui"]["nodes"]}
    assert "totp_code" not in offered
    assert "lookup_secret" in offered  # the backup codes still count
    assert kratos.api("GET", "/sessions/whoami", aal1).status_code == 403

    run(ctx, "reset-identity-mfa", email=EMAIL, **{"mfa-type": "lookup_secret"})
    assert kratos.api("GET", "/sessions/whoami", aal1).status_code == 200  # no second factor left
    later = password_login(kratos)
    assert later["session"]["identity"]["traits"]["email"] == EMAIL
    unknown = kratos.submit(
        "login", later["session_token"], {"method": "lookup_secret", "lookup_secret": code}, aal="aal2"
    )
    assert unknown.status_code == 400  # the old backup code is gone with its credential

    with pytest.raises(testing.ActionFailed) as again:
        ctx.run(
            ctx.on.action("reset-identity-mfa", params={"email": EMAIL, "mfa-type": "totp"}), running_state()
        )
    assert "has no totp credential" in again.value.message


ORIGIN = "http://localhost:4455"  # the public URL the charm renders: its host is the WebAuthn relying party


def browser_login(kratos: LiveKratos, browser: requests.Session) -> None:
    """Sign in with the password through the browser flow (the charm renders identifier_first)."""

    def shown(started: requests.Response) -> dict[str, Any]:
        assert started.status_code == 303, started.text
        flow_id = parse_qs(urlsplit(started.headers["location"]).query)["flow"][0]
        return browser.get(f"{kratos.public}/self-service/login/flows", params={"id": flow_id}).json()

    def post(flow: dict[str, Any], fields: dict[str, str]) -> requests.Response:
        data = {"csrf_token": node(flow, "csrf_token")["attributes"]["value"], **fields}
        return browser.post(
            f"{kratos.public}/self-service/login",
            params={"flow": flow["id"]},
            data=data,
            allow_redirects=False,
        )

    flow = shown(browser.get(f"{kratos.public}/self-service/login/browser", allow_redirects=False))
    flow = shown(post(flow, {"method": "identifier_first", "identifier": EMAIL}))
    assert post(flow, {"method": "password", "identifier": EMAIL, "password": PASSWORD}).status_code == 303


def test_reset_identity_mfa_removes_a_real_security_key(
    ctx: testing.Context[KratosCharm], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = SoftAuthenticator()
    with LiveKratos(tmp_path, {"enforce_mfa": True, "dev": True}, public_url=ORIGIN) as kratos:
        monkeypatch.setattr(KratosCharm, "admin_url", kratos.admin)
        traits = {"email": EMAIL, "given_name": "Ada"}
        body = {"method": "password", "password": PASSWORD, "traits": traits}
        identity_id = kratos.submit("registration", None, body).json()["identity"]["id"]
        with requests.Session() as browser:
            browser_login(kratos, browser)
            started = browser.get(f"{kratos.public}/self-service/settings/browser", allow_redirects=False)
            flow_id = parse_qs(urlsplit(started.headers["location"]).query)["flow"][0]
            flow = browser.get(f"{kratos.public}/self-service/settings/flows", params={"id": flow_id}).json()
            options = node(flow, "webauthn_register_trigger")["attributes"]["value"]
            added = browser.post(
                f"{kratos.public}/self-service/settings",
                params={"flow": flow_id},
                data={
                    "csrf_token": node(flow, "csrf_token")["attributes"]["value"],
                    "webauthn_register": key.create(options, ORIGIN),
                    "webauthn_register_displayname": "YubiKey",
                },
                allow_redirects=False,
            )
            assert added.status_code == 303, added.text
            assert (
                browser.get(f"{kratos.public}/sessions/whoami").json()["authenticator_assurance_level"]
                == "aal2"
            )

        def keys() -> list[dict[str, Any]]:
            found = requests.get(
                f"{kratos.admin}/admin/identities/{identity_id}",
                params={"include_credential": "webauthn"},
                timeout=30,
            ).json()
            return ((found.get("credentials") or {}).get("webauthn") or {}).get("config", {}).get(
                "credentials"
            ) or []

        assert [k["display_name"] for k in keys()] == ["YubiKey"]
        removed = run(ctx, "reset-identity-mfa", email=EMAIL, **{"mfa-type": "webauthn"})
        assert removed == {"identity-id": identity_id, "removed": "webauthn"}
        assert keys() == []
        aal1 = password_login(kratos)
        assert (
            aal1["session"]["identity"]["traits"]["email"] == EMAIL
        )  # no second factor is asked for any more
