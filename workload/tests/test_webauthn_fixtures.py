"""Upstream's recorded browser responses (``data/upstream/webauthn-fixtures``, from upstream's
``selfservice/strategy/{webauthn,passkey}/fixtures``) verify with our relying party and its stored state.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from kratos.identity.credentials.webauthn import WebAuthnConfig
from kratos.selfservice.strategy.webauthn.ceremony import RelyingParty, authenticator_name
from kratos.selfservice.strategy.webauthn.errors import Refusal, WebAuthnError
from kratos.selfservice.strategy.webauthn.session import CeremonySession

FIXTURES = Path(__file__).parent / "data" / "upstream" / "webauthn-fixtures"
UPSTREAM_RP = RelyingParty("localhost", "Ory Corp", ("http://localhost:4455",))


def fixture(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text())


def test_upstream_stored_configs_round_trip() -> None:
    for name in ("v1", "v1_handle", "v1_passwordless"):
        document = fixture(f"webauthn/login/success/mfa/{name}/credentials.json")
        assert WebAuthnConfig.from_json(document).to_json() == document
    assert (
        WebAuthnConfig.from_json(fixture("passkey/login/success/credentials.json")).user_handle
        == b"some-random-user-handle"
    )


@pytest.mark.parametrize("name", ["v1", "v1_handle", "v1_passwordless"])
def test_upstream_security_key_logins_verify(name: str) -> None:
    config = WebAuthnConfig.from_json(fixture(f"webauthn/login/success/mfa/{name}/credentials.json"))
    session = CeremonySession.from_json(
        fixture(f"webauthn/login/success/mfa/{name}/internal_context.json")["webauthn_session_data"]
    )
    response = (FIXTURES / f"webauthn/login/success/mfa/{name}/response.json").read_text()
    used = UPSTREAM_RP.verify_login(response, session, config.credentials, config.user_handle)
    assert used.sign_count == 10  # stored 3, the browser reported 10
    with pytest.raises(WebAuthnError) as excinfo:  # the same response on another RP
        RelyingParty("localhost", "Ory Corp", ("https://localhost",)).verify_login(
            response, session, config.credentials, config.user_handle
        )
    assert excinfo.value.refusal == Refusal.ORIGIN


def test_upstream_v0_login_verifies_once_the_user_handle_is_the_identity_id() -> None:
    config = WebAuthnConfig.from_json(fixture("webauthn/login/success/mfa/v0/credentials.json"))
    assert config.user_handle is None
    assert not config.credentials[0].is_passwordless
    config.user_handle = uuid.UUID(
        "f5d1b6a3-a4bb-44f7-9161-f4f877efe9ad"
    ).bytes  # upstream's v0 -> v1 upgrade
    session = CeremonySession.from_json(
        fixture("webauthn/login/success/mfa/v0/internal_context.json")["webauthn_session_data"]
    )
    response = (FIXTURES / "webauthn/login/success/mfa/v0/response.json").read_text()
    assert (
        UPSTREAM_RP.verify_login(response, session, config.credentials, config.user_handle).sign_count == 10
    )


def test_upstream_invalid_login_is_refused() -> None:
    config = WebAuthnConfig.from_json(fixture("webauthn/login/success/mfa/v1/credentials.json"))
    session = CeremonySession.from_json(
        fixture("webauthn/login/success/mfa/v1/internal_context.json")["webauthn_session_data"]
    )
    response = (FIXTURES / "webauthn/login/success/mfa/response.invalid.json").read_text()
    with pytest.raises(WebAuthnError) as excinfo:
        UPSTREAM_RP.verify_login(response, session, config.credentials, config.user_handle)
    assert excinfo.value.refusal == Refusal.USER_HANDLE
    assert excinfo.value.message.id == 4000043


def test_upstream_passkey_login_verifies() -> None:
    config = WebAuthnConfig.from_json(fixture("passkey/login/success/credentials.json"))
    session = CeremonySession.from_json(
        fixture("passkey/login/success/internal_context.json")["passkey_session_data"]
    )
    response = (FIXTURES / "passkey/login/success/response.json").read_text()
    assert session.user_id is None  # a discoverable login
    assert (
        UPSTREAM_RP.verify_login(response, session, config.credentials, config.user_handle).sign_count == 10
    )


@pytest.mark.parametrize(
    "path",
    ["webauthn/registration/success", "webauthn/settings/success", "passkey/registration/success/browser"],
)
def test_upstream_registrations_verify(path: str) -> None:
    state = fixture(f"{path}/internal_context.json")
    session = CeremonySession.from_json(state.get("webauthn_session_data") or state["passkey_session_data"])
    key = UPSTREAM_RP.verify_registration(
        (FIXTURES / f"{path}/response.json").read_text(), session, passwordless=True
    )
    assert key.user_handle == uuid.UUID("6e11a9a7-62fd-4c88-871a-097f18f0306f").bytes
    assert key.credential.sign_count == 4
    assert key.credential.attestation_type == "none"
    assert key.credential.display_name == ""  # an all-zero AAGUID names no model


def test_upstream_android_passkey_registration_verifies() -> None:
    # Android posts "clientDataJson"; Go's decoder matches keys case-insensitively, and so do we.
    android = RelyingParty(
        "www.troweprice.com", "T", ("android:apk-key-hash:S2RfNYgJmQiKgd6-sdbjW7phcL_OTP4vGE8L51Q2GB0",)
    )
    state = fixture("passkey/registration/success/android/internal_context.json")["passkey_session_data"]
    state["user_id"] = base64.b64encode(b"android-user").decode()  # upstream's test replaces it too
    response = (FIXTURES / "passkey/registration/success/android/response.json").read_text()
    key = android.verify_registration(response, CeremonySession.from_json(state), passwordless=True)
    assert key.credential.display_name == "Google Password Manager"
    assert (
        authenticator_name(key.credential.authenticator.aaguid if key.credential.authenticator else b"")
        == "Google Password Manager"
    )
    assert key.user_handle == b"android-user"
