"""The OpenID-based provider types against a real OpenID issuer on loopback (discovery, keys, signed tokens).

Google, Microsoft (per-tenant issuers, subject sources), GitLab/Auth0 (userinfo), Apple (signed client secret,
form_post, the posted name), netID, LinkedIn, LINE, UAE PASS and the generic type's refusal of app tokens.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt
from joserfc.jwk import ECKey
from oidc_fake_api import (
    BASE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    FakeApi,
    FakeIssuer,
    provider_config,
    run,
    url_query,
)

from kratos.selfservice.strategy.oidc.provider import ID_TOKEN_MISSING, ProviderError, TokenSet

TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"  # Microsoft's consumer tenant


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi().running() as server:
        yield server


def exchanged(issuer: FakeIssuer, **claims: Any) -> TokenSet:
    return TokenSet(access_token="at-1", id_token=issuer.id_token(CLIENT_ID, **claims))


# Google


def test_google_authorization_from_discovery_with_offline_access_and_pkce(api: FakeApi) -> None:
    issuer = FakeIssuer(api)
    config = provider_config("google", scope=["email", "profile", "offline_access"])

    async def scenario(provider: Any) -> tuple[str, bool]:
        return await provider.authorization_url(
            state="s", nonce="n-1", forced=True
        ), await provider.use_pkce()

    url, pkce = run(config, scenario, fixed_issuer=issuer.issuer)
    address, query = url_query(url)
    assert address == f"{issuer.issuer}/authorize"
    assert query["scope"] == "email profile openid"  # offline_access is not a Google scope
    assert (query["access_type"], query["prompt"], query["nonce"]) == ("offline", "login", "n-1")
    assert pkce is True  # discovery lists S256


def test_google_claims_from_the_id_token_with_hd_and_the_schemeless_issuer(api: FakeApi) -> None:
    issuer = FakeIssuer(api)
    token = exchanged(
        issuer,
        iss="accounts.google.com",
        sub="1100",
        email="jo@example.com",
        email_verified=True,
        hd="example.com",
    )
    claims = run(provider_config("google"), lambda p: p.claims(token), fixed_issuer=issuer.issuer)
    assert (claims.sub, claims.email, claims.email_verified, claims.hd) == (
        "1100",
        "jo@example.com",
        True,
        "example.com",
    )
    assert claims.raw_claims["hd"] == "example.com"


def test_google_verifies_an_apps_id_token_without_a_nonce_but_checks_a_present_one(api: FakeApi) -> None:
    issuer = FakeIssuer(api)
    config = provider_config("google", additional_id_token_audiences=["ios-app"])
    bare = issuer.id_token("ios-app", sub="1100")
    claims = run(config, lambda p: p.verify_id_token(bare, nonce=None), fixed_issuer=issuer.issuer)
    assert claims.sub == "1100"
    with_nonce = issuer.id_token(CLIENT_ID, nonce="n-1")
    with pytest.raises(ProviderError, match="does not match the nonce"):
        run(config, lambda p: p.verify_id_token(with_nonce, nonce="n-2"), fixed_issuer=issuer.issuer)
    stranger = issuer.id_token("someone-else")
    with pytest.raises(ProviderError, match="Could not verify id_token") as caught:
        run(config, lambda p: p.verify_id_token(stranger, nonce=None), fixed_issuer=issuer.issuer)
    assert caught.value.kind == "forbidden"


# Microsoft


def test_microsoft_endpoints_follow_the_tenant_and_tokens_their_own_tenant(api: FakeApi) -> None:
    tenant_issuer = FakeIssuer(api, f"/{TENANT}/v2.0", pkce=False)
    config = provider_config("microsoft", microsoft_tenant="common", scope=["email"])
    address, query = url_query(run(config, lambda p: p.authorization_url(state="s"), login_base=api.base_url))
    assert address == f"{api.base_url}/common/oauth2/v2.0/authorize"
    assert query["scope"] == "email openid"
    token = exchanged(
        tenant_issuer, tid=TENANT, oid="00000000-0000-0000-66f3-3332eca7ea81", email="a@outlook.com"
    )
    claims = run(config, lambda p: p.claims(token), login_base=api.base_url)
    assert (claims.sub, claims.iss, claims.email) == ("subject-1", tenant_issuer.issuer, "a@outlook.com")


def test_microsoft_subject_sources(api: FakeApi) -> None:
    tenant_issuer = FakeIssuer(api, f"/{TENANT}/v2.0")
    api.on("GET", "/v1.0/me", (200, {"id": "graph-id-7", "displayName": "A"}))
    token = exchanged(tenant_issuer, tid=TENANT, oid="object-id-3")
    moved = {"login_base": api.base_url, "graph_me_url": f"{api.base_url}/v1.0/me"}
    me = run(
        provider_config("microsoft", microsoft_tenant="common", subject_source="me"),
        lambda p: p.claims(token),
        **moved,
    )
    assert me.sub == "graph-id-7"
    assert api.to("/v1.0/me")[0].headers["authorization"] == "Bearer at-1"
    oid = run(
        provider_config("microsoft", microsoft_tenant="common", subject_source="oid"),
        lambda p: p.claims(token),
        **moved,
    )
    assert oid.sub == "object-id-3"


def test_microsoft_refuses_tokens_without_a_tenant_or_from_another_issuer(api: FakeApi) -> None:
    tenant_issuer = FakeIssuer(api, f"/{TENANT}/v2.0")
    config = provider_config("microsoft", microsoft_tenant="organizations")
    with pytest.raises(ProviderError, match="TenantID claim is not a valid UUID"):
        run(config, lambda p: p.claims(exchanged(tenant_issuer, tid="contoso")), login_base=api.base_url)
    forged = exchanged(tenant_issuer, tid=TENANT, iss="https://evil.example.com")
    with pytest.raises(ProviderError, match="issued by a different provider"):
        run(config, lambda p: p.claims(forged), login_base=api.base_url)
    with pytest.raises(ProviderError) as caught:
        run(config, lambda p: p.claims(TokenSet(access_token="at")), login_base=api.base_url)
    assert caught.value.reason == ID_TOKEN_MISSING


# GitLab, Auth0


def test_gitlab_userinfo_claims_on_a_self_hosted_instance(api: FakeApi) -> None:
    userinfo = {
        "sub": "42",
        "name": "Ada",
        "nickname": "ada",
        "email": "ada@example.com",
        "email_verified": True,
        "groups": ["dev"],
    }
    api.on("GET", "/oauth/userinfo", (200, userinfo))
    config = provider_config("gitlab", issuer_url=api.base_url, scope=["openid", "read_user"])
    address, query = url_query(run(config, lambda p: p.authorization_url(state="s")))
    assert (address, query["scope"]) == (f"{api.base_url}/oauth/authorize", "openid read_user")
    claims = run(config, lambda p: p.claims(TokenSet(access_token="glpat")))
    assert (claims.sub, claims.email, claims.email_verified, claims.iss) == (
        "42",
        "ada@example.com",
        True,
        api.base_url,
    )
    assert claims.raw_claims == {}  # upstream decodes userinfo into the claims fields only
    assert api.to("/oauth/userinfo")[0].headers["authorization"] == "Bearer glpat"
    default = run(provider_config("gitlab"), lambda p: p.authorization_url(state="s"))
    assert default.startswith("https://gitlab.com/oauth/authorize?")


def test_auth0_reads_a_string_updated_at(api: FakeApi) -> None:
    api.on("GET", "/userinfo", (200, {"sub": "auth0|1", "updated_at": "2024-01-02T03:04:05.000Z"}))
    config = provider_config("auth0", issuer_url=f"{api.base_url}/")
    claims = run(config, lambda p: p.claims(TokenSet(access_token="t")))
    assert (claims.sub, claims.updated_at) == ("auth0|1", 1704164645)
    api.on("GET", "/userinfo", (200, {"sub": "auth0|1", "updated_at": "yesterday"}))
    with pytest.raises(ProviderError, match="bad time format in updated_at"):
        run(config, lambda p: p.claims(TokenSet(access_token="t")))


# Apple


def apple_key() -> tuple[str, ECKey]:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode(), ECKey.import_key(private.public_key())  # type: ignore[arg-type]


def apple_config(pem: str, **keys: Any) -> Any:
    return provider_config(
        "apple", apple_team_id="KP76DQS54M", apple_private_key_id="UX56C66723", apple_private_key=pem, **keys
    )


def test_apple_posts_a_signed_client_secret_and_asks_for_form_post(api: FakeApi) -> None:
    pem, public = apple_key()
    issuer = FakeIssuer(api)
    issuer.grant(CLIENT_ID, sub="001.apple", email="x@privaterelay.appleid.com", email_verified="true")
    config = apple_config(pem, scope=["email", "name"])
    moved = {"fixed_issuer": issuer.issuer, "token_url": f"{issuer.issuer}/token"}

    async def scenario(provider: Any) -> tuple[str, TokenSet]:
        return await provider.authorization_url(state="s"), await provider.exchange_code("c-1")

    url, tokens = run(config, scenario, **moved)
    address, query = url_query(url)
    assert address == "https://appleid.apple.com/auth/authorize"
    assert (query["response_mode"], query["scope"]) == ("form_post", "email name openid")
    sent = api.to("/token")[0].form()
    assert "authorization" not in api.to("/token")[0].headers
    assert sent["client_id"] == CLIENT_ID
    secret = jwt.decode(sent["client_secret"], public, algorithms=["ES256"])
    assert secret.header == {"alg": "ES256", "kid": "UX56C66723", "typ": "JWT"}
    assert {k: secret.claims[k] for k in ("iss", "sub", "aud")} == {
        "iss": "KP76DQS54M",
        "sub": CLIENT_ID,
        "aud": ["https://appleid.apple.com"],
    }
    assert 290 <= secret.claims["exp"] - time.time() <= 300

    user = orjson.dumps(
        {"name": {"firstName": "Jane", "lastName": "Appleseed"}, "email": "x@privaterelay.appleid.com"}
    )
    claims = run(config, lambda p: p.claims(tokens, query={"user": user.decode()}), **moved)
    assert (claims.sub, claims.email_verified) == ("001.apple", True)  # "true" as a string
    assert (claims.given_name, claims.family_name, claims.last_name) == ("Jane", "Appleseed", "Appleseed")


def test_apple_without_name_scopes_redirects_and_a_bad_key_is_a_misconfiguration() -> None:
    pem, _ = apple_key()
    _, query = url_query(run(apple_config(pem), lambda p: p.authorization_url(state="s")))
    assert "response_mode" not in query
    with pytest.raises(ProviderError, match="apple_private_key: failed to decode PEM block") as caught:
        run(apple_config("not a key"), lambda p: p.exchange_code("c"))
    assert caught.value.kind == "misconfiguration"


def test_apple_app_tokens_may_lack_a_nonce_only_when_nonce_supported(api: FakeApi) -> None:
    pem, _ = apple_key()
    issuer = FakeIssuer(api)
    config = apple_config(pem)
    claims = run(
        config,
        lambda p: p.verify_id_token(issuer.id_token(CLIENT_ID, nonce_supported=True), nonce=None),
        fixed_issuer=issuer.issuer,
    )
    assert claims.nonce_supported is True
    with pytest.raises(ProviderError, match="No nonce was included"):
        run(
            config,
            lambda p: p.verify_id_token(issuer.id_token(CLIENT_ID), nonce=None),
            fixed_issuer=issuer.issuer,
        )


# netID, LinkedIn, LINE, UAE PASS, generic


def test_netid_claims_from_userinfo_with_the_tokens_subject_and_fedcm_exchange(api: FakeApi) -> None:
    issuer = FakeIssuer(api)
    api.on(
        "GET",
        "/userinfo",
        (200, {"sub": "ignored", "email": "n@netid.de", "email_verified": True, "given_name": "N"}),
    )
    config = provider_config("netid", net_id_token_origin_header="https://shop.example.com")
    moved = {"fixed_issuer": issuer.issuer, "broker_base": api.base_url}
    claims = run(config, lambda p: p.claims(exchanged(issuer, sub="netid-sub")), **moved)
    assert (claims.sub, claims.iss, claims.email, claims.given_name) == (
        "netid-sub",
        issuer.issuer,
        "n@netid.de",
        "N",
    )
    api.on("POST", "/token", (200, {"id_token": issuer.id_token(CLIENT_ID, sub="fedcm-sub", nonce="n-1")}))
    verified = run(config, lambda p: p.verify_id_token("fedcm-token", nonce="n-1"), **moved)
    assert verified.sub == "fedcm-sub"
    sent = api.to("/token")[0]
    assert sent.form() == {"grant_type": "netid_fedcm", "fedcm_token": "fedcm-token"}
    assert sent.headers["origin"] == "https://shop.example.com"


def test_linkedin_takes_claims_from_userinfo_matching_the_token(api: FakeApi) -> None:
    issuer = FakeIssuer(api)
    api.on(
        "GET",
        "/userinfo",
        (
            200,
            {
                "sub": "li-1",
                "name": "Li",
                "email": "li@example.com",
                "locale": {"country": "US", "language": "en"},
            },
        ),
    )
    claims = run(
        provider_config("linkedin_v2"),
        lambda p: p.claims(exchanged(issuer, sub="li-1")),
        fixed_issuer=issuer.issuer,
    )
    assert (claims.name, claims.locale, claims.raw_claims["email"]) == ("Li", "en-US", "li@example.com")
    with pytest.raises(ProviderError, match="claim mismatch"):
        run(
            provider_config("linkedin_v2"),
            lambda p: p.claims(exchanged(issuer, sub="li-2")),
            fixed_issuer=issuer.issuer,
        )


def test_line_asks_for_a_jwk_signed_id_token(api: FakeApi) -> None:
    issuer = FakeIssuer(api)
    issuer.grant(CLIENT_ID)
    run(provider_config("line"), lambda p: p.exchange_code("c-1"), fixed_issuer=issuer.issuer)
    assert api.to("/token")[0].form()["id_token_key_type"] == "JWK"


def test_uaepass_forces_pkce_and_web_acr_and_keeps_the_raw_profile(api: FakeApi) -> None:
    profile = {
        "sub": "uae-1",
        "email": "u@example.ae",
        "fullnameEN": "Ali Saleh",
        "firstnameEN": "Ali",
        "lastnameEN": "Saleh",
        "userType": "SOP3",
    }
    api.on("GET", "/idshub/userinfo", (200, profile))
    config = provider_config("uaepass", issuer_url=api.base_url)

    async def scenario(provider: Any) -> tuple[str, bool]:
        return await provider.authorization_url(state="s", code_verifier="v" * 50), await provider.use_pkce()

    url, pkce = run(config, scenario)
    address, query = url_query(url)
    assert (address, pkce) == (f"{api.base_url}/idshub/authorize", True)
    assert query["acr_values"] == "urn:safelayer:tws:policies:authentication:level:low"
    assert query["redirect_uri"] == f"{BASE_URL}/self-service/methods/oidc/callback"
    claims = run(config, lambda p: p.claims(TokenSet(access_token="t")))
    assert (claims.sub, claims.name, claims.last_name, claims.iss) == (
        "uae-1",
        "Ali Saleh",
        "Saleh",
        api.base_url,
    )
    assert claims.raw_claims == profile


def test_generic_does_not_take_an_apps_id_token(api: FakeApi) -> None:
    issuer = FakeIssuer(api)
    config = provider_config("generic", issuer_url=issuer.issuer)
    with pytest.raises(ProviderError, match="does not support id_token verification") as caught:
        run(config, lambda p: p.verify_id_token(issuer.id_token(CLIENT_ID), nonce=None))
    assert caught.value.kind == "upstream"


# the whole code flow against the authlib OpenID provider (tests/oidc_provider.py)


@pytest.mark.parametrize("claims_source", ["id_token", "userinfo"])
def test_google_code_flow_end_to_end_with_nonce_and_pkce(oidc_provider: Any, claims_source: str) -> None:
    config = provider_config("google", scope=["email", "profile"], claims_source=claims_source)
    oidc_provider.add_client(
        CLIENT_ID, CLIENT_SECRET, [f"{BASE_URL}/self-service/methods/oidc/callback/google"]
    )
    oidc_provider.user = {**oidc_provider.user, "hd": "example.com"}
    verifier = "k" * 60

    async def scenario(provider: Any) -> Any:
        assert await provider.use_pkce()
        url = await provider.authorization_url(state="st-1", nonce="n-1", code_verifier=verifier)
        answer = await provider.http.get(url)
        code = dict(parse_qsl(urlsplit(answer.headers["location"]).query))["code"]
        tokens = await provider.exchange_code(code, code_verifier=verifier)
        return await provider.claims(tokens, nonce="n-1")

    claims = run(config, scenario, fixed_issuer=oidc_provider.issuer)
    assert (claims.sub, claims.email, claims.email_verified, claims.hd) == (
        "oidc-user-1",
        "oidc-user-1@example.com",
        True,
        "example.com",
    )
    assert oidc_provider.token_requests[-1]["code_verifier"] == verifier
    assert oidc_provider.userinfo_calls == (1 if claims_source == "userinfo" else 0)
