"""``/sessions/whoami?tokenize_as=<template>``: JWTs signed with the template's key, claims as upstream's."""

from __future__ import annotations

import asyncio
import base64
import http.server
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey, import_key
from kratos_process import KratosProcess
from netutil import loopback_server

from kratos.config.sections import TokenizerTemplate
from kratos.session.errors import TokenizeFailed
from kratos.session.tokenizer import Tokenizer

PASSWORD = "a-Long-passphrase-42"
UI = "http://127.0.0.1:4455"
# The claims mapper of upstream's tests (session/stub/rs512-template.jsonnet), in its own words.
MAPPER = """
local claims = std.extVar('claims');
local session = std.extVar('session');
{
  claims: {
    foo: 'bar',
    sub: 'can not be overwritten',
    schema_id: session.identity.schema_id,
    aal: session.authenticator_assurance_level,
    second_claim: claims.exp,
    [if std.objectHas(session.identity, 'external_id') then 'external_id']: session.identity.external_id,
  },
}
"""


def jwks(key: Any, alg: str, kid: str) -> dict[str, Any]:
    return {"keys": [{**key.as_dict(private=True), "alg": alg, "kid": kid, "use": "sig"}]}


class Keys:
    """Private keys of the templates and their public halves."""

    def __init__(self) -> None:
        self.es256 = ECKey.generate_key("P-256")
        self.es512 = ECKey.generate_key("P-521")
        self.rs512 = RSAKey.generate_key(2048)

    def public(self, key: Any) -> Any:
        return import_key(key.as_dict(private=False))


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="module")
def jwks_server(keys: Keys) -> Iterator[str]:
    """An HTTP server answering the ES512 key set at ``/jwks.json``."""
    body = json.dumps(jwks(keys.es512, "ES512", "http-key")).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/jwks.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    with loopback_server(Handler) as httpd:
        yield f"{httpd.base_url}/jwks.json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, keys: Keys, jwks_server: str) -> Iterator[KratosProcess]:
    """A server with tokenizer templates (keys by file, base64 and HTTP) and CORS, on SQLite."""
    workdir = tmp_path_factory.mktemp("tokenizer")
    (workdir / "es256.json").write_text(json.dumps(jwks(keys.es256, "ES256", "es256-key")))
    (workdir / "rs512.json").write_text(json.dumps(jwks(keys.rs512, "RS512", "rs512-key")))
    (workdir / "no-alg.json").write_text(json.dumps({"keys": [keys.es256.as_dict(private=True)]}))
    (workdir / "mapper.jsonnet").write_text(MAPPER)
    (workdir / "not-claims.jsonnet").write_text("{claims: 'a string'}")
    (workdir / "broken.jsonnet").write_text("{claims: std.extVar('nope')}")
    es256_base64 = base64.b64encode((workdir / "es256.json").read_bytes()).decode()
    templates = {
        "es256": {"jwks_url": (workdir / "es256.json").as_uri()},
        "rs512": {
            "jwks_url": (workdir / "rs512.json").as_uri(),
            "claims_mapper_url": (workdir / "mapper.jsonnet").as_uri(),
            "ttl": "10m",
            "subject_source": "id",
        },
        "external": {
            "jwks_url": f"base64://{es256_base64}",
            "claims_mapper_url": (workdir / "mapper.jsonnet").as_uri(),
            "subject_source": "external_id",
        },
        "es512-http": {"jwks_url": jwks_server, "ttl": "1h"},
        "no-alg": {"jwks_url": (workdir / "no-alg.json").as_uri()},
        "not-claims": {
            "jwks_url": (workdir / "es256.json").as_uri(),
            "claims_mapper_url": (workdir / "not-claims.jsonnet").as_uri(),
        },
        "broken-mapper": {
            "jwks_url": (workdir / "es256.json").as_uri(),
            "claims_mapper_url": (workdir / "broken.jsonnet").as_uri(),
        },
        "missing-keys": {"jwks_url": (workdir / "missing.json").as_uri()},
    }
    overrides = {
        "selfservice": {"methods": {"password": {"config": {"haveibeenpwned_enabled": False}}}},
        "session": {"whoami": {"tokenizer": {"templates": templates}}},
        "serve": {"public": {"cors": {"enabled": True, "allowed_origins": [UI]}}},
    }
    server = KratosProcess(workdir, f"sqlite://{workdir}/kratos.sqlite?_fk=true", overrides=overrides)
    server.migrate()
    server.start()
    yield server
    server.stop()


def session_of(server: KratosProcess, external_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """An identity (with ``external_id`` when given) logged in through the API: (token, its session)."""
    address = f"user-{uuid.uuid4().hex[:10]}@example.com"
    identity: dict[str, Any] = {
        "schema_id": "default",
        "traits": {"email": address},
        "credentials": {"password": {"config": {"password": PASSWORD}}},
    }
    if external_id:
        identity["external_id"] = external_id
    httpx.post(f"{server.admin_url}/admin/identities", json=identity).raise_for_status()
    flow = httpx.get(f"{server.public_url}/self-service/login/api").json()
    answer = httpx.post(
        f"{server.public_url}/self-service/login",
        params={"flow": flow["id"]},
        json={"method": "password", "identifier": address, "password": PASSWORD},
    )
    answer.raise_for_status()
    return answer.json()["session_token"], answer.json()["session"]


def tokenize(server: KratosProcess, token: str, template: str) -> httpx.Response:
    return httpx.get(
        f"{server.public_url}/sessions/whoami",
        params={"tokenize_as": template},
        headers={"X-Session-Token": token},
    )


def decoded(answer: httpx.Response, key: Any, alg: str) -> jwt.Token:
    assert answer.status_code == 200, answer.text
    return jwt.decode(answer.json()["tokenized"], key, algorithms=[alg])


def test_es256_without_a_mapper_has_upstreams_claims(server: KratosProcess, keys: Keys) -> None:
    token, session = session_of(server)
    before = int(time.time())
    answer = tokenize(server, token, "es256")
    result = decoded(answer, keys.public(keys.es256), "ES256")
    assert result.header == {"typ": "JWT", "alg": "ES256", "kid": "es256-key"}
    claims = result.claims
    assert set(claims) == {"jti", "iss", "exp", "sid", "nbf", "iat", "sub"}
    assert claims["iss"] == f"{server.public_url}/"
    assert claims["sub"] == session["identity"]["id"]
    assert claims["sid"] == session["id"] == answer.json()["id"]
    assert before <= claims["iat"] <= time.time() + 1
    assert claims["nbf"] == claims["iat"]
    assert claims["exp"] - claims["iat"] == 60
    assert uuid.UUID(claims["jti"])
    assert answer.headers["x-kratos-authenticated-identity-id"] == session["identity"]["id"]


def test_rs512_with_the_claims_mapper(server: KratosProcess, keys: Keys) -> None:
    token, session = session_of(server)
    claims = decoded(tokenize(server, token, "rs512"), keys.public(keys.rs512), "RS512").claims
    assert claims["sub"] == session["identity"]["id"], "the mapper cannot overwrite sub"
    assert (claims["foo"], claims["schema_id"], claims["aal"]) == ("bar", "default", "aal1")
    assert claims["second_claim"] == claims["exp"] == claims["iat"] + 600
    assert "external_id" not in claims


def test_the_external_id_as_subject_with_a_base64_key_set(server: KratosProcess, keys: Keys) -> None:
    external = f"ext-{uuid.uuid4().hex[:8]}"
    token, _ = session_of(server, external_id=external)
    claims = decoded(tokenize(server, token, "external"), keys.public(keys.es256), "ES256").claims
    assert (claims["sub"], claims["external_id"]) == (external, external)

    token, _ = session_of(server)
    answer = tokenize(server, token, "external")
    assert answer.status_code == 400
    assert answer.json()["error"]["reason"] == (
        "The session's identity does not have an external ID set, but it is required for the subject claim."
    )


def test_a_key_set_over_http(server: KratosProcess, keys: Keys) -> None:
    token, _ = session_of(server)
    result = decoded(tokenize(server, token, "es512-http"), keys.public(keys.es512), "ES512")
    assert result.header["kid"] == "http-key"
    assert result.claims["exp"] - result.claims["iat"] == 3600


@pytest.mark.parametrize(
    ("template", "status", "reason"),
    [
        ("nope", 400, 'Unable to find tokenizer template "nope".'),
        ("no-alg", 400, 'The JSON Web Key must include a valid "alg" parameter but "" was given.'),
        ("not-claims", 400, "Expected tokenizer JsonNet to return a claims object but it did not."),
        ("broken-mapper", 400, "Unable to execute tokenizer JsonNet."),
    ],
)
def test_templates_that_cannot_tokenize(
    server: KratosProcess, template: str, status: int, reason: str
) -> None:
    token, _ = session_of(server)
    answer = tokenize(server, token, template)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["reason"] == reason


def test_an_unreadable_key_set_is_a_server_error(server: KratosProcess) -> None:
    token, _ = session_of(server)
    answer = tokenize(server, token, "missing-keys")
    assert answer.status_code == 500
    assert answer.json()["error"]["reason"] == "Unable to fetch the tokenizer JSON Web Key Set."
    assert "no such file" in (server.workdir / "kratos.log").read_text()


def test_without_tokenize_as_there_is_no_token(server: KratosProcess) -> None:
    token, _ = session_of(server)
    for params in ({}, {"tokenize_as": ""}):
        answer = httpx.get(
            f"{server.public_url}/sessions/whoami", params=params, headers={"X-Session-Token": token}
        )
        assert answer.status_code == 200
        assert "tokenized" not in answer.json()


def test_unauthenticated_requests_are_401_before_any_template_is_read(server: KratosProcess) -> None:
    answer = httpx.get(f"{server.public_url}/sessions/whoami", params={"tokenize_as": "nope"})
    assert answer.status_code == 401


def test_whoami_answers_cors_requests(server: KratosProcess) -> None:
    token, _ = session_of(server)
    answer = httpx.get(
        f"{server.public_url}/sessions/whoami", headers={"X-Session-Token": token, "Origin": UI}
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == UI
    preflight = httpx.options(
        f"{server.public_url}/sessions/whoami",
        headers={
            "Origin": UI,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-Session-Token",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == UI
    other = httpx.get(
        f"{server.public_url}/sessions/whoami",
        headers={"X-Session-Token": token, "Origin": "http://evil.test"},
    )
    assert "access-control-allow-origin" not in other.headers


def test_the_tokenizer_keeps_key_sets_and_refuses_jsonnet_imports(tmp_path: Path, keys: Keys) -> None:
    (tmp_path / "keys.json").write_text(json.dumps(jwks(keys.es256, "ES256", "k")))
    (tmp_path / "import.jsonnet").write_text("{claims: import '/etc/hostname'}")
    reads: list[str] = []

    async def fetch(url: str) -> bytes:
        reads.append(url)
        return Path(url.removeprefix("file://")).read_bytes()

    templates = {
        "plain": TokenizerTemplate(jwks_url=(tmp_path / "keys.json").as_uri()),
        "import": TokenizerTemplate(
            jwks_url=(tmp_path / "keys.json").as_uri(),
            claims_mapper_url=(tmp_path / "import.jsonnet").as_uri(),
        ),
    }
    tokenizer = Tokenizer(templates, "http://localhost/", fetch)
    session = {"id": uuid.uuid4(), "identity": {"id": uuid.uuid4(), "schema_id": "default"}}

    async def scenario() -> None:
        for _ in range(3):
            token = await tokenizer.tokenize("plain", session)
            assert (
                jwt.decode(token, keys.public(keys.es256), algorithms=["ES256"]).claims["iss"]
                == "http://localhost/"
            )
        assert reads == [(tmp_path / "keys.json").as_uri()], "the key set is read once"
        with pytest.raises(TokenizeFailed) as refused:
            await tokenizer.tokenize("import", session)
        assert refused.value.reason == "Unable to execute tokenizer JsonNet."
        assert "imports are not allowed" in (refused.value.debug or "")

    asyncio.run(scenario())
