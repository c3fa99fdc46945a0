"""The OAuth2 + API provider types against real HTTP servers on loopback that answer like the providers.

Each type: its authorization URL, the code exchange it sends, and the claims it makes of realistic answers,
including refusals (scope not granted, API down or unreachable, not JSON). The OpenID-based types are in
test_oidc_providers_openid.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import pytest
from netutil import free_port
from oidc_fake_api import BASE_URL, CLIENT_ID, CLIENT_SECRET, FakeApi, provider_config, run, url_query
from pydantic import ValidationError

from kratos.config.oidc import OidcProvider
from kratos.selfservice.strategy.oidc.claims import Claims
from kratos.selfservice.strategy.oidc.provider import ProviderError, TokenSet
from kratos.selfservice.strategy.oidc.provider_common import SCOPE_MISSING
from kratos.selfservice.strategy.oidc.providers import PROVIDER_TYPES

GITHUB_USER = {
    "login": "octocat",
    "id": 583231,
    "node_id": "MDQ6VXNlcjU4MzIzMQ==",
    "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
    "html_url": "https://github.com/octocat",
    "type": "User",
    "name": "The Octocat",
    "company": "@github",
    "blog": "https://github.blog",
    "email": None,
    "created_at": "2011-01-25T18:44:36Z",
    "updated_at": "2024-06-22T11:04:58Z",
}
GITHUB_EMAILS = [
    {"email": "octocat@users.noreply.github.com", "primary": False, "verified": True, "visibility": None},
    {"email": "octocat@github.com", "primary": True, "verified": True, "visibility": "public"},
]


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi().running() as server:
        yield server


def tokens(scope: str | None = None, **extra: Any) -> TokenSet:
    raw: dict[str, Any] = {"access_token": "gho_16C7e42F292c6912E7710c838347Ae178B4a", "token_type": "bearer"}
    if scope is not None:
        raw["scope"] = scope
    return TokenSet(access_token=raw["access_token"], raw={**raw, **extra})


def github(api: FakeApi, kind: str = "github", **keys: Any) -> tuple[OidcProvider, dict[str, str]]:
    api.on("GET", "/api/user", (200, GITHUB_USER))
    api.on("GET", "/api/user/emails", (200, GITHUB_EMAILS))
    moved = {
        "authorize_url": f"{api.base_url}/login/oauth/authorize",
        "token_url": f"{api.base_url}/login/oauth/access_token",
        "api_base": f"{api.base_url}/api",
    }
    return provider_config(kind, **keys), moved


# GitHub


def test_github_authorization_url_asks_for_the_configured_scopes_without_pkce() -> None:
    config = provider_config("github", scope=["user:email"])
    url = run(config, lambda p: p.authorization_url(state="state-1"))
    address, query = url_query(url)
    assert address == "https://github.com/login/oauth/authorize"
    assert query == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": f"{BASE_URL}/self-service/methods/oidc/callback/github",
        "scope": "user:email",
        "state": "state-1",
    }
    assert run(config, lambda p: p.use_pkce()) is False  # auto: GitHub advertises nothing


def test_github_with_forced_pkce_sends_the_challenge_and_the_verifier(api: FakeApi) -> None:
    config, moved = github(api, pkce="force")
    api.on(
        "POST",
        "/login/oauth/access_token",
        (200, {"access_token": "gho_x", "scope": "", "token_type": "bearer"}),
    )
    verifier = "v" * 64

    async def scenario(provider: Any) -> tuple[str, TokenSet]:
        return await provider.authorization_url(
            state="s", code_verifier=verifier
        ), await provider.exchange_code("code-1", code_verifier=verifier)

    url, exchanged = run(config, scenario, **moved)
    _, query = url_query(url)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert query["code_challenge"] == challenge
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == f"{BASE_URL}/self-service/methods/oidc/callback"  # pkce: force
    assert "scope" not in query
    sent = api.to("/login/oauth/access_token")[0]
    assert sent.form() == {
        "grant_type": "authorization_code",
        "code": "code-1",
        "redirect_uri": f"{BASE_URL}/self-service/methods/oidc/callback",
        "code_verifier": verifier,
    }
    assert (
        sent.headers["authorization"]
        == "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    )
    assert exchanged.access_token == "gho_x"


def test_github_claims_take_the_primary_email_and_the_numeric_id(api: FakeApi) -> None:
    config, moved = github(api, scope=["user:email", "read:user"])
    claims = run(config, lambda p: p.claims(tokens("read:user,user:email")), **moved)
    assert claims == Claims(
        sub="583231",
        iss="https://github.com/login/oauth/access_token",
        name="The Octocat",
        nickname="octocat",
        website="https://github.blog",
        picture="https://avatars.githubusercontent.com/u/583231?v=4",
        profile="https://github.com/octocat",
        updated_at=1719054298,
        email="octocat@github.com",
        email_verified=True,
    )
    user, emails = api.to("/api/user")[0], api.to("/api/user/emails")[0]
    assert user.headers["authorization"] == "Bearer gho_16C7e42F292c6912E7710c838347Ae178B4a"
    assert emails.headers["accept"] == "application/vnd.github.v3+json"


def test_github_unverified_primary_email_is_not_verified(api: FakeApi) -> None:
    config, moved = github(api)
    api.on(
        "GET", "/api/user/emails", (200, [{"email": "new@example.com", "primary": True, "verified": False}])
    )
    claims = run(config, lambda p: p.claims(tokens("user:email")), **moved)
    assert (claims.email, claims.email_verified) == ("new@example.com", False)


def test_github_without_user_email_granted_reads_no_emails(api: FakeApi) -> None:
    config, moved = github(api)
    claims = run(config, lambda p: p.claims(tokens("read:user")), **moved)
    assert (claims.email, claims.email_verified) == ("", False)
    assert api.to("/api/user/emails") == []


def test_github_refuses_when_a_configured_scope_was_not_granted(api: FakeApi) -> None:
    config, moved = github(api, scope=["user:email", "read:org"])
    with pytest.raises(ProviderError) as caught:
        run(config, lambda p: p.claims(tokens("user:email")), **moved)
    assert (caught.value.kind, caught.value.reason) == ("bad_request", SCOPE_MISSING)
    assert api.requests == []


def test_github_api_errors_are_upstream_errors(api: FakeApi) -> None:
    config, moved = github(api)
    api.on("GET", "/api/user", (401, {"message": "Bad credentials", "documentation_url": "https://docs"}))
    with pytest.raises(ProviderError) as caught:
        run(config, lambda p: p.claims(tokens("")), **moved)
    assert caught.value.kind == "upstream"
    assert caught.value.reason == f"GET {api.base_url}/api/user: 401 Bad credentials []"

    api.on("GET", "/api/user", (200, b"<html>GitHub is down</html>"))
    with pytest.raises(ProviderError, match="not JSON") as caught:
        run(config, lambda p: p.claims(tokens("")), **moved)
    assert caught.value.kind == "upstream"


def test_an_unreachable_provider_is_an_upstream_error() -> None:
    config = provider_config("github")
    with pytest.raises(ProviderError, match="Unable to reach the provider 'github'") as caught:
        run(config, lambda p: p.claims(tokens("")), api_base=f"http://127.0.0.1:{free_port()}")
    assert caught.value.kind == "upstream"


def test_github_token_endpoint_refusal_names_the_oauth2_error(api: FakeApi) -> None:
    config, moved = github(api)
    api.on(
        "POST",
        "/login/oauth/access_token",
        (
            200,
            {
                "error": "bad_verification_code",
                "error_description": "The code passed is incorrect or expired.",
            },
        ),
    )
    with pytest.raises(ProviderError) as caught:
        run(config, lambda p: p.exchange_code("stale"), **moved)
    assert caught.value.reason == 'oauth2: "bad_verification_code" "The code passed is incorrect or expired."'


def test_github_app_reads_emails_without_scopes_and_falls_back_to_the_last(api: FakeApi) -> None:
    config, moved = github(api, kind="github-app", scope=["anything"])
    api.on(
        "GET",
        "/api/user/emails",
        (
            200,
            [
                {"email": "a@example.com", "primary": False, "verified": False},
                {"email": "b@example.com", "primary": False, "verified": True},
            ],
        ),
    )
    claims = run(config, lambda p: p.claims(tokens()), **moved)
    assert (claims.sub, claims.email, claims.email_verified) == ("583231", "b@example.com", True)


# Discord

DISCORD_USER = {
    "id": "80351110224678912",
    "username": "nelly",
    "discriminator": "1337",
    "global_name": "Nelly",
    "avatar": "8342729096ea3675442027381ff50dfe",
    "verified": True,
    "email": "nelly@discord.com",
    "flags": 64,
    "locale": "en-US",
    "mfa_enabled": True,
}


def discord(api: FakeApi, user: dict[str, Any], **keys: Any) -> Claims:
    api.on("GET", "/api/v9/users/@me", (200, user))
    config = provider_config("discord", **keys)
    return run(config, lambda p: p.claims(tokens("identify email")), api_base=f"{api.base_url}/api/v9")


def test_discord_authorization_prompts_none_unless_forced() -> None:
    config = provider_config("discord", scope=["identify", "email"])
    address, query = url_query(run(config, lambda p: p.authorization_url(state="s")))
    assert address == "https://discord.com/api/v9/oauth2/authorize"
    assert (query["prompt"], query["scope"]) == ("none", "identify email")
    _, forced = url_query(run(config, lambda p: p.authorization_url(state="s", forced=True)))
    assert forced["prompt"] == "consent"


def test_discord_claims(api: FakeApi) -> None:
    claims = discord(api, DISCORD_USER, scope=["identify", "email"])
    assert claims == Claims(
        iss="https://discord.com/api/v9/oauth2/",
        sub="80351110224678912",
        name="nelly#1337",
        nickname="nelly",
        preferred_username="nelly",
        picture="https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png",
        email="nelly@discord.com",
        email_verified=True,
        locale="en-US",
    )
    assert api.to("/api/v9/users/@me")[0].headers["authorization"].startswith("Bearer ")


def test_discord_default_and_animated_avatars_and_unverified_email(api: FakeApi) -> None:
    migrated = {**DISCORD_USER, "discriminator": "0", "avatar": None, "verified": False}
    claims = discord(api, migrated)
    assert claims.picture == f"https://cdn.discordapp.com/embed/avatars/{(80351110224678912 >> 22) % 6}.png"
    assert (claims.name, claims.email_verified) == ("nelly#0", False)
    legacy = discord(api, {**DISCORD_USER, "avatar": None})
    assert legacy.picture == "https://cdn.discordapp.com/embed/avatars/2.png"  # 1337 % 5
    animated = discord(api, {**DISCORD_USER, "avatar": "a_1269e74af4df7417b13759eae50c83dc"})
    assert animated.picture.endswith("/a_1269e74af4df7417b13759eae50c83dc.gif")


def test_discord_scope_check_and_api_error(api: FakeApi) -> None:
    with pytest.raises(ProviderError, match="permissions were not granted"):
        discord(api, DISCORD_USER, scope=["guilds"])
    api.on("GET", "/api/v9/users/@me", (401, {"message": "401: Unauthorized", "code": 0}))
    config = provider_config("discord")
    with pytest.raises(ProviderError) as caught:
        run(config, lambda p: p.claims(tokens("")), api_base=f"{api.base_url}/api/v9")
    assert caught.value.kind == "upstream"
    assert caught.value.reason == 'HTTP 401 Unauthorized, {"message":"401: Unauthorized","code":0}'


# Slack

SLACK_IDENTITY = {
    "ok": True,
    "user": {
        "name": "Sonny Whether",
        "id": "U0G9QF9C6",
        "email": "sonny@captain-fabian.com",
        "image_512": "https://a.slack-edge.com/512.png",
    },
    "team": {"id": "T0G9PQBBK", "name": "Captain Fabian's Naval Supply"},
}


def test_slack_identity_claims_and_token_sent_as_form(api: FakeApi) -> None:
    api.on("POST", "/api/users.identity", (200, SLACK_IDENTITY))
    config = provider_config("slack", scope=["identity.basic", "identity.email"])
    address, query = url_query(run(config, lambda p: p.authorization_url(state="s")))
    assert (address, query["scope"]) == ("https://slack.com/oauth/authorize", "identity.basic identity.email")
    claims = run(
        config,
        lambda p: p.claims(tokens("identity.basic,identity.email,identity.avatar")),
        api_base=f"{api.base_url}/api",
    )
    assert claims == Claims(
        iss="https://slack.com/oauth/",
        sub="U0G9QF9C6",
        name="Sonny Whether",
        preferred_username="Sonny Whether",
        nickname="Sonny Whether",
        email="sonny@captain-fabian.com",
        email_verified=True,
        picture="https://a.slack-edge.com/512.png",
        team="T0G9PQBBK",
    )
    assert api.to("/api/users.identity")[0].form() == {"token": "gho_16C7e42F292c6912E7710c838347Ae178B4a"}


def test_slack_not_ok_names_slacks_error(api: FakeApi) -> None:
    api.on("POST", "/api/users.identity", (200, {"ok": False, "error": "invalid_auth"}))
    with pytest.raises(ProviderError) as caught:
        run(provider_config("slack"), lambda p: p.claims(tokens("")), api_base=f"{api.base_url}/api")
    assert (caught.value.kind, caught.value.reason) == ("upstream", "invalid_auth")


# Facebook

FACEBOOK_ME = {
    "id": "10158201235347382",
    "name": "Jane Doe",
    "first_name": "Jane",
    "last_name": "Doe",
    "email": "jane@example.com",
    "picture": {
        "data": {
            "height": 50,
            "is_silhouette": False,
            "url": "https://platform-lookaside.fbsbx.com/p.jpg",
            "width": 50,
        }
    },
    "birthday": "08/31/1990",
    "gender": "female",
}


def test_facebook_signs_the_graph_request_with_appsecret_proof(api: FakeApi) -> None:
    api.on("GET", "/me", (200, FACEBOOK_ME))
    config = provider_config("facebook", scope=["email"])
    address, query = url_query(run(config, lambda p: p.authorization_url(state="s")))
    assert (address, query["scope"]) == ("https://facebook.com/dialog/oauth", "email openid")
    claims = run(config, lambda p: p.claims(tokens()), graph_base=api.base_url)
    sent = api.to("/me")[0]
    proof = hmac.new(
        CLIENT_SECRET.encode(), b"gho_16C7e42F292c6912E7710c838347Ae178B4a", hashlib.sha256
    ).hexdigest()
    assert sent.arg("appsecret_proof") == proof
    assert sent.arg("fields") == "id,name,first_name,last_name,middle_name,email,picture,birthday,gender"
    assert claims == Claims(
        iss=f"{api.base_url}/me?fields=id,name,first_name,last_name,middle_name,email,picture,birthday,gender&appsecret_proof={proof}",
        sub="10158201235347382",
        name="Jane Doe",
        given_name="Jane",
        family_name="Doe",
        nickname="Jane Doe",
        preferred_username="Jane Doe",
        picture="https://platform-lookaside.fbsbx.com/p.jpg",
        email="jane@example.com",
        email_verified=True,
        gender="female",
        birthdate="08/31/1990",
    )


def test_facebook_without_email_and_graph_errors(api: FakeApi) -> None:
    api.on("GET", "/me", (200, {"id": "1", "name": "No Mail"}))
    claims = run(provider_config("facebook"), lambda p: p.claims(tokens()), graph_base=api.base_url)
    assert (claims.email, claims.email_verified) == ("", False)
    api.on("GET", "/me", (400, {"error": {"message": "Invalid appsecret_proof", "code": 100}}))
    with pytest.raises(ProviderError) as caught:
        run(provider_config("facebook"), lambda p: p.claims(tokens()), graph_base=api.base_url)
    assert caught.value.reason == "OpenID Connect provider returned a 400 status code but 200 is expected."
    assert caught.value.kind == "upstream"


def test_every_upstream_type_but_the_oauth1_and_deprecated_ones_is_built() -> None:
    for kind in PROVIDER_TYPES:
        keys: dict[str, Any] = {}
        if kind in ("generic", "auth0", "salesforce"):
            keys["issuer_url"] = "https://idp.example.com"
        if kind == "microsoft":
            keys["microsoft_tenant"] = "common"
        if kind == "apple":
            keys.update(
                apple_team_id="T", apple_private_key_id="K", apple_private_key="-----BEGIN PRIVATE KEY-----"
            )
        provider = run(provider_config(kind, **keys), _itself)
        assert isinstance(provider, PROVIDER_TYPES[kind])
    assert "x" not in PROVIDER_TYPES
    assert "linkedin" not in PROVIDER_TYPES


async def _itself(provider: Any) -> Any:
    return provider


def test_config_refuses_what_a_type_cannot_run() -> None:
    with pytest.raises(ValidationError, match="issuer_url: is required for the auth0 provider"):
        provider_config("auth0")
    with pytest.raises(ValidationError, match="issuer_url: is required for the salesforce provider"):
        provider_config("salesforce")
    with pytest.raises(ValidationError, match="scope: email not supported by the amazon provider"):
        provider_config("amazon", scope=["profile", "email"])
    with pytest.raises(ValidationError, match="pkce: auto is not supported by the amazon provider"):
        provider_config("amazon", pkce="auto")
    assert provider_config("amazon", scope=["profile"]).pkce == "auto"  # left out: no PKCE, as upstream
