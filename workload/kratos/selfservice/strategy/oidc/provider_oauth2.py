"""Provider types that speak plain OAuth2 and describe the user through their own API.

GitHub (and GitHub apps), Discord, Slack, Facebook, Spotify and Patreon, mapped to :class:`Claims` as upstream
maps them. Every fixed URL is a class attribute, so a deployment (or a test) can point a subclass or an
instance elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from kratos.selfservice.strategy.oidc.claims import Claims
from kratos.selfservice.strategy.oidc.provider import (
    Endpoints,
    OpenIdProvider,
    ProviderError,
    TokenSet,
    json_document,
)
from kratos.selfservice.strategy.oidc.provider_common import (
    FixedEndpoints,
    flag,
    granted_scopes,
    require_scopes,
    text,
    unix_time,
)

GITHUB_ISSUER = "https://github.com/login/oauth/access_token"
DISCORD_ISSUER = "https://discord.com/api/v9/oauth2/"
SLACK_ISSUER = "https://slack.com/oauth/"
SPOTIFY_ISSUER = "https://accounts.spotify.com/api/token"
PATREON_ISSUER = "https://www.patreon.com/"
FACEBOOK_FIELDS = "id,name,first_name,last_name,middle_name,email,picture,birthday,gender"


class GitHubProvider(FixedEndpoints):
    """``github``: ``/user``, and ``/user/emails`` when ``user:email`` was granted; ``sub`` is the id."""

    authorize_url = "https://github.com/login/oauth/authorize"
    token_url = "https://github.com/login/oauth/access_token"
    api_base = "https://api.github.com"

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """The profile; the primary address of ``/user/emails`` with its ``verified`` flag."""
        granted = granted_scopes(tokens, ",")
        require_scopes(granted, self.config.scope)
        claims = await self.profile(tokens)
        if "user:email" in granted:
            self.choose_email(claims, await self.api(tokens, "/user/emails"))
        return claims

    async def profile(self, tokens: TokenSet) -> Claims:
        """``GET /user`` as claims."""
        user = await self.api(tokens, "/user")
        subject = user.get("id") if isinstance(user, dict) else None
        if not isinstance(subject, int) or isinstance(subject, bool):
            raise ProviderError("GitHub's /user answer has no numeric id", "upstream")
        return Claims(
            sub=str(subject),
            iss=GITHUB_ISSUER,
            name=text(user, "name"),
            nickname=text(user, "login"),
            website=text(user, "blog"),
            picture=text(user, "avatar_url"),
            profile=text(user, "html_url"),
            updated_at=unix_time(user.get("updated_at")),
        )

    def choose_email(self, claims: Claims, emails: Any) -> None:
        """The primary address (upstream's github type has no fallback when none is primary)."""
        listed = [e for e in emails if isinstance(e, dict)] if isinstance(emails, list) else []
        chosen = next((e for e in listed if flag(e, "primary")), None)
        if chosen is not None:
            claims.email = text(chosen, "email")
            claims.email_verified = flag(chosen, "verified")

    async def api(self, tokens: TokenSet, path: str) -> Any:
        """A GitHub REST answer; failures worded as go-github's (``GET <url>: 401 Bad credentials []``)."""
        url = f"{self.api_base}{path}"
        answer = await self.request(
            "GET",
            url,
            headers={
                "Authorization": f"Bearer {tokens.access_token}",
                "Accept": "application/vnd.github.v3+json",
            },
        )
        if not 200 <= answer.status_code < 300:
            try:
                message = text(json_document(answer, path), "message")
            except ProviderError:
                message = ""
            raise ProviderError(f"GET {url}: {answer.status_code} {message} []", "upstream")
        return json_document(answer, path)


class GitHubAppProvider(GitHubProvider):
    """``github-app``: a GitHub App's user token; no scopes to check, ``/user/emails`` always read."""

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """The profile and the primary (else the last listed) address."""
        claims = await self.profile(tokens)
        self.choose_email(claims, await self.api(tokens, "/user/emails"))
        return claims

    def choose_email(self, claims: Claims, emails: Any) -> None:
        """The primary address, else the last one listed, as upstream."""
        listed = [e for e in emails if isinstance(e, dict)] if isinstance(emails, list) else []
        chosen = next((e for e in listed if flag(e, "primary")), listed[-1] if listed else None)
        if chosen is not None:
            claims.email = text(chosen, "email")
            claims.email_verified = flag(chosen, "verified")


class DiscordProvider(FixedEndpoints):
    """``discord``: ``/users/@me``; ``prompt=none`` unless the login is forced (then ``consent``)."""

    api_base = "https://discord.com/api/v9"
    cdn_base = "https://cdn.discordapp.com"

    async def endpoints(self) -> Endpoints:
        """``<api>/oauth2/authorize`` and ``<api>/oauth2/token``."""
        return Endpoints(f"{self.api_base}/oauth2/authorize", f"{self.api_base}/oauth2/token")

    def authorization_parameters(self, *, forced: bool) -> dict[str, str]:
        """``prompt``: ``consent`` when forced, else ``none``."""
        return {"prompt": "consent" if forced else "none"}

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """The user as discordgo reads it: ``username#discriminator`` as name, ``verified`` for the email."""
        require_scopes(granted_scopes(tokens, " "), self.config.scope)
        url = f"{self.api_base}/users/@me"
        answer = await self.request("GET", url, headers={"Authorization": f"Bearer {tokens.access_token}"})
        if answer.status_code != 200:
            body = answer.text[:512]
            raise ProviderError(f"HTTP {answer.status_code} {answer.reason_phrase}, {body}", "upstream")
        user = json_document(answer, "user")
        if not isinstance(user, dict) or not text(user, "id"):
            raise ProviderError("Discord's user answer has no id", "upstream")
        username = text(user, "username")
        return Claims(
            iss=DISCORD_ISSUER,
            sub=text(user, "id"),
            name=f"{username}#{text(user, 'discriminator')}",
            nickname=username,
            preferred_username=username,
            picture=self.avatar(user),
            email=text(user, "email"),
            email_verified=flag(user, "verified"),
            locale=text(user, "locale"),
        )

    def avatar(self, user: dict[str, Any]) -> str:
        """The avatar's CDN address, or the default avatar the user's id or discriminator picks."""
        user_id, avatar = text(user, "id"), text(user, "avatar")
        if avatar:
            extension = "gif" if avatar.startswith("a_") else "png"
            return f"{self.cdn_base}/avatars/{user_id}/{avatar}.{extension}"
        discriminator = text(user, "discriminator")
        if discriminator == "0":
            index = (int(user_id) >> 22) % 6 if user_id.isdigit() else 0
        else:
            index = int(discriminator) % 5 if discriminator.isdigit() else 0
        return f"{self.cdn_base}/embed/avatars/{index}.png"


class SlackProvider(FixedEndpoints):
    """``slack``: Sign in with Slack (v1 ``oauth/authorize``) and ``users.identity``; emails are verified."""

    authorize_url = "https://slack.com/oauth/authorize"
    api_base = "https://slack.com/api"

    async def endpoints(self) -> Endpoints:
        """``oauth/authorize`` and ``<api>/oauth.access``."""
        return Endpoints(self.authorize_url, f"{self.api_base}/oauth.access")

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """The identity's user and team; Slack's ``ok: false`` error names the failure."""
        require_scopes(granted_scopes(tokens, ","), self.config.scope)
        answer = await self.request(
            "POST",
            f"{self.api_base}/users.identity",
            data={"token": tokens.access_token},
            headers={"Accept": "application/json"},
        )
        if answer.status_code != 200:
            raise ProviderError(
                f"slack server error: {answer.status_code} {answer.reason_phrase}", "upstream"
            )
        identity = json_document(answer, "users.identity")
        if not isinstance(identity, dict) or identity.get("ok") is not True:
            raise ProviderError(text(identity, "error") or "slack: the identity answer is not ok", "upstream")
        name = text(identity, "user", "name")
        return Claims(
            iss=SLACK_ISSUER,
            sub=text(identity, "user", "id"),
            name=name,
            preferred_username=name,
            nickname=name,
            email=text(identity, "user", "email"),
            email_verified=True,
            picture=text(identity, "user", "image_512"),
            team=text(identity, "team", "id"),
        )


class FacebookProvider(FixedEndpoints, OpenIdProvider):
    """``facebook``: the Graph API's ``/me`` signed with ``appsecret_proof``; a returned email is verified."""

    fixed_issuer = "https://www.facebook.com"
    authorize_url = "https://facebook.com/dialog/oauth"
    token_url = "https://graph.facebook.com/oauth/access_token"
    graph_base = "https://graph.facebook.com"

    def appsecret_proof(self, access_token: str) -> str:
        """HMAC-SHA256 of the access token keyed with the client secret, hex encoded."""
        return hmac.new(self.config.client_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """``/me`` (unversioned, as upstream); its URL is the claims' issuer, as upstream has it."""
        proof = self.appsecret_proof(tokens.access_token)
        url = f"{self.graph_base}/me?fields={FACEBOOK_FIELDS}&appsecret_proof={proof}"
        user = await self.get_json(url, tokens.access_token, "profile")
        if not isinstance(user, dict):
            raise ProviderError("The provider's profile answer is not a JSON object", "upstream")
        name, email = text(user, "name"), text(user, "email")
        return Claims(
            iss=url,
            sub=text(user, "id"),
            name=name,
            given_name=text(user, "first_name"),
            family_name=text(user, "last_name"),
            middle_name=text(user, "middle_name"),
            nickname=name,
            preferred_username=name,
            picture=text(user, "picture", "data", "url"),
            email=email,
            email_verified=bool(email),
            gender=text(user, "gender"),
            birthdate=text(user, "birthday"),
        )


class SpotifyProvider(FixedEndpoints):
    """``spotify``: the Web API's ``/me``."""

    authorize_url = "https://accounts.spotify.com/authorize"
    token_url = "https://accounts.spotify.com/api/token"
    api_base = "https://api.spotify.com/v1"

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """The current user; the email is not marked verified, as upstream."""
        require_scopes(granted_scopes(tokens, " "), self.config.scope)
        answer = await self.request(
            "GET", f"{self.api_base}/me", headers={"Authorization": f"Bearer {tokens.access_token}"}
        )
        if answer.status_code != 200:
            try:
                message = text(json_document(answer, "me"), "error", "message")
            except ProviderError:
                message = ""
            raise ProviderError(message or f"spotify: HTTP {answer.status_code}", "upstream")
        user = json_document(answer, "me")
        if not isinstance(user, dict):
            raise ProviderError("The provider's me answer is not a JSON object", "upstream")
        images = user.get("images")
        picture = text(images[0], "url") if isinstance(images, list) and images else ""
        display = text(user, "display_name")
        return Claims(
            sub=text(user, "id"),
            iss=SPOTIFY_ISSUER,
            name=display,
            nickname=display,
            email=text(user, "email"),
            picture=picture,
            profile=text(user, "external_urls", "spotify"),
            birthdate=text(user, "birthdate"),
        )


class PatreonProvider(FixedEndpoints):
    """``patreon``: the v2 identity endpoint; ``prompt`` as Discord's."""

    authorize_url = "https://www.patreon.com/oauth2/authorize"
    token_url = "https://www.patreon.com/api/oauth2/token"
    identity_url = (
        "https://www.patreon.com/api/oauth2/v2/identity"
        "?fields%5Buser%5D=first_name,last_name,url,full_name,email,image_url"
    )

    def authorization_parameters(self, *, forced: bool) -> dict[str, str]:
        """``prompt``: ``consent`` when forced, else ``none``."""
        return {"prompt": "consent" if forced else "none"}

    async def claims(
        self, tokens: TokenSet, *, nonce: str | None = None, query: Mapping[str, str] | None = None
    ) -> Claims:
        """``data.id`` and ``data.attributes``; the email is not marked verified, as upstream."""
        identity = await self.get_json(self.identity_url, tokens.access_token, "identity")
        data = identity.get("data") if isinstance(identity, dict) else None
        attributes = data.get("attributes") if isinstance(data, dict) else None
        if not isinstance(attributes, dict):
            attributes = {}
        last = text(attributes, "last_name")
        return Claims(
            iss=PATREON_ISSUER,
            sub=text(identity, "data", "id"),
            name=text(attributes, "full_name"),
            email=text(attributes, "email"),
            given_name=text(attributes, "first_name"),
            family_name=last,
            last_name=last,
            picture=text(attributes, "image_url"),
        )
