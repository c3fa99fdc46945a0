"""The loopback OpenID provider behaves as a real one does, driven over HTTP with plain httpx."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError
from joserfc.jwk import KeySet
from oidc_provider import FOREIGN_AUDIENCE, FOREIGN_NONCE, OpenIdProvider

CLIENT_ID = "kratos-client"
SECRET = "s3cret-of-the-client"
CALLBACK = "http://127.0.0.1:4433/self-service/methods/oidc/callback/generic"


@pytest.fixture
def provider(oidc_provider: OpenIdProvider) -> OpenIdProvider:
    oidc_provider.add_client(CLIENT_ID, SECRET, [CALLBACK])
    return oidc_provider


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(provider: OpenIdProvider, **params: str) -> httpx.Response:
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "scope": "openid email",
    }
    query.update(params)
    return httpx.get(f"{provider.issuer}/authorize", params=query)


def callback_params(response: httpx.Response) -> dict[str, str]:
    """The query the provider redirected the browser back with."""
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.split("?")[0] == CALLBACK
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(provider: OpenIdProvider, **params: str) -> str:
    return callback_params(authorize(provider, **params))["code"]


def redeem(provider: OpenIdProvider, code: str, **form: str) -> httpx.Response:
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, **form}
    return httpx.post(f"{provider.issuer}/token", data=body, auth=(CLIENT_ID, SECRET))


def verify(
    provider: OpenIdProvider, id_token: str, audience: str = CLIENT_ID, **expected: Any
) -> dict[str, Any]:
    """The claims of an id_token checked as a relying party does: signature against /jwks, iss, aud, exp."""
    keys = KeySet.import_key_set(httpx.get(f"{provider.issuer}/jwks").json())
    token = jwt.decode(id_token, keys, algorithms=["RS256"])
    rules: dict[str, Any] = {
        "iss": {"essential": True, "value": provider.issuer},
        "aud": {"essential": True, "value": audience},
        "sub": {"essential": True},
        "exp": {"essential": True},
    }
    rules.update({name: {"essential": True, "value": value} for name, value in expected.items()})
    jwt.JWTClaimsRegistry(**rules).validate(token.claims)
    return token.claims


def test_discovery_names_every_endpoint_and_s256(provider: OpenIdProvider) -> None:
    meta = httpx.get(f"{provider.issuer}/.well-known/openid-configuration").json()
    assert meta["issuer"] == provider.issuer == f"http://127.0.0.1:{provider.port}"
    for name, path in [("authorization", "authorize"), ("token", "token"), ("userinfo", "userinfo")]:
        assert meta[f"{name}_endpoint"] == f"{provider.issuer}/{path}"
    assert meta["jwks_uri"] == f"{provider.issuer}/jwks"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "code" in meta["response_types_supported"]
    assert {"openid", "email", "profile"} <= set(meta["scopes_supported"])
    assert {"sub", "email", "email_verified", "name"} <= set(meta["claims_supported"])
    assert meta["subject_types_supported"] == ["public"]

    provider.pkce_advertised = False
    assert (
        "code_challenge_methods_supported"
        not in httpx.get(f"{meta['issuer']}/.well-known/openid-configuration").json()
    )


def test_code_flow_with_pkce_end_to_end(provider: OpenIdProvider) -> None:
    provider.user = {
        "sub": "u-42",
        "email": "ada@example.com",
        "email_verified": True,
        "name": "Ada",
        "groups": ["a"],
    }
    verifier, challenge = pkce_pair()
    back = callback_params(
        authorize(
            provider,
            scope="openid email profile",
            state="st-1",
            nonce="n-1",
            code_challenge=challenge,
            code_challenge_method="S256",
        )
    )
    assert back["state"] == "st-1"
    assert provider.authorize_requests[-1]["code_challenge"] == challenge

    tokens = redeem(provider, back["code"], code_verifier=verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"].lower() == "bearer"
    claims = verify(provider, body["id_token"], nonce="n-1", sub="u-42")
    assert (claims["email"], claims["email_verified"], claims["name"], claims["groups"]) == (
        "ada@example.com",
        True,
        "Ada",
        ["a"],
    )
    assert claims["iat"] <= time.time() < claims["exp"]
    assert "at_hash" in claims
    assert provider.token_requests[-1]["code_verifier"] == verifier

    info = httpx.get(
        f"{provider.issuer}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert info.status_code == 200, info.text
    assert info.json() == {
        "sub": "u-42",
        "email": "ada@example.com",
        "email_verified": True,
        "name": "Ada",
        "groups": ["a"],
    }
    assert provider.userinfo_calls == 1
    assert (
        httpx.get(f"{provider.issuer}/userinfo", headers={"Authorization": "Bearer nope"}).status_code == 401
    )


def test_scope_and_claims_parameter_decide_the_standard_claims(provider: OpenIdProvider) -> None:
    provider.user = {"sub": "u-1", "email": "e@example.com", "name": "N", "hd": "example.com"}
    plain = verify(provider, redeem(provider, get_code(provider, scope="openid")).json()["id_token"])
    assert "email" not in plain
    assert "name" not in plain
    assert plain["hd"] == "example.com"  # non-standard claims are always told

    asked = json.dumps({"id_token": {"email": None}})
    claims = verify(
        provider, redeem(provider, get_code(provider, scope="openid", claims=asked)).json()["id_token"]
    )
    assert claims["email"] == "e@example.com"
    assert "name" not in claims

    broken = callback_params(authorize(provider, claims="{not json", state="s"))
    assert broken["error"] == "invalid_request"
    assert "claims" in broken["error_description"]


def test_no_nonce_asked_none_in_the_id_token(provider: OpenIdProvider) -> None:
    claims = verify(provider, redeem(provider, get_code(provider)).json()["id_token"])
    assert "nonce" not in claims


def test_client_secret_post_client(provider: OpenIdProvider) -> None:
    provider.add_client("poster", "post-secret", [CALLBACK], token_endpoint_auth_method="client_secret_post")
    code = get_code(provider, client_id="poster")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    basic = httpx.post(f"{provider.issuer}/token", data=form, auth=("poster", "post-secret"))
    assert basic.json()["error"] == "invalid_client"
    posted = httpx.post(
        f"{provider.issuer}/token", data={**form, "client_id": "poster", "client_secret": "post-secret"}
    )
    assert posted.status_code == 200, posted.text
    verify(provider, posted.json()["id_token"], audience="poster")
    wrong = httpx.post(f"{provider.issuer}/token", data={**form, "client_id": "poster", "client_secret": "x"})
    assert wrong.json()["error"] == "invalid_client"


def test_replayed_code_is_refused(provider: OpenIdProvider) -> None:
    code = get_code(provider)
    assert redeem(provider, code).status_code == 200
    replay = redeem(provider, code)
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")


def test_pkce_verifier_is_checked(provider: OpenIdProvider) -> None:
    _, challenge = pkce_pair()
    other, _ = pkce_pair()
    wrong = redeem(
        provider,
        get_code(provider, code_challenge=challenge, code_challenge_method="S256"),
        code_verifier=other,
    )
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    missing = redeem(provider, get_code(provider, code_challenge=challenge, code_challenge_method="S256"))
    assert missing.json()["error"] == "invalid_request"
    plain = callback_params(authorize(provider, code_challenge=challenge, code_challenge_method="plain"))
    assert plain["error"] == "invalid_request"


def test_redirect_uri_must_match(provider: OpenIdProvider) -> None:
    stranger = authorize(provider, redirect_uri="http://127.0.0.1:9/evil")
    assert stranger.status_code == 400
    assert "location" not in stranger.headers
    other = redeem(provider, get_code(provider), redirect_uri="http://127.0.0.1:4433/elsewhere")
    assert other.json()["error"] == "invalid_grant"


def test_codes_expire(provider: OpenIdProvider) -> None:
    provider.code_lifetime = 0
    assert redeem(provider, get_code(provider)).json()["error"] == "invalid_grant"


def test_deny_and_nobody_signed_in_redirect_with_an_error(provider: OpenIdProvider) -> None:
    provider.deny = "access_denied"
    back = callback_params(authorize(provider, state="st-9"))
    assert (back["error"], back["state"]) == ("access_denied", "st-9")
    assert back["error_description"]
    assert "code" not in back

    provider.deny = None
    provider.user = None
    assert callback_params(authorize(provider, state="s"))["error"] == "login_required"


@pytest.mark.parametrize(
    "switch", ["wrong_nonce", "wrong_audience", "expired_id_token", "sign_with_foreign_key"]
)
def test_each_misbehaviour_breaks_the_id_token(provider: OpenIdProvider, switch: str) -> None:
    setattr(provider, switch, True)
    id_token = redeem(provider, get_code(provider, nonce="n-7")).json()["id_token"]
    native = provider.issue_id_token(CLIENT_ID, nonce="n-7")
    for token in (id_token, native):
        if switch == "sign_with_foreign_key":
            with pytest.raises(BadSignatureError):
                verify(provider, token)
            continue
        claims = jwt.decode(token, KeySet.import_key_set(provider.jwks()), algorithms=["RS256"]).claims
        if switch == "wrong_nonce":
            assert claims["nonce"] == FOREIGN_NONCE
        elif switch == "wrong_audience":
            assert claims["aud"] == FOREIGN_AUDIENCE
        else:
            with pytest.raises(ExpiredTokenError):
                verify(provider, token)


def test_token_error_refuses_the_exchange(provider: OpenIdProvider) -> None:
    code = get_code(provider)
    provider.token_error = "invalid_grant"
    refused = redeem(provider, code)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    assert provider.token_requests[-1]["code"] == code


def test_down_answers_503_and_stop_refuses_connections(provider: OpenIdProvider) -> None:
    discovery = f"{provider.issuer}/.well-known/openid-configuration"
    provider.down = True
    assert httpx.get(discovery).status_code == 503
    assert httpx.post(f"{provider.issuer}/token").status_code == 503
    provider.down = False
    with httpx.Client() as client:
        assert client.get(discovery).status_code == 200
        provider.stop()
        with pytest.raises(httpx.ConnectError):
            client.get(discovery)
        provider.start()
        assert client.get(discovery).json()["issuer"] == provider.issuer


def test_issue_id_token_for_native_flows(provider: OpenIdProvider) -> None:
    provider.user = {"sub": "native-1", "email": "n@example.com"}
    token = provider.issue_id_token("ios-app", nonce="nn", email_verified=False)
    claims = verify(provider, token, audience="ios-app", nonce="nn", sub="native-1")
    assert (claims["email"], claims["email_verified"]) == ("n@example.com", False)


def test_rotate_key_changes_the_jwks(provider: OpenIdProvider) -> None:
    first = provider.kid
    second = provider.rotate_key()
    assert [k["kid"] for k in httpx.get(f"{provider.issuer}/jwks").json()["keys"]] == [second]
    assert jwt.decode(provider.issue_id_token(CLIENT_ID), KeySet.import_key_set(provider.jwks())).claims
    third = provider.rotate_key(keep_old=True)
    assert [k["kid"] for k in provider.jwks()["keys"]] == [third, second]
    assert first not in {second, third}
    assert all("d" not in key for key in provider.jwks()["keys"])  # never a private part
