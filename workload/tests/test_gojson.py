"""Go's encoding/json, as the admin API reads bodies: its error texts, taken from upstream's answers."""

from __future__ import annotations

import pytest

from kratos.http.gojson import GoJSONError, GoType, check_shape, decode_all, decode_first, known_fields


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", "EOF"),
        (b"  \n ", "EOF"),
        (b"{not json", "invalid character 'n' looking for beginning of object key string"),
        (b'{"a":}', "invalid character '}' looking for beginning of value"),
        (b'{"a" 1}', "invalid character '1' after object key"),
        (b'{"a":1,}', "invalid character '}' looking for beginning of object key string"),
        (b'{"a":01}', "invalid character '1' after object key:value pair"),
        (b"[1 2]", "invalid character '2' after array element"),
        (b'"abc', "unexpected EOF"),
        (b"[1, ", "unexpected EOF"),
        (b"trux", "invalid character 'x' in literal true (expecting 'e')"),
        (b'{"a":"\\x"}', "invalid character 'x' in string escape code"),
        (b'{"a":"\\u12g4"}', "invalid character 'g' in \\u hexadecimal character escape"),
        (b'{"a":1.}', "invalid character '}' after decimal point in numeric literal"),
        (b'{"a":1e}', "invalid character '}' in exponent of numeric literal"),
        (b'{"a":-}', "invalid character '}' in numeric literal"),
        (b"\x01", "invalid character '\\x01' looking for beginning of value"),
        (b'{"a":"b\x01"}', "invalid character '\\x01' in string literal"),
        (b"'", "invalid character '\\'' looking for beginning of value"),
    ],
)
def test_syntax_errors_in_gos_words(body: bytes, error: str) -> None:
    with pytest.raises(GoJSONError) as raised:
        decode_first(body)
    assert str(raised.value) == error


def test_a_decoder_reads_the_first_value_and_unmarshal_the_whole_body() -> None:
    assert decode_first(b'{"a": 1} trailing') == {"a": 1}
    assert decode_first(b"[1]]") == [1]
    for body, error in [
        (b'{"a": 1} trailing', "invalid character 't' after top-level value"),
        (b"", "unexpected end of JSON input"),
    ]:
        with pytest.raises(GoJSONError) as raised:
            decode_all(body)
        assert str(raised.value) == error
    assert decode_first(b'"\xff"') == "\ufffd"  # invalid UTF-8 is replaced, not refused


BODY = GoType(
    "pkg.Body",
    "struct",
    fields={
        "name": GoType("string", "string"),
        "inner": GoType(
            "pkg.Inner", "struct", fields={"flag": GoType("bool", "bool"), "any": GoType("x", "any")}
        ),
        "items": GoType("[]pkg.Inner", "slice", elem=GoType("pkg.Inner", "struct", fields={})),
    },
)


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ([], "json: cannot unmarshal array into Go value of type pkg.Body"),
        ({"name": 5}, "json: cannot unmarshal number into Go struct field Body.name of type string"),
        ({"inner": {"flag": "yes"}},
         "json: cannot unmarshal string into Go struct field Inner.inner.flag of type bool"),
        ({"items": {}}, "json: cannot unmarshal object into Go struct field Body.items of type []pkg.Inner"),
        ({"bogus": 1, "name": 5}, 'json: unknown field "bogus"'),
        ({"name": 5, "bogus": 1},
         "json: cannot unmarshal number into Go struct field Body.name of type string"),
    ],
)  # fmt: skip
def test_type_errors_and_unknown_fields_in_document_order(document: object, error: str) -> None:
    with pytest.raises(GoJSONError) as raised:
        check_shape(document, BODY)
    assert str(raised.value) == error


def test_a_lenient_decoder_ignores_unknown_fields() -> None:
    document = {"name": "n", "bogus": 1, "inner": {"flag": None, "x": 2, "any": {"k": [1]}}}
    check_shape(document, BODY, strict=False)
    assert known_fields(document, BODY) == {"name": "n", "inner": {"flag": None, "any": {"k": [1]}}}
