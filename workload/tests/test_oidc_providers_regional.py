"""Spotify, Patreon, VK, Yandex, DingTalk, Lark, Amazon and Salesforce against loopback servers that answer
like their APIs: the requests each type sends and the claims it makes of the answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from oidc_fake_api import CLIENT_ID, CLIENT_SECRET, FakeApi, provider_config, run, url_query

from kratos.selfservice.strategy.oidc.claims import Claims
from kratos.selfservice.strategy.oidc.provider import ProviderError, TokenSet


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi().running() as server:
        yield server


def token(**raw: Any) -> TokenSet:
    return TokenSet(access_token="at-1", raw={"access_token": "at-1", **raw})


def test_spotify_current_user(api: FakeApi) -> None:
    me = {
        "id": "wizzler",
        "display_name": "JM Wizzler",
        "email": "email@example.com",
        "external_urls": {"spotify": "https://open.spotify.com/user/wizzler"},
        "images": [{"height": 300, "url": "https://i.scdn.co/image/ab67.jpg", "width": 300}],
        "country": "SE",
        "product": "premium",
    }
    api.on("GET", "/v1/me", (200, me))
    config = provider_config("spotify", scope=["user-read-email"])
    claims = run(
        config,
        lambda p: p.claims(token(scope="user-read-email user-read-private")),
        api_base=f"{api.base_url}/v1",
    )
    assert claims == Claims(
        sub="wizzler",
        iss="https://accounts.spotify.com/api/token",
        name="JM Wizzler",
        nickname="JM Wizzler",
        email="email@example.com",
        picture="https://i.scdn.co/image/ab67.jpg",
        profile="https://open.spotify.com/user/wizzler",
    )
    api.on("GET", "/v1/me", (401, {"error": {"status": 401, "message": "Invalid access token"}}))
    with pytest.raises(ProviderError, match=r"^Invalid access token$"):
        run(config, lambda p: p.claims(token(scope="user-read-email")), api_base=f"{api.base_url}/v1")


def test_patreon_identity(api: FakeApi) -> None:
    identity = {
        "data": {
            "attributes": {
                "email": "p@example.com",
                "first_name": "Pat",
                "full_name": "Pat Ron",
                "image_url": "https://c8.patreon.com/p.png",
                "last_name": "Ron",
            },
            "id": "12345",
            "type": "user",
        },
        "links": {"self": "https://www.patreon.com/api/oauth2/v2/user/12345"},
    }
    api.on("GET", "/api/oauth2/v2/identity", (200, identity))
    config = provider_config("patreon")
    _, query = url_query(run(config, lambda p: p.authorization_url(state="s")))
    assert query["prompt"] == "none"
    fields = "fields%5Buser%5D=first_name,last_name,url,full_name,email,image_url"
    url = f"{api.base_url}/api/oauth2/v2/identity?{fields}"
    claims = run(config, lambda p: p.claims(token()), identity_url=url)
    assert claims == Claims(
        iss="https://www.patreon.com/",
        sub="12345",
        name="Pat Ron",
        email="p@example.com",
        given_name="Pat",
        family_name="Ron",
        last_name="Ron",
        picture="https://c8.patreon.com/p.png",
    )
    assert api.to("/api/oauth2/v2/identity")[0].arg("fields[user]").startswith("first_name,")


def test_vk_users_get_and_the_email_of_the_token_response(api: FakeApi) -> None:
    users = {
        "response": [
            {
                "id": 210700286,
                "first_name": "Lindsey",
                "last_name": "Stirling",
                "nickname": "",
                "photo_200": "https://sun1.userapi.com/p.jpg",
                "sex": 1,
                "bdate": "21.9.1986",
            }
        ]
    }
    api.on("GET", "/method/users.get", (200, users))
    config = provider_config("vk")
    claims = run(
        config, lambda p: p.claims(token(email="l@example.com")), users_url=f"{api.base_url}/method/users.get"
    )
    assert claims == Claims(
        iss="https://api.vk.com/method/users.get",
        sub="210700286",
        given_name="Lindsey",
        family_name="Stirling",
        picture="https://sun1.userapi.com/p.jpg",
        email="l@example.com",
        gender="female",
        birthdate="21.9.1986",
    )
    sent = api.to("/method/users.get")[0]
    assert (sent.arg("access_token"), sent.arg("v"), sent.arg("fields")) == (
        "at-1",
        "5.103",
        "photo_200,nickname,bdate,sex",
    )
    api.on("GET", "/method/users.get", (200, {"response": []}))
    with pytest.raises(ProviderError, match="VK did not return a user"):
        run(config, lambda p: p.claims(token()), users_url=f"{api.base_url}/method/users.get")


def test_yandex_info_and_avatar(api: FakeApi) -> None:
    info = {
        "id": "1000034426",
        "login": "ivan",
        "first_name": "Ivan",
        "last_name": "Ivanov",
        "default_email": "ivan@yandex.ru",
        "default_avatar_id": "131652443",
        "is_avatar_empty": False,
        "sex": "male",
        "birthday": "1987-03-12",
    }
    api.on("GET", "/info", (200, info))
    claims = run(provider_config("yandex"), lambda p: p.claims(token()), info_url=f"{api.base_url}/info")
    assert claims.picture == "https://avatars.yandex.net/get-yapic/131652443/islands-200"
    assert (claims.sub, claims.email, claims.email_verified, claims.gender) == (
        "1000034426",
        "ivan@yandex.ru",
        False,
        "male",
    )
    assert api.to("/info")[0].arg("oauth_token") == "at-1"
    api.on("GET", "/info", (200, {**info, "is_avatar_empty": True}))
    assert (
        run(provider_config("yandex"), lambda p: p.claims(token()), info_url=f"{api.base_url}/info").picture
        == ""
    )


def test_dingtalk_exchanges_the_code_as_json_and_reads_the_user_with_its_header(api: FakeApi) -> None:
    api.on(
        "POST",
        "/v1.0/oauth2/userAccessToken",
        (200, {"accessToken": "dt-1", "refreshToken": "r", "expireIn": 7200}),
    )
    api.on(
        "GET",
        "/v1.0/contact/users/me",
        (
            200,
            {
                "nick": "zhangsan",
                "openId": "123",
                "avatarUrl": "https://x/a.png",
                "email": "z@example.com",
                "mobile": "150",
            },
        ),
    )
    config = provider_config("dingtalk")
    moved = {
        "token_url": f"{api.base_url}/v1.0/oauth2/userAccessToken",
        "userinfo_url": f"{api.base_url}/v1.0/contact/users/me",
    }

    async def scenario(provider: Any) -> Claims:
        return await provider.claims(await provider.exchange_code("c-1"))

    claims = run(config, scenario, **moved)
    sent = api.to("/v1.0/oauth2/userAccessToken")[0]
    assert sent.json() == {
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "code": "c-1",
        "grantType": "authorization_code",
    }
    me = api.to("/v1.0/contact/users/me")[0]
    assert me.headers["x-acs-dingtalk-access-token"] == "dt-1"
    assert "authorization" not in me.headers
    assert (claims.sub, claims.name, claims.nickname, claims.iss) == (
        "123",
        "zhangsan",
        "zhangsan",
        moved["userinfo_url"],
    )
    _, query = url_query(run(config, lambda p: p.authorization_url(state="s")))
    assert query["prompt"] == "consent"
    api.on(
        "GET", "/v1.0/contact/users/me", (200, {"code": "InvalidAuthentication", "message": "token invalid"})
    )
    with pytest.raises(ProviderError, match=r"userResp\.ErrCode = InvalidAuthentication"):
        run(config, lambda p: p.claims(TokenSet(access_token="bad")), **moved)


def test_lark_sends_the_client_in_the_body_and_maps_open_id(api: FakeApi) -> None:
    api.on("POST", "/oauth/token", (200, {"access_token": "u-1", "token_type": "Bearer", "expires_in": 6900}))
    api.on(
        "GET",
        "/oauth/userinfo",
        (
            200,
            {
                "sub": "ou_x",
                "name": "Zhang",
                "open_id": "ou_caecc734",
                "avatar_url": "https://a/b.png",
                "email": "z@lark.com",
                "mobile": "+86130",
            },
        ),
    )
    moved = {"token_url": f"{api.base_url}/oauth/token", "userinfo_url": f"{api.base_url}/oauth/userinfo"}

    async def scenario(provider: Any) -> Claims:
        return await provider.claims(await provider.exchange_code("c-1"))

    claims = run(provider_config("lark"), scenario, **moved)
    sent = api.to("/oauth/token")[0]
    assert (sent.form()["client_id"], sent.form()["client_secret"]) == (CLIENT_ID, CLIENT_SECRET)
    assert "authorization" not in sent.headers
    assert (claims.sub, claims.phone_number, claims.phone_number_verified) == ("ou_caecc734", "+86130", False)


def test_amazon_profile_with_its_token_header(api: FakeApi) -> None:
    api.on(
        "GET",
        "/user/profile",
        (
            200,
            {
                "user_id": "amzn1.account.K2LI23KL2LK2",
                "email": "m@example.com",
                "name": "Mhashim",
                "postal_code": "98101",
            },
        ),
    )
    config = provider_config("amazon", scope=["profile", "postal_code"])
    address, query = url_query(run(config, lambda p: p.authorization_url(state="s")))
    assert (address, query["scope"]) == ("https://www.amazon.com/ap/oa", "profile postal_code")
    claims = run(config, lambda p: p.claims(token()), profile_url=f"{api.base_url}/user/profile")
    assert claims == Claims(
        sub="amzn1.account.K2LI23KL2LK2",
        iss="https://api.amazon.com/auth/o2/token",
        name="Mhashim",
        email="m@example.com",
        zoneinfo="98101",
    )
    assert api.to("/user/profile")[0].headers["x-amz-access-token"] == "at-1"
    api.on("GET", "/user/profile", (401, {"error": "invalid_token"}))
    with pytest.raises(ProviderError, match="non 200 response") as caught:
        run(config, lambda p: p.claims(token()), profile_url=f"{api.base_url}/user/profile")
    assert caught.value.kind == "upstream"


def test_salesforce_userinfo_under_services_oauth2(api: FakeApi) -> None:
    api.on(
        "GET",
        "/services/oauth2/userinfo",
        (
            200,
            {
                "sub": "https://login.salesforce.com/id/00D/005",
                "user_id": "005",
                "email": "s@example.com",
                "email_verified": True,
                "updated_at": "2023-05-04T12:00:00Z",
            },
        ),
    )
    config = provider_config("salesforce", issuer_url=api.base_url)
    address, query = url_query(run(config, lambda p: p.authorization_url(state="s")))
    assert address == f"{api.base_url}/services/oauth2/authorize"
    assert "scope" not in query  # no openid added, as upstream
    claims = run(config, lambda p: p.claims(token()))
    assert (claims.email_verified, claims.updated_at, claims.iss) == (True, 1683201600, api.base_url)
