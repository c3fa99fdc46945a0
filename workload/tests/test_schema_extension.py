"""The ory.sh/kratos extension: identifiers, addresses, normalisation, its own errors; quickstart schemas."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from kratos.schema import IdentitySchema, TraitsValidationError, load_schemas
from kratos.schema.normalize import IdentifierError, graceful_normalization, normalize_identifier

DATA = Path(__file__).parent / "data" / "schemas"
QUICKSTART = {
    name: DATA / f"quickstart-{name}_identity.schema.json"
    for name in ("all-strategies", "email-password", "oidc", "phone-password")
}


def schema_of(properties: dict[str, Any]) -> IdentitySchema:
    document = {"properties": {"traits": {"type": "object", "properties": properties}}}
    url = "base64://" + base64.b64encode(json.dumps(document).encode()).decode()
    return asyncio.run(load_schemas([("s", url)], "s")).default


def ext(**config: Any) -> dict[str, Any]:
    return {"ory.sh/kratos": config}


def errors_of(schema: IdentitySchema, traits: Any) -> list[tuple[str, dict[str, Any]]]:
    with pytest.raises(TraitsValidationError) as info:
        schema.extract(traits)
    return [(e.pointer, e.message.to_dict()) for e in info.value.errors]


def test_normalisation_rules() -> None:
    assert graceful_normalization(" John.Doe ") == "john.doe"
    assert graceful_normalization(" Foo@Example.COM ") == "foo@example.com"
    assert graceful_normalization("+1 650-253-0000") == "+16502530000"
    assert graceful_normalization("+1 650") == "+1 650"  # not a valid number: left as a username
    assert normalize_identifier("+44 20 7946 0958", "sms") == "+442079460958"
    assert normalize_identifier("NoAt ", "email") == "NoAt "  # only email-looking values change
    with pytest.raises(IdentifierError, match="not a valid phone number"):
        normalize_identifier("+1 650", "sms")
    with pytest.raises(IdentifierError, match="the phone number supplied is not a number"):
        normalize_identifier("phone", "sms")


def test_all_strategies_extraction() -> None:
    schema = asyncio.run(load_schemas([("d", f"file://{QUICKSTART['all-strategies']}")], "d")).default
    found = schema.extract({"email": "Foo@Example.COM", "name": {"first": "Foo"}})
    assert found.credential_identifiers == {
        "password": ["foo@example.com"],
        "webauthn": ["foo@example.com"],
        "code": ["foo@example.com"],
    }
    assert found.code_addresses == [("email", "foo@example.com")]
    assert found.passkey_display_name == "Foo@Example.COM"
    assert found.totp_account_name is None
    assert found.verifiable_addresses == [("email", "foo@example.com")]
    assert found.recovery_addresses == [("email", "foo@example.com")]


def test_username_phone_and_totp() -> None:
    schema = schema_of(
        {
            "username": {"type": "string", **ext(credentials={"password": {"identifier": True}})},
            "phone": {
                "type": "string",
                "format": "tel",
                **ext(
                    credentials={
                        "password": {"identifier": True},
                        "code": {"identifier": True, "via": "sms"},
                    },
                    verification={"via": "sms"},
                    recovery={"via": "sms"},
                ),
            },
            "label": {"type": "string", **ext(credentials={"totp": {"account_name": True}})},
        }
    )
    found = schema.extract({"username": "  JohnDoe ", "phone": "+1 650-253-0000", "label": "John"})
    assert found.credential_identifiers == {"password": ["johndoe", "+16502530000"], "code": ["+16502530000"]}
    assert found.code_addresses == [("sms", "+16502530000")]
    assert found.verifiable_addresses == [
        ("sms", "+1 650-253-0000")
    ]  # upstream only trims verification values
    assert found.recovery_addresses == [("sms", "+16502530000")]
    assert found.totp_account_name == "John"
    assert found.passkey_display_name is None


def test_array_of_emails_with_extension_on_items() -> None:
    schema = schema_of(
        {
            "emails": {
                "type": "array",
                "items": {
                    "type": "string",
                    "format": "email",
                    **ext(
                        credentials={
                            "password": {"identifier": True},
                            "code": {"identifier": True, "via": "email"},
                        },
                        verification={"via": "email"},
                        recovery={"via": "email"},
                    ),
                },
            },
            "backup": {"type": "string", "format": "email", **ext(verification={"via": "email"})},
        }
    )
    found = schema.extract({"emails": ["B@x.io", "a@x.io", "b@X.io"], "backup": "A@x.io"})
    assert found.credential_identifiers == {"password": ["b@x.io", "a@x.io"], "code": ["b@x.io", "a@x.io"]}
    assert found.code_addresses == [("email", "a@x.io"), ("email", "b@x.io")]
    assert found.verifiable_addresses == [("email", "b@x.io"), ("email", "a@x.io")]
    assert found.recovery_addresses == [("email", "b@x.io"), ("email", "a@x.io")]


def test_extension_skips_values_of_the_wrong_type_and_absent_fields() -> None:
    schema = schema_of({"email": {"type": "string", **ext(credentials={"password": {"identifier": True}})}})
    assert schema.extract({}).credential_identifiers == {}
    assert errors_of(schema, {"email": 5}) == [
        (
            "#/traits/email",
            {
                "id": 4000026,
                "text": "expected string, but got number",
                "type": "error",
                "context": {"allowed_types": ["string"], "actual_type": "number"},
            },
        )
    ]


def test_code_sms_with_invalid_number_is_a_validation_error() -> None:
    schema = schema_of(
        {"phone": {"type": "string", **ext(credentials={"code": {"identifier": True, "via": "sms"}})}}
    )
    text = "the provided number is not a valid phone number"
    assert errors_of(schema, {"phone": "+1650"}) == [
        ("#/traits/phone", {"id": 4000001, "text": text, "type": "error", "context": {"reason": text}})
    ]


def test_code_without_via_is_rejected() -> None:
    schema = schema_of({"email": {"type": "string", **ext(credentials={"code": {"identifier": True}})}})
    with pytest.raises(TraitsValidationError) as info:
        schema.validate_traits({"email": "a@b.co"})
    assert info.value.errors[0].message.text == 'channel type "" must be one of email, sms'
    assert info.value.reason() == (
        "I[#/traits/email] S[#/properties/traits/properties/email/ory.sh~/kratos/credentials/code/via] "
        'channel type "" must be one of email, sms'
    )


def test_verification_and_recovery_checks() -> None:
    schema = schema_of(
        {
            "mail": {"type": "string", **ext(verification={"via": "email"}, recovery={"via": "email"})},
            "sms": {"type": "string", **ext(verification={"via": "sms"})},
            "rec": {"type": "string", "format": "no-validate", **ext(recovery={"via": "sms"})},
        }
    )
    errors = errors_of(schema, {"mail": "nope", "sms": "+16502530000", "rec": "+1 650"})
    no_format = (
        "no format specified. A format is required if verification is enabled. "
        'If this was intentional, please set "format" to "no-validate"'
    )
    assert errors == [
        (
            "#/traits/mail",
            {
                "id": 4000040,
                "text": "Enter a valid email address",
                "type": "error",
                "context": {"value": "nope"},
            },
        ),
        (
            "#/traits/sms",
            {"id": 4000001, "text": no_format, "type": "error", "context": {"reason": no_format}},
        ),
        (
            "#/traits/rec",
            {
                "id": 4000001,
                "text": '"+1 650" is not valid "tel" for "sms"',
                "type": "error",
                "context": {"reason": '"+1 650" is not valid "tel" for "sms"'},
            },
        ),
    ]
    assert errors_of(schema, {"rec": "+1650"}) == [
        (
            "#/traits/rec",
            {
                "id": 4000041,
                "text": "Enter a valid phone number",
                "type": "error",
                "context": {"value": "+1650"},
            },
        )
    ]
    found = schema.extract({"mail": " A@B.co".strip(), "rec": "+16502530000"})
    assert found.verifiable_addresses == [("email", "a@b.co")]
    assert found.recovery_addresses == [("email", "a@b.co"), ("sms", "+16502530000")]


def test_duplicate_format_and_extension_messages_are_shown_once() -> None:
    schema = asyncio.run(load_schemas([("d", f"file://{QUICKSTART['email-password']}")], "d")).default
    with pytest.raises(TraitsValidationError) as info:
        schema.validate_traits({"email": "nope"})
    assert [e.message.id for e in info.value.errors] == [4000040]
    assert (
        info.value.reason().count('"nope" is not valid "email"') == 2
    )  # format, then the extension stops at verification


@pytest.mark.parametrize(
    ("name", "traits"),
    [
        ("all-strategies", {"email": "a@example.com", "name": {"first": "A", "last": "B"}}),
        ("email-password", {"email": "a@example.com", "name": {"first": "A"}}),
        ("oidc", {"email": "a@example.com", "website": {"url": "https://example.com"}}),
        ("phone-password", {"email": "a@example.com", "phone": "+16502530000"}),
    ],
)
def test_quickstart_schemas_validate_sample_traits(name: str, traits: dict[str, Any]) -> None:
    registry = asyncio.run(load_schemas([(name, f"file://{QUICKSTART[name]}")], name))
    schema = registry.default
    schema.validate_traits(traits)
    assert "a@example.com" in schema.extract(traits).credential_identifiers["password"]
    with pytest.raises(TraitsValidationError):
        schema.validate_traits({**traits, "unknown": 1})
    assert schema.keys_in_order()[0] == "traits.email"


def test_phone_password_identifiers_and_required_phone() -> None:
    schema = asyncio.run(load_schemas([("p", f"file://{QUICKSTART['phone-password']}")], "p")).default
    found = schema.extract({"email": "A@example.com", "phone": "+44 20 7946 0958"})
    assert found.credential_identifiers == {
        "password": ["a@example.com", "+442079460958"],
        "code": ["a@example.com"],
    }
    assert found.verifiable_addresses == [("email", "a@example.com"), ("sms", "+44 20 7946 0958")]
    assert errors_of(schema, {"email": "a@example.com"})[0][1]["context"] == {"property": "phone"}
