"""OAuth2 provider types with an API of their own: VK, Yandex, DingTalk, Lark (Feishu) and Amazon.

Mapped to :class:`Claims` as upstream maps them; every fixed URL is a class attribute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote

import orjson

from kratos.selfservice.strategy.oidc.claims import Claims
from kratos.selfservice.strategy.oidc.provider import ProviderError, TokenSet, json_object
from kratos.selfservice.strategy.oidc.provider_common import FixedEndpoints, text

VK_ISSUER = "https://api.vk.com/method/users.get"
YANDEX_ISSUER = "https://login.yandex.ru/info"
AMAZON_ISSUER = "https://api.amazon.com/auth/o2/token"
_VK_GENDERS = {1: "female", 2: "male"}


class VkProvider(FixedEndpoints):
    """``vk``: ``users.get`` (API 5.103); the email comes with the token response."""

    authorize_url = "https://oauth.vk.com/authorize"
    token_url = "https://oauth.vk.com/access_token"
    users_url = "https://api.vk.com/method/users.get"

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """The first user of ``users.get``; ``sex`` 1/2 as female/male."""
        url = (
            f"{self.users_url}?fields=photo_200,nickname,bdate,sex"
            f"&access_token={quote(tokens.access_token)}&v=5.103"
        )
        answer = await self.get_json(url, tokens.access_token, "users.get")
        users = answer.get("response") if isinstance(answer, dict) else None
        if not isinstance(users, list) or not users or not isinstance(users[0], dict):
            raise ProviderError("VK did not return a user in the userinfo request.", "upstream")
        user: dict[str, Any] = users[0]
        email = tokens.raw.get("email")
        return Claims(
            iss=VK_ISSUER,
            sub=text(user, "id"),
            given_name=text(user, "first_name"),
            family_name=text(user, "last_name"),
            nickname=text(user, "nickname"),
            picture=text(user, "photo_200"),
            email=email if isinstance(email, str) else "",
            gender=_VK_GENDERS.get(sex, "") if isinstance(sex := user.get("sex"), int) else "",
            birthdate=text(user, "bdate"),
        )


class YandexProvider(FixedEndpoints):
    """``yandex``: Yandex ID's ``/info``; the avatar id becomes an ``islands-200`` picture URL."""

    authorize_url = "https://oauth.yandex.com/authorize"
    token_url = "https://oauth.yandex.com/token"
    info_url = "https://login.yandex.ru/info"
    avatar_base = "https://avatars.yandex.net/get-yapic"

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """``default_email`` as the (unverified) email."""
        url = f"{self.info_url}?format=json&oauth_token={quote(tokens.access_token)}"
        user = await self.get_json(url, tokens.access_token, "info")
        if not isinstance(user, dict):
            raise ProviderError("The provider's info answer is not a JSON object", "upstream")
        empty = user.get("is_avatar_empty") is True
        picture = "" if empty else f"{self.avatar_base}/{text(user, 'default_avatar_id')}/islands-200"
        return Claims(
            iss=YANDEX_ISSUER,
            sub=text(user, "id"),
            given_name=text(user, "first_name"),
            family_name=text(user, "last_name"),
            picture=picture,
            email=text(user, "default_email"),
            gender=text(user, "sex"),
            birthdate=text(user, "birthday"),
        )


class DingTalkProvider(FixedEndpoints):
    """``dingtalk``: a JSON token exchange, and ``contact/users/me`` with DingTalk's token header."""

    authorize_url = "https://login.dingtalk.com/oauth2/auth"
    token_url = "https://api.dingtalk.com/v1.0/oauth2/userAccessToken"
    userinfo_url = "https://api.dingtalk.com/v1.0/contact/users/me"

    def authorization_parameters(self, *, forced: bool) -> dict[str, str]:
        """DingTalk always asks: ``prompt=consent``."""
        return {"prompt": "consent"}

    async def exchange_code(self, code: str, *, code_verifier: str | None = None) -> TokenSet:
        """``{clientId, clientSecret, code, grantType}`` as JSON, answered with ``accessToken``."""
        body = {
            "clientId": self.config.client_id,
            "clientSecret": self.config.client_secret,
            "code": code,
            "grantType": "authorization_code",
        }
        answer = await self.request(
            "POST",
            self.token_url,
            content=orjson.dumps(body),
            headers={"Content-Type": "application/json;charset=UTF-8", "Accept": "application/json"},
        )
        _require_ok(answer.status_code)
        token = json_object(answer, "token endpoint")
        if token.get("code") not in (None, 0, ""):
            raise ProviderError(
                f"dToken.ErrCode = {token.get('code')}, dToken.ErrMsg = {text(token, 'message')}", "upstream"
            )
        access_token = text(token, "accessToken")
        if not access_token:
            raise ProviderError("oauth2: server response missing access_token")
        return TokenSet(access_token=access_token, refresh_token=text(token, "refreshToken"), raw=token)

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """``openId`` is the subject, ``nick`` the name."""
        user = await self.get_json(
            self.userinfo_url, "", "userinfo", **{"x-acs-dingtalk-access-token": tokens.access_token}
        )
        if not isinstance(user, dict):
            raise ProviderError("The provider's userinfo answer is not a JSON object", "upstream")
        if text(user, "message"):
            raise ProviderError(
                f"userResp.ErrCode = {text(user, 'code')}, userResp.ErrMsg = {text(user, 'message')}",
                "upstream",
            )
        nick = text(user, "nick")
        return Claims(
            iss=self.userinfo_url,
            sub=text(user, "openId"),
            nickname=nick,
            name=nick,
            picture=text(user, "avatarUrl"),
            email=text(user, "email"),
        )


class LarkProvider(FixedEndpoints):
    """``lark``: Feishu's passport; client credentials in the token request's body."""

    authorize_url = "https://passport.feishu.cn/suite/passport/oauth/authorize"
    token_url = "https://passport.feishu.cn/suite/passport/oauth/token"
    userinfo_url = "https://passport.feishu.cn/suite/passport/oauth/userinfo"
    client_auth: Literal["basic", "post"] = "post"

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """``open_id`` is the subject; ``mobile`` the phone number (not marked verified)."""
        user = await self.get_json(self.userinfo_url, tokens.access_token, "userinfo")
        if not isinstance(user, dict):
            raise ProviderError("The provider's userinfo answer is not a JSON object", "upstream")
        name = text(user, "name")
        return Claims(
            iss=self.userinfo_url,
            sub=text(user, "open_id"),
            name=name,
            nickname=name,
            picture=text(user, "avatar_url"),
            email=text(user, "email"),
            phone_number=text(user, "mobile"),
        )


class AmazonProvider(FixedEndpoints):
    """``amazon``: Login with Amazon's ``/user/profile``; the postal code is ``zoneinfo``, as upstream."""

    authorize_url = "https://www.amazon.com/ap/oa"
    token_url = "https://api.amazon.com/auth/o2/token"
    profile_url = "https://api.amazon.com/user/profile"

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """``user_id`` is the subject; the email is not marked verified."""
        answer = await self.request(
            "GET",
            self.profile_url,
            headers={
                "Authorization": f"Bearer {tokens.access_token}",
                "x-amz-access-token": tokens.access_token,
                "Accept": "application/json",
            },
        )
        if answer.status_code != 200:
            raise ProviderError(f"non 200 response (HTTP {answer.status_code})", "upstream")
        profile = json_object(answer, "profile")
        return Claims(
            sub=text(profile, "user_id"),
            iss=AMAZON_ISSUER,
            name=text(profile, "name"),
            email=text(profile, "email"),
            zoneinfo=text(profile, "postal_code"),
        )


def _require_ok(status: int) -> None:
    if status != 200:
        raise ProviderError(
            f"OpenID Connect provider returned a {status} status code but 200 is expected.", "upstream"
        )
