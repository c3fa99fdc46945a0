"""Loading identity schemas from file://, base64:// and http(s):// and checking them."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from netutil import loopback_server

from kratos.schema import (
    IdentitySchema,
    SchemaLoadError,
    SchemaRegistry,
    decode_schema_id,
    encode_schema_id,
    load_schemas,
    schema_url,
)

DATA = Path(__file__).parent / "data" / "schemas"
EMAIL_PASSWORD = DATA / "quickstart-email-password_identity.schema.json"
MINIMAL = {"properties": {"traits": {"type": "object", "properties": {"name": {"type": "string"}}}}}


def load(entries: list[tuple[str, str]], default: str | None = None, **kw: Any) -> SchemaRegistry:
    return asyncio.run(load_schemas(entries, default or entries[0][0], **kw))


def b64(document: Any, *, urlsafe: bool = False, pad: bool = True) -> str:
    raw = json.dumps(document).encode()
    text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()
    return "base64://" + (text if pad else text.rstrip("="))


def load_error(document: Any) -> str:
    with pytest.raises(SchemaLoadError) as info:
        load([("bad", b64(document))])
    return info.value.message


@pytest.fixture(scope="module")
def http_base() -> Iterator[str]:
    handler = partial(SimpleHTTPRequestHandler, directory=str(DATA))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    with loopback_server(handler) as server:
        yield server.base_url


def test_file_absolute_url_keeps_bytes_and_document() -> None:
    url = f"file://{EMAIL_PASSWORD}"
    registry = load([("default", url)])
    schema = registry.default
    assert isinstance(schema, IdentitySchema)
    assert (schema.id, schema.url) == ("default", url)
    assert schema.raw_bytes == EMAIL_PASSWORD.read_bytes()
    assert schema.raw["properties"]["traits"]["required"] == ["email"]


def test_file_relative_url_is_relative_to_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA.parent)
    registry = load([("default", "file://schemas/quickstart-oidc_identity.schema.json")])
    assert registry.default.raw["properties"]["traits"]["required"] == ["website", "email"]


@pytest.mark.parametrize(("urlsafe", "pad"), [(False, True), (True, True), (True, False), (False, False)])
def test_base64_standard_and_url_safe(urlsafe: bool, pad: bool) -> None:
    document = {**MINIMAL, "title": "ÿþ~~~???>>>"}  # forces + / - _ characters in the encoding
    registry = load([("b", b64(document, urlsafe=urlsafe, pad=pad))])
    assert registry.default.raw == document
    assert json.loads(registry.default.raw_bytes) == document


def test_http_url(http_base: str) -> None:
    url = f"{http_base}/quickstart-phone-password_identity.schema.json"
    registry = load([("phone", url)])
    assert registry.default.url == url
    assert (
        registry.default.raw_bytes == (DATA / "quickstart-phone-password_identity.schema.json").read_bytes()
    )


def test_http_url_with_given_client(http_base: str) -> None:
    async def run() -> SchemaRegistry:
        async with httpx.AsyncClient() as client:
            registry = await load_schemas(
                [("a", f"{http_base}/quickstart-oidc_identity.schema.json")], "a", http=client
            )
            assert not client.is_closed
            return registry

    assert asyncio.run(run()).default.id == "a"


def test_http_error_status_names_schema(http_base: str) -> None:
    with pytest.raises(SchemaLoadError) as info:
        load([("default", f"file://{EMAIL_PASSWORD}"), ("customer", f"{http_base}/missing.json")], "default")
    assert info.value.message == (
        f'identity.schemas[1] (id "customer"): {http_base}/missing.json: unable to fetch: HTTP status 404'
    )


def test_http_connection_refused() -> None:
    with pytest.raises(
        SchemaLoadError, match=r'identity.schemas\[0\] \(id "x"\): http://127.0.0.1:1/s.json: unable'
    ):
        load([("x", "http://127.0.0.1:1/s.json")])


def test_missing_file() -> None:
    with pytest.raises(SchemaLoadError) as info:
        load([("default", "file:///x.json")])
    assert info.value.message == 'identity.schemas[0] (id "default"): file:///x.json: no such file'


def test_registry_order_lookup_and_default() -> None:
    registry = load(
        [("a", b64(MINIMAL)), ("b", f"file://{EMAIL_PASSWORD}"), ("c", b64(MINIMAL, urlsafe=True))], "b"
    )
    assert [s.id for s in registry.all()] == ["a", "b", "c"]
    assert registry.default.id == "b"
    assert registry.get("") is registry.default
    assert registry.get("c") is registry.all()[2]
    assert registry.get("nope") is None
    assert registry.find("a") is registry.get("a")
    assert registry.find(encode_schema_id("c")) is registry.get("c")
    assert registry.find(encode_schema_id("nope")) is None


def test_default_must_be_loaded() -> None:
    with pytest.raises(SchemaLoadError) as info:
        load([("a", b64(MINIMAL))], "default")
    assert (
        info.value.message == 'identity.default_schema_id "default" is not a configured schema (known: "a")'
    )


def test_duplicate_id() -> None:
    with pytest.raises(SchemaLoadError, match=r'identity.schemas\[1\] \(id "a"\): duplicate schema id'):
        load([("a", b64(MINIMAL)), ("a", b64(MINIMAL))])


def test_invalid_json_and_base64() -> None:
    with pytest.raises(SchemaLoadError, match=r'\(id "j"\): base64://e30s: invalid JSON'):
        load([("j", "base64://e30s")])  # "{},"
    with pytest.raises(SchemaLoadError, match=r"base64://\*\*\*: invalid base64"):
        load([("j", "base64://***")])


def test_unsupported_scheme() -> None:
    with pytest.raises(SchemaLoadError, match="unsupported URL scheme 'ftp'"):
        load([("f", "ftp://host/schema.json")])


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([], "the identity schema must be a JSON object"),
        ({"type": "object"}, "not a valid identity schema: #: 'properties' is a required property"),
        ({"properties": {}}, "not a valid identity schema: #/properties: 'traits' is a required property"),
        (
            {"properties": {"traits": {"type": "object"}}},
            "not a valid identity schema: #/properties/traits: 'properties' is a required property",
        ),
        (
            {"properties": {"traits": {"type": "string", "properties": {"a": {}}}}},
            "not a valid identity schema: #/properties/traits/type: 'object' was expected",
        ),
        (
            {"properties": {"traits": {"properties": {}}}},
            "not a valid identity schema: #/properties/traits/properties: {} should be non-empty",
        ),
        (
            {"type": 5, "properties": {"traits": {"properties": {"a": {}}}}},
            "not a valid identity schema: #/type",
        ),
        (
            {"properties": {"traits": {"properties": {"a": {"pattern": "("}}}}},
            "not a valid identity schema: #/properties/traits/properties/a/pattern: '(' is not a 'regex'",
        ),
    ],
)
def test_not_an_identity_schema(document: Any, problem: str) -> None:
    message = load_error(document)
    assert message.startswith('identity.schemas[0] (id "bad"): base64://')
    assert problem in message


def traits_with(field: dict[str, Any]) -> dict[str, Any]:
    return {"properties": {"traits": {"type": "object", "properties": {"f": field}}}}


def test_extension_shape_is_checked() -> None:
    assert "Additional properties are not allowed ('login' was unexpected)" in load_error(
        traits_with({"ory.sh/kratos": {"credentials": {"password": {"login": True}}}})
    )
    assert "'phone' is not one of ['email', 'sms']" in load_error(
        traits_with({"ory.sh/kratos": {"verification": {"via": "phone"}}})
    )
    assert "True is not of type 'object'" in load_error(traits_with({"ory.sh/kratos": {"recovery": True}}))


def test_verification_requires_known_format() -> None:
    message = load_error(
        traits_with({"type": "string", "format": "uri", "ory.sh/kratos": {"verification": {"via": "email"}}})
    )
    assert "#/properties/traits/properties/f/format: 'uri' is not one of ['email', 'tel'" in message
    for fmt in ("email", "tel", "date", "time", "date-time", "no-validate"):
        load([("ok", b64(traits_with({"format": fmt, "ory.sh/kratos": {"verification": {"via": "sms"}}})))])


def test_refs_local_remote_and_unresolvable() -> None:
    local = {
        "definitions": {"email": {"type": "string", "format": "email"}},
        "properties": {
            "traits": {"type": "object", "properties": {"email": {"$ref": "#/definitions/email"}}}
        },
    }
    assert load([("l", b64(local))]).default.raw == local
    remote = traits_with({"$ref": "https://example.com/x.json#/a"})
    assert "remote $ref 'https://example.com/x.json#/a' is not supported" in load_error(remote)
    assert "unresolvable $ref '#/definitions/nope'" in load_error(traits_with({"$ref": "#/definitions/nope"}))


def test_schema_url_and_id_decoding() -> None:
    assert schema_url("http://127.0.0.1:4433/", "default") == "http://127.0.0.1:4433/schemas/ZGVmYXVsdA"
    assert (
        schema_url("https://id.example.com/kratos", "default")
        == "https://id.example.com/kratos/schemas/ZGVmYXVsdA"
    )
    assert encode_schema_id("a?b>c") == "YT9iPmM"  # URL-safe alphabet, no padding
    assert encode_schema_id("ÿÿ") == "w7_Dvw"
    assert decode_schema_id("ZGVmYXVsdA") == "default"
    assert decode_schema_id("w7_Dvw") == "ÿÿ"
    assert decode_schema_id("cust-omer!") == "cust-omer!"
    assert decode_schema_id("AAAA") == "AAAA"  # decodes to control characters: taken as a raw id
    assert decode_schema_id("ZGVmYXVsdA==") == "ZGVmYXVsdA=="


@pytest.mark.parametrize("segment", ["A\U00054483\U0008b58d", "é", "%00", "abc=", "////"])
def test_decode_schema_id_keeps_what_is_not_base64(segment: str) -> None:
    assert decode_schema_id(segment) == segment
