"""Actions against the real workload, started with the config the charm renders (enforce_mfa on).

A user signs up and sets up an authenticator app and backup codes through the public API, as the login UI
does; `reset-identity-mfa` then removes those real credentials and the identity signs in without them.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ops import testing
from test_actions import run, running_state

from charm import KratosCharm

pyotp = pytest.importorskip("pyotp", reason="the workload package is installed by `tox -e unit`")
pytest.importorskip("kratos", reason="the workload package is installed by `tox -e unit`")
from live_kratos import LiveKratos  # noqa: E402 - after the skip: it renders with the workload's deps

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
