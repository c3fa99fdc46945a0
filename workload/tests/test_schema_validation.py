"""Traits validation: upstream's UI message ids, texts, contexts, pointers and admin API reason."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from kratos.identity.admin.errors import http_error
from kratos.schema import IdentitySchema, TraitsValidationError, load_schemas

DATA = Path(__file__).parent / "data" / "schemas"

FIELDS: dict[str, Any] = {
    "email": {"type": "string", "format": "email"},
    "username": {"type": "string", "minLength": 3, "maxLength": 5, "pattern": "^[a-z]+$"},
    "age": {"type": "integer", "minimum": 18, "maximum": 150, "multipleOf": 2},
    "score": {"type": "number", "exclusiveMinimum": 0.5, "exclusiveMaximum": 10},
    "tags": {"type": "array", "minItems": 1, "maxItems": 2, "uniqueItems": True, "items": {"type": "string"}},
    "plan": {"const": "free"},
    "flags": {"const": {"a": 1}},
    "color": {"enum": ["red", "green"]},
    "birthday": {"type": "string", "format": "date"},
    "phone": {"type": "string", "format": "tel"},
    "kind": {"type": ["string", "null"]},
    "name": {
        "type": "object",
        "required": ["first", "last"],
        "properties": {"first": {"type": "string"}, "last": {"type": "string"}},
    },
}


def schema_of(traits: dict[str, Any], **root: Any) -> IdentitySchema:
    document = {"properties": {"traits": traits}, **root}
    url = "base64://" + base64.b64encode(json.dumps(document).encode()).decode()
    return asyncio.run(load_schemas([("s", url)], "s")).default


TEST_SCHEMA = schema_of(
    {"type": "object", "properties": FIELDS, "required": ["email"], "additionalProperties": False}
)


def failure(traits: Any, schema: IdentitySchema = TEST_SCHEMA) -> TraitsValidationError:
    with pytest.raises(TraitsValidationError) as info:
        schema.validate_traits(traits)
    return info.value


def only(traits: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
    """The single field error of ``{"email": ..., **traits}``: pointer, message, reason."""
    error = failure({"email": "a@b.co", **traits})
    assert len(error.errors) == 1, error.errors
    return error.errors[0].pointer, error.errors[0].message.to_dict(), error.reason()


def msg(mid: int, text: str, **context: Any) -> dict[str, Any]:
    """A UI message as upstream sends it: ``context`` only when it has something."""
    return {"id": mid, "text": text, "type": "error", **({"context": context} if context else {})}


def test_valid_traits_pass() -> None:
    TEST_SCHEMA.validate_traits(
        {
            "email": "a@b.co",
            "username": "abc",
            "age": 20,
            "score": 1,
            "tags": ["x"],
            "plan": "free",
            "flags": {"a": 1},
            "color": "red",
            "birthday": "2000-02-29",
            "phone": "+16502530000",
            "kind": None,
            "name": {"first": "a", "last": "b"},
        }
    )


def test_required_4000002() -> None:
    error = failure({})
    assert [(e.pointer, e.name) for e in error.errors] == [("#/traits/email", "traits.email")]
    assert error.errors[0].message.to_dict() == msg(4000002, "Property email is missing.", property="email")
    assert error.reason() == 'I[#/traits] S[#/properties/traits/required] missing properties: "email"'


def test_required_several_in_nested_object() -> None:
    error = failure({"email": "a@b.co", "name": {}})
    assert [(e.pointer, e.message.context["property"]) for e in error.errors] == [
        ("#/traits/name/first", "first"),
        ("#/traits/name/last", "last"),
    ]
    assert error.errors[1].name == "traits.name.last"
    assert error.reason() == (
        'I[#/traits/name] S[#/properties/traits/properties/name/required] missing properties: "first", "last"'
    )


@pytest.mark.parametrize(
    ("traits", "pointer", "expected", "reason"),
    [
        (
            {"username": "ab"},
            "#/traits/username",
            msg(4000003, "length must be >= 3, but got 2", min_length=3, actual_length=2),
            "minLength] length must be >= 3, but got 2",
        ),
        (
            {"username": "abcdef"},
            "#/traits/username",
            msg(4000017, "length must be <= 5, but got 6", max_length=5, actual_length=6),
            "maxLength] length must be <= 5, but got 6",
        ),
        (
            {"username": "aBc"},
            "#/traits/username",
            msg(4000004, 'does not match pattern "^[a-z]+$"', pattern="^[a-z]+$"),
            'pattern] does not match pattern "^[a-z]+$"',
        ),
        (
            {"age": 16},
            "#/traits/age",
            msg(4000018, "must be >= 18 but found 16", minimum=18, actual=16),
            "minimum] must be >= 18 but found 16",
        ),
        (
            {"score": 0.5},
            "#/traits/score",
            msg(4000019, "must be > 0.5 but found 0.5", minimum=0.5, actual=0.5),
            "exclusiveMinimum] must be > 0.5 but found 0.5",
        ),
        (
            {"age": 152},
            "#/traits/age",
            msg(4000020, "must be <= 150 but found 152", maximum=150, actual=152),
            "maximum] must be <= 150 but found 152",
        ),
        (
            {"score": 10.0},
            "#/traits/score",
            msg(4000021, "must be < 10 but found 10", maximum=10, actual=10),
            "exclusiveMaximum] must be < 10 but found 10",
        ),
        (
            {"age": 21},
            "#/traits/age",
            msg(4000022, "21 not multipleOf 2", base=2, actual=21),
            "multipleOf] 21 not multipleOf 2",
        ),
        (
            {"tags": ["a", "b", "c"]},
            "#/traits/tags",
            msg(4000023, "maximum 2 items allowed, but found 3 items", max_items=2, actual_items=3),
            "maxItems] maximum 2 items allowed, but found 3 items",
        ),
        (
            {"tags": []},
            "#/traits/tags",
            msg(4000024, "minimum 1 items allowed, but found 0 items", min_items=1, actual_items=0),
            "minItems] minimum 1 items allowed, but found 0 items",
        ),
        (
            {"tags": ["a", "a"]},
            "#/traits/tags",
            msg(4000025, "items at index 0 and 1 are equal", index_a=0, index_b=1),
            "uniqueItems] items at index 0 and 1 are equal",
        ),
        (
            {"username": 5},
            "#/traits/username",
            msg(4000026, "expected string, but got number", allowed_types=["string"], actual_type="number"),
            "type] expected string, but got number",
        ),
        (
            {"kind": 1.5},
            "#/traits/kind",
            msg(
                4000026,
                "expected string or null, but got number",
                allowed_types=["string", "null"],
                actual_type="number",
            ),
            "type] expected string or null, but got number",
        ),
        (
            {"plan": "pro"},
            "#/traits/plan",
            msg(4000029, 'must be equal to constant "free"', expected='"free"'),
            'const] value must be "free"',
        ),
        (
            {"flags": {"a": 2}},
            "#/traits/flags",
            msg(4000030, "const failed"),
            "const] const failed",
        ),
        (
            {"color": "blue"},
            "#/traits/color",
            msg(4000001, 'value must be one of "red", "green"', reason='value must be one of "red", "green"'),
            'enum] value must be one of "red", "green"',
        ),
        (
            {"birthday": "2001-02-29"},
            "#/traits/birthday",
            msg(4000001, '"2001-02-29" is not valid "date"', reason='"2001-02-29" is not valid "date"'),
            'format] "2001-02-29" is not valid "date"',
        ),
        (
            {"phone": "+1650"},
            "#/traits/phone",
            msg(4000041, "Enter a valid phone number", value="+1650"),
            'format] "+1650" is not valid "tel"',
        ),
        (
            {"nickname": "x"},
            "#/traits",
            msg(
                4000001,
                'additionalProperties "nickname" not allowed',
                reason='additionalProperties "nickname" not allowed',
            ),
            'additionalProperties] additionalProperties "nickname" not allowed',
        ),
    ],
)
def test_message_per_keyword(
    traits: dict[str, Any], pointer: str, expected: dict[str, Any], reason: str
) -> None:
    schema = "".join(f"/properties/{token}" for token in pointer.split("/")[1:])
    assert only(traits) == (pointer, expected, f"I[{pointer}] S[#{schema}/{reason}")


def test_email_format_4000040() -> None:
    error = failure({"email": "foo"})
    assert [(e.pointer, e.message.to_dict()) for e in error.errors] == [
        ("#/traits/email", msg(4000040, "Enter a valid email address", value="foo"))
    ]
    assert (
        error.reason()
        == 'I[#/traits/email] S[#/properties/traits/properties/email/format] "foo" is not valid "email"'
    )


def test_format_value_with_space_falls_back_to_generic_like_upstream() -> None:
    _, message, _ = only({"phone": "+1 650"})
    assert message == msg(4000001, '"+1 650" is not valid "tel"', reason='"+1 650" is not valid "tel"')


def test_traits_must_be_an_object() -> None:
    error = failure(None)
    assert [(e.pointer, e.message.id) for e in error.errors] == [("#/traits", 4000026)]
    assert error.errors[0].message.context == {"allowed_types": ["object"], "actual_type": "null"}


def test_wrong_type_hides_the_field_other_checks() -> None:
    pointer, message, _ = only({"tags": "abc"})
    assert (pointer, message["id"]) == ("#/traits/tags", 4000026)


def test_several_errors_nest_under_validation_failed() -> None:
    error = failure({"email": "foo", "username": "A", "tags": ["x", 1]})
    assert [(e.pointer, e.message.id) for e in error.errors] == [
        ("#/traits/email", 4000040),
        ("#/traits/username", 4000003),
        ("#/traits/username", 4000004),
        ("#/traits/tags/1", 4000026),
    ]
    assert error.errors[3].name == "traits.tags.1"
    user = "#/traits/username] S[#/properties/traits/properties/username"
    traits = "#/properties/traits"
    assert error.reason() == "\n".join(
        [
            f"I[#/traits] S[{traits}] validation failed",
            f'  I[#/traits/email] S[{traits}/properties/email/format] "foo" is not valid "email"',
            f"  I[#/traits/username] S[{traits}/properties/username] validation failed",
            f"    I[{user}/minLength] length must be >= 3, but got 1",
            f'    I[{user}/pattern] does not match pattern "^[a-z]+$"',
            f"  I[#/traits/tags/1] S[{traits}/properties/tags/items/type] expected string, but got number",
        ]
    )
    bad_request = http_error(error)
    assert bad_request.status == 400
    assert bad_request.to_dict()["error"]["reason"] == error.reason()


def test_any_of_reports_each_branch() -> None:
    schema = schema_of(
        {
            "type": "object",
            "properties": {
                "contact": {"anyOf": [{"type": "string", "format": "email"}, {"type": "integer"}]}
            },
        }
    )
    error = failure({"contact": "nope"}, schema)
    assert [(e.pointer, e.message.id) for e in error.errors] == [
        ("#/traits/contact", 4000040),
        ("#/traits/contact", 4000026),
    ]


def test_local_ref_and_not() -> None:
    schema = schema_of(
        {
            "type": "object",
            "properties": {
                "email": {"$ref": "#/definitions/email"},
                "code": {"not": {"const": "0000"}},
            },
        },
        definitions={"email": {"type": "string", "format": "email"}},
    )
    assert [e.message.id for e in failure({"email": "x"}, schema).errors] == [4000040]
    assert failure({"code": "0000"}, schema).errors[0].message.text == "not failed"


def test_property_names_are_escaped_in_pointers() -> None:
    schema = schema_of(
        {"type": "object", "required": ["first name"], "properties": {"a/b": {"type": "string"}}}
    )
    error = failure({"a/b": 1}, schema)
    assert [e.pointer for e in error.errors] == ["#/traits/first%20name", "#/traits/a~1b"]
    assert error.errors[0].message.context == {"property": "first%20name"}
    assert [e.name for e in error.errors] == ["traits.first name", "traits.a/b"]
