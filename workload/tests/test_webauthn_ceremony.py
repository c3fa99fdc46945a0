"""WebAuthn ceremonies: options in upstream's JSON, real authenticator output verified, every refusal.

The software authenticator (``webauthn_authenticator``) makes real ES256 keys, CBOR and signatures.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from webauthn_authenticator import NotAllowed, SoftAuthenticator, b64url, corrupt_signature, with_field

from kratos.config.selfservice import PasskeyConfig, WebauthnConfig
from kratos.identity.credentials.webauthn import CredentialConfigError, WebAuthnConfig, WebAuthnCredential
from kratos.selfservice.strategy.base import ValidationFailed
from kratos.selfservice.strategy.webauthn.ceremony import CeremonyOptions, RelyingParty
from kratos.selfservice.strategy.webauthn.errors import Refusal, WebAuthnError
from kratos.selfservice.strategy.webauthn.session import CeremonySession, internal_context_key

ORIGIN = "https://auth.example.com"


def security_keys() -> RelyingParty:
    """The webauthn method's relying party as the config builds it."""
    config = WebauthnConfig.model_validate(
        {"rp": {"id": "auth.example.com", "display_name": "Example", "origins": [ORIGIN]}}
    )
    return RelyingParty.for_webauthn(config, "https://auth.example.com/")


def passkeys(**config: Any) -> RelyingParty:
    """The passkey method's relying party as the config builds it."""
    body = {"rp": {"id": "auth.example.com", "display_name": "Example", "origins": [ORIGIN]}, **config}
    return RelyingParty.for_passkey(PasskeyConfig.model_validate(body), "https://auth.example.com/")


def stored(options: CeremonyOptions) -> CeremonySession:
    """The session as a flow keeps it: through its JSON and back."""
    return CeremonySession.from_json(json.loads(json.dumps(options.session.to_json())))


def register(rp: RelyingParty, device: SoftAuthenticator, handle: bytes, **create: Any) -> WebAuthnConfig:
    options = rp.registration_options(handle)
    key = rp.verify_registration(
        device.create(options.to_json(), ORIGIN, **create), stored(options), passwordless=False
    )
    return WebAuthnConfig([key.credential], key.user_handle)


def refusal(excinfo: pytest.ExceptionInfo[WebAuthnError]) -> tuple[Refusal, int]:
    return excinfo.value.refusal, excinfo.value.message.id


# --- options ------------------------------------------------------------------------------------


def test_security_key_registration_options_have_upstreams_shape() -> None:
    rp = security_keys()
    old = WebAuthnCredential(id=b"old-key", public_key=b"k", transport=["usb"])
    options = rp.registration_options(b"\x01\x02handle", exclude=[old])
    public_key = options.options["publicKey"]
    assert list(public_key) == [
        "rp", "user", "challenge", "pubKeyCredParams",
        "timeout", "excludeCredentials", "authenticatorSelection",
    ]  # fmt: skip
    assert public_key["rp"] == {"name": "Example", "id": "auth.example.com"}
    # go-webauthn names the user after the RP when Kratos gives no name, and encodes the id base64url.
    assert public_key["user"] == {"name": "Example", "displayName": "Example", "id": "AQJoYW5kbGU"}
    assert [p["alg"] for p in public_key["pubKeyCredParams"]] == [
        -7,
        -35,
        -36,
        -257,
        -258,
        -259,
        -37,
        -38,
        -39,
        -8,
    ]
    assert public_key["timeout"] == 120000  # user verification discouraged
    assert public_key["authenticatorSelection"] == {"userVerification": "discouraged"}
    assert public_key["excludeCredentials"] == [
        {"type": "public-key", "id": b64url(b"old-key"), "transports": ["usb"]}
    ]
    assert len(base64.urlsafe_b64decode(public_key["challenge"] + "=")) == 32
    assert options.to_json().startswith('{"publicKey":{"rp":{"name":"Example","id":"auth.example.com"}')

    session = options.session.to_json()
    assert session == {
        "challenge": public_key["challenge"],
        "rpId": "auth.example.com",
        "user_id": base64.b64encode(b"\x01\x02handle").decode(),
        "expires": "0001-01-01T00:00:00Z",
        "userVerification": "discouraged",
    }
    assert internal_context_key("webauthn") == "webauthn_session_data"


def test_passkey_options_follow_the_config() -> None:
    rp = passkeys()
    create = rp.registration_options(b"handle", user_name="ada@example.com").options["publicKey"]
    assert create["authenticatorSelection"] == {
        "requireResidentKey": True,
        "residentKey": "required",
        "userVerification": "preferred",
    }
    assert create["attestation"] == "none"
    assert create["timeout"] == 300000
    assert create["user"]["name"] == create["user"]["displayName"] == "ada@example.com"
    login = rp.discoverable_login_options()
    assert login.options == {
        "publicKey": {
            "challenge": login.options["publicKey"]["challenge"],
            "timeout": 300000,
            "rpId": "auth.example.com",
            "userVerification": "preferred",
        }
    }
    assert login.session.to_json()["user_id"] is None

    tuned = passkeys(
        authenticator_selection={
            "attachment": "platform",
            "resident_key": "preferred",
            "user_verification": "required",
        },
        attestation={"preference": "direct"},
        timeouts={"registration": "1m", "login": "30s"},
    )
    create = tuned.registration_options(b"handle").options["publicKey"]
    assert create["authenticatorSelection"] == {
        "authenticatorAttachment": "platform",
        "requireResidentKey": False,
        "residentKey": "preferred",
        "userVerification": "required",
    }
    assert (create["attestation"], create["timeout"]) == ("direct", 60000)
    assert tuned.discoverable_login_options().options["publicKey"]["timeout"] == 30000


def test_origins_default_as_upstream() -> None:
    legacy = WebauthnConfig.model_validate(
        {"rp": {"id": "example.org", "display_name": "E", "origin": "https://x.org"}}
    )
    assert RelyingParty.for_webauthn(legacy, "http://127.0.0.1:4433/").origins == ("https://x.org",)
    bare = WebauthnConfig.model_validate({"rp": {"id": "example.org", "display_name": "E"}})
    assert RelyingParty.for_webauthn(bare, "https://kratos.example.org/").origins == ("https://example.org",)
    with pytest.raises(ValueError, match=r"selfservice\.methods\.passkey\.config\.rp: is required"):
        RelyingParty.for_passkey(PasskeyConfig(), "https://kratos.example.org/")


def test_login_options_list_the_given_keys() -> None:
    rp = security_keys()
    config = register(rp, SoftAuthenticator(), b"user-1")
    options = rp.login_options(config.credentials, config.user_handle)
    public_key = options.options["publicKey"]
    assert list(public_key) == ["challenge", "timeout", "rpId", "allowCredentials", "userVerification"]
    assert public_key["allowCredentials"] == [{"type": "public-key", "id": b64url(config.credentials[0].id)}]
    session = options.session.to_json()
    assert session["allowed_credentials"] == [base64.b64encode(config.credentials[0].id).decode()]
    assert session["user_id"] == base64.b64encode(b"user-1").decode()
    with pytest.raises(ValueError, match="credentials"):
        rp.login_options([], b"user-1")


# --- round trips --------------------------------------------------------------------------------


def test_security_key_registers_and_signs_in_with_an_advancing_counter() -> None:
    rp, device = security_keys(), SoftAuthenticator()
    options = rp.registration_options(b"user-1")
    key = rp.verify_registration(
        device.create(options.to_json(), ORIGIN), stored(options), passwordless=False, display_name="My key"
    )
    body = WebAuthnConfig([key.credential], key.user_handle).to_json()
    entry = body["credentials"][0]
    assert list(entry) == [
        "id", "public_key", "attestation_type", "authenticator",
        "display_name", "added_at", "is_passwordless", "flags",
    ]  # fmt: skip
    assert base64.b64decode(entry["id"]) == device.keys[0].credential_id
    assert entry["attestation_type"] == "none"
    assert entry["authenticator"] == {
        "aaguid": "AAAAAAAAAAAAAAAAAAAAAA==",
        "sign_count": 0,
        "clone_warning": False,
    }
    assert entry["display_name"] == "My key"
    assert entry["added_at"].endswith("Z")
    assert "." not in entry["added_at"]
    assert entry["is_passwordless"] is False
    assert entry["flags"] == {
        "user_present": True,
        "user_verified": True,
        "backup_eligible": False,
        "backup_state": False,
    }
    assert body["user_handle"] == base64.b64encode(b"user-1").decode()

    config = WebAuthnConfig.from_json(json.loads(json.dumps(body)))
    for expected in (1, 2):
        login = rp.login_options(config.credentials, config.user_handle)
        used = rp.verify_login(
            device.get(login.to_json(), ORIGIN), stored(login), config.credentials, config.user_handle
        )
        assert used.sign_count == expected
        config = config.with_key(used)
        assert len(config.credentials) == 1


def test_packed_self_attestation_is_verified() -> None:
    rp, device = security_keys(), SoftAuthenticator(attestation="packed")
    assert register(rp, device, b"user-1").credentials[0].attestation_type == "packed"


def test_passkey_is_discovered_by_rp_id_and_returns_its_user_handle() -> None:
    rp, device = passkeys(), SoftAuthenticator(backup=True, counter_step=0, aaguid=uuid.UUID(
        "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4").bytes)  # fmt: skip
    handle = b"a-64-character-alphanumeric-user-handle-as-upstream-makes-them12"
    options = rp.registration_options(handle, user_name="ada@example.com")
    key = rp.verify_registration(
        device.create(options.to_json(), ORIGIN, resident=True), stored(options), passwordless=True
    )
    assert key.credential.display_name == "Google Password Manager"  # upstream names passkeys by AAGUID
    assert key.credential.flags is not None
    assert key.credential.flags.backup_state
    config = WebAuthnConfig([key.credential], key.user_handle)

    for _ in range(2):  # a synced passkey always reports 0: not a clone
        login = rp.discoverable_login_options()
        response = device.get(login.to_json(), ORIGIN)
        assert base64.urlsafe_b64decode(json.loads(response)["response"]["userHandle"] + "==") == handle
        used = rp.verify_login(response, stored(login), config.credentials, config.user_handle)
        assert used.sign_count == 0


def test_discoverable_login_needs_a_user_handle() -> None:
    rp, device = passkeys(), SoftAuthenticator()
    config = register(rp, device, b"handle")  # not resident: the key returns no user handle
    login = rp.discoverable_login_options()
    response = device.get(rp.login_options(config.credentials, None).to_json(), ORIGIN)
    response = response.replace(
        json.loads(response)["response"]["clientDataJSON"], _reanswer(response, login)
    )
    with pytest.raises(WebAuthnError) as excinfo:
        rp.verify_login(response, stored(login), config.credentials, config.user_handle)
    assert refusal(excinfo) == (Refusal.USER_HANDLE, 4000043)


def _reanswer(response: str, login: CeremonyOptions) -> str:
    """clientDataJSON of ``response`` answering ``login``'s challenge instead (the signature then fails)."""
    data = json.loads(base64.urlsafe_b64decode(json.loads(response)["response"]["clientDataJSON"] + "=="))
    data["challenge"] = login.options["publicKey"]["challenge"]
    return b64url(json.dumps(data).encode())


# --- refusals -----------------------------------------------------------------------------------


@pytest.fixture
def enrolled() -> tuple[RelyingParty, SoftAuthenticator, WebAuthnConfig]:
    rp, device = security_keys(), SoftAuthenticator()
    return rp, device, register(rp, device, b"user-1")


def _login_refusal(
    rp: RelyingParty, config: WebAuthnConfig, response: str, login: CeremonyOptions
) -> tuple[Refusal, int]:
    with pytest.raises(WebAuthnError) as excinfo:
        rp.verify_login(
            response, stored(login), config.credentials, config.user_handle, field="webauthn_login"
        )
    assert isinstance(excinfo.value, ValidationFailed)  # a flow shows it as a form message
    assert excinfo.value.messages == [excinfo.value.message]
    return refusal(excinfo)


def test_login_on_another_origin_is_refused(
    enrolled: tuple[RelyingParty, SoftAuthenticator, WebAuthnConfig],
) -> None:
    rp, device, config = enrolled
    login = rp.login_options(config.credentials, config.user_handle)
    response = device.get(login.to_json(), "https://evil.example.com")
    assert _login_refusal(rp, config, response, login) == (Refusal.ORIGIN, 4000043)


def test_origin_comparison_ignores_case_and_paths(
    enrolled: tuple[RelyingParty, SoftAuthenticator, WebAuthnConfig],
) -> None:
    rp, device, config = enrolled
    login = rp.login_options(config.credentials, config.user_handle)
    response = device.get(login.to_json(), "https://AUTH.example.com/login?x=1")
    assert rp.verify_login(response, stored(login), config.credentials, config.user_handle).sign_count == 1


def test_login_for_another_rp_id_is_refused(
    enrolled: tuple[RelyingParty, SoftAuthenticator, WebAuthnConfig],
) -> None:
    rp, device, config = enrolled
    device.keys[0].rp_id = "evil.example.com"
    login = rp.login_options(config.credentials, config.user_handle)
    response = device.get(login.to_json(), ORIGIN, rp_id="evil.example.com")
    assert _login_refusal(rp, config, response, login) == (Refusal.RP_ID, 4000043)


def test_an_answer_to_another_challenge_is_refused(
    enrolled: tuple[RelyingParty, SoftAuthenticator, WebAuthnConfig],
) -> None:
    rp, device, config = enrolled
    first = rp.login_options(config.credentials, config.user_handle)
    response = device.get(first.to_json(), ORIGIN)
    second = rp.login_options(config.credentials, config.user_handle)
    assert _login_refusal(rp, config, response, second) == (Refusal.CHALLENGE, 4000043)
    used = rp.verify_login(response, stored(first), config.credentials, config.user_handle)
    # Replayed against its own ceremony, the counter did not move on.
    assert _login_refusal(rp, WebAuthnConfig([used], config.user_handle), response, first) == (
        Refusal.CLONED,
        4000043,
    )


def test_a_bad_signature_is_refused(enrolled: tuple[RelyingParty, SoftAuthenticator, WebAuthnConfig]) -> None:
    rp, device, config = enrolled
    login = rp.login_options(config.credentials, config.user_handle)
    response = corrupt_signature(device.get(login.to_json(), ORIGIN))
    assert _login_refusal(rp, config, response, login) == (Refusal.SIGNATURE, 4000043)


def test_a_cloned_authenticator_is_refused(
    enrolled: tuple[RelyingParty, SoftAuthenticator, WebAuthnConfig],
) -> None:
    rp, device, config = enrolled
    clone = device.clone()
    for _ in range(2):
        login = rp.login_options(config.credentials, config.user_handle)
        config.credentials = [
            rp.verify_login(
                device.get(login.to_json(), ORIGIN), stored(login), config.credentials, config.user_handle
            )
        ]
    login = rp.login_options(config.credentials, config.user_handle)
    response = clone.get(login.to_json(), ORIGIN)  # counter 1, the server has seen 2
    with pytest.raises(WebAuthnError) as excinfo:
        rp.verify_login(response, stored(login), config.credentials, config.user_handle)
    assert refusal(excinfo) == (Refusal.CLONED, 4000043)
    assert "from 2 to 1" in str(excinfo.value)
    assert excinfo.value.message.text == "The provided web authn login is invalid, please try again."


def test_required_user_verification_is_enforced() -> None:
    rp, device = passkeys(authenticator_selection={"user_verification": "required"}), SoftAuthenticator()
    options = rp.registration_options(b"handle")
    with pytest.raises(WebAuthnError) as excinfo:
        rp.verify_registration(
            device.create(options.to_json(), ORIGIN, user_verified=False), stored(options), passwordless=True
        )
    assert refusal(excinfo) == (Refusal.USER_VERIFICATION, 4000001)
    config = register(rp, device, b"handle", resident=True)
    login = rp.discoverable_login_options()
    response = device.get(login.to_json(), ORIGIN, user_verified=False)
    assert _login_refusal(rp, config, response, login) == (Refusal.USER_VERIFICATION, 4000043)


def test_a_key_of_another_login_is_refused(
    enrolled: tuple[RelyingParty, SoftAuthenticator, WebAuthnConfig],
) -> None:
    rp, device, config = enrolled
    other = register(rp, device, b"user-1")
    login = rp.login_options(config.credentials, config.user_handle)
    response = device.get(rp.login_options(other.credentials, b"user-1").to_json(), ORIGIN)
    assert _login_refusal(rp, config, response, login)[0] == Refusal.UNKNOWN_CREDENTIAL
    # The same login may not be answered for another user either.
    assert (
        _login_refusal(rp, WebAuthnConfig(config.credentials, b"user-2"), response, login)[0]
        == Refusal.USER_HANDLE
    )


def test_registration_refusals_carry_upstreams_reason() -> None:
    rp, device = security_keys(), SoftAuthenticator()
    options = rp.registration_options(b"user-1")
    with pytest.raises(WebAuthnError) as excinfo:
        rp.verify_registration(
            device.create(options.to_json(), "https://evil.example.com"), stored(options), passwordless=False
        )
    assert refusal(excinfo) == (Refusal.ORIGIN, 4000001)
    assert excinfo.value.message.text.startswith(
        "Unable to create WebAuthn credential: Error validating origin"
    )
    other = rp.registration_options(b"user-1")
    with pytest.raises(WebAuthnError) as excinfo:
        rp.verify_registration(device.create(options.to_json(), ORIGIN), stored(other), passwordless=False)
    assert excinfo.value.refusal == Refusal.CHALLENGE
    with pytest.raises(WebAuthnError) as excinfo:
        rp.verify_registration(
            device.create(options.to_json(), ORIGIN, rp_id="evil.example.com"),
            stored(options),
            passwordless=False,
        )
    assert excinfo.value.refusal == Refusal.RP_ID
    with pytest.raises(WebAuthnError) as excinfo:
        rp.verify_registration(
            device.create(options.to_json(), ORIGIN, user_present=False), stored(options), passwordless=False
        )
    assert excinfo.value.refusal == Refusal.USER_PRESENCE


def test_excluded_keys_are_not_registered_twice(
    enrolled: tuple[RelyingParty, SoftAuthenticator, WebAuthnConfig],
) -> None:
    rp, device, config = enrolled
    with pytest.raises(NotAllowed):
        device.create(rp.registration_options(b"user-1", exclude=config.credentials).to_json(), ORIGIN)


MALFORMED = [
    ("", "the response is empty"),
    ("not json", "the response is not JSON"),
    ("[]", "must be a JSON object"),
    ('{"id": "YQ", "type": "public-key"}', "rawId must be a non-empty string"),
    ('{"id": "YQ", "rawId": "a+b/", "type": "public-key"}', "rawId is not base64url encoded"),
    ('{"id": "Yg", "rawId": "YQ", "type": "public-key"}', "id and rawId name different credentials"),
    ('{"id": "YQ", "rawId": "YQ", "type": "secret"}', 'type must be "public-key"'),
    ('{"id": "YQ", "rawId": "YQ", "type": "public-key"}', "response must be an object"),
]


@pytest.mark.parametrize(("body", "reason"), MALFORMED)
def test_malformed_responses_name_the_bad_key(body: str, reason: str) -> None:
    rp = security_keys()
    login = rp.discoverable_login_options()
    key = WebAuthnCredential(id=b"a", public_key=b"")
    for verify in (
        lambda: rp.verify_login(body, stored(login), [key], b"u", field="webauthn_login"),
        lambda: rp.verify_registration(
            body, stored(rp.registration_options(b"u")), passwordless=False, field="webauthn_login"
        ),
    ):
        with pytest.raises(WebAuthnError) as excinfo:
            verify()
        assert excinfo.value.refusal == Refusal.MALFORMED
        assert excinfo.value.field == "webauthn_login"
        assert reason in excinfo.value.message.text
        assert excinfo.value.message.id == 4000001
        assert excinfo.value.message.text.startswith("Unable to parse WebAuthn response: ")


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("response.clientDataJSON", "%%%", "response.clientDataJSON is not base64url encoded"),
        ("response.clientDataJSON", b64url(b"[1]"), "response.clientDataJSON must be a JSON object"),
        ("response.clientDataJSON", b64url(b'{"type":"webauthn.get"}'), "clientDataJSON.challenge must be"),
        ("response.authenticatorData", b64url(b"short"), "response.authenticatorData cannot be decoded"),
        ("response.signature", None, "response.signature must be a non-empty string"),
    ],
)
def test_damaged_assertions_are_malformed(
    enrolled: tuple[RelyingParty, SoftAuthenticator, WebAuthnConfig],
    path: str,
    value: str | None,
    reason: str,
) -> None:
    rp, device, config = enrolled
    login = rp.login_options(config.credentials, config.user_handle)
    response = with_field(device.get(login.to_json(), ORIGIN), path, value)
    with pytest.raises(WebAuthnError) as excinfo:
        rp.verify_login(response, stored(login), config.credentials, config.user_handle)
    assert excinfo.value.refusal == Refusal.MALFORMED
    assert reason in excinfo.value.reason


def test_a_garbage_attestation_object_is_malformed() -> None:
    rp, device = security_keys(), SoftAuthenticator()
    options = rp.registration_options(b"u")
    response = with_field(
        device.create(options.to_json(), ORIGIN), "response.attestationObject", b64url(b"\xff\x00")
    )
    with pytest.raises(WebAuthnError) as excinfo:
        rp.verify_registration(response, stored(options), passwordless=False)
    assert excinfo.value.refusal == Refusal.MALFORMED
    assert "attestationObject" in excinfo.value.reason


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (None, "no WebAuthn options were issued"),
        ({"user_id": None}, "the stored challenge is missing"),
        ({"challenge": "YWJj", "user_id": "wrong"}, "user_id: is not valid standard base64"),
        ({"challenge": "YWJj", "user_id": ""}, "the stored user handle is missing"),
    ],
)
def test_missing_or_damaged_ceremony_state_is_refused(state: Any, reason: str) -> None:
    rp, device = security_keys(), SoftAuthenticator()
    response = device.create(rp.registration_options(b"u").to_json(), ORIGIN)
    with pytest.raises(WebAuthnError) as excinfo:
        rp.verify_registration(response, CeremonySession.from_json(state), passwordless=False)
    assert excinfo.value.refusal == Refusal.SESSION
    assert reason in excinfo.value.reason


def test_stored_config_errors_name_the_key() -> None:
    with pytest.raises(
        CredentialConfigError, match=r"credentials\[0\]\.public_key: is not valid standard base64"
    ):
        WebAuthnConfig.from_json({"credentials": [{"id": "YQ==", "public_key": "%%"}]})
    with pytest.raises(CredentialConfigError, match=r"credentials\[0\]\.authenticator\.sign_count"):
        WebAuthnConfig.from_json({"credentials": [{"id": "YQ==", "authenticator": {"sign_count": -1}}]})
