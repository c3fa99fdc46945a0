"""A provider's servers for the provider-type tests: an HTTP server on 127.0.0.1 that answers each route with
recorded-shape JSON and records every request, and an OpenID issuer on it (discovery, keys, signed id_tokens).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
from joserfc import jwt
from joserfc.jwk import RSAKey
from netutil import LoopbackServer

from kratos.config.oidc import OidcProvider
from kratos.selfservice.strategy.oidc.providers import build_provider

T = TypeVar("T")


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def form(self) -> dict[str, str]:
        """The form-encoded body, one value per field."""
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}

    def json(self) -> Any:
        return orjson.loads(self.body)

    def arg(self, name: str) -> str:
        return self.query[name][0]


Reply = tuple[int, Any]  # status, and a JSON-able body (bytes are sent as they are)
Route = Reply | Callable[[Recorded], Reply]


class FakeApi:
    """Routes ``(method, path)`` to replies; everything else is a 404 in GitHub's shape."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[Recorded] = []
        self._server: LoopbackServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return self._server.base_url

    def on(self, method: str, path: str, reply: Route) -> None:
        self.routes[(method, path)] = reply

    def to(self, path: str) -> list[Recorded]:
        """The requests to ``path``, oldest first."""
        return [request for request in self.requests if request.path == path]

    def answer(self, request: Recorded) -> Reply:
        route = self.routes.get((request.method, request.path))
        if route is None:
            return 404, {"message": "Not Found"}
        return route(request) if callable(route) else route

    @contextmanager
    def running(self) -> Iterator[FakeApi]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                api.requests.append(request)
                status, body = api.answer(request)
                payload = body if isinstance(body, bytes) else orjson.dumps(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = LoopbackServer(Handler).start()
        try:
            yield self
        finally:
            self._server.stop()


class FakeIssuer:
    """An OpenID issuer at ``<api><prefix>``: discovery, its key set, and id_tokens it signs."""

    def __init__(self, api: FakeApi, prefix: str = "", *, pkce: bool = True, kid: str = "k1") -> None:
        self.api, self.prefix, self.kid = api, prefix, kid
        self.key = RSAKey.generate_key(2048, parameters={"kid": kid})
        discovery: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
        }
        if pkce:
            discovery["code_challenge_methods_supported"] = ["plain", "S256"]
        api.on("GET", f"{prefix}/.well-known/openid-configuration", (200, discovery))
        api.on("GET", f"{prefix}/jwks", (200, {"keys": [self.key.as_dict(private=False)]}))

    @property
    def issuer(self) -> str:
        return f"{self.api.base_url}{self.prefix}"

    def id_token(self, audience: str, **claims: Any) -> str:
        """A signed id_token for ``audience``; ``claims`` add to or replace iss, sub, iat and exp."""
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "sub": "subject-1",
            "aud": audience,
            "iat": now,
            "exp": now + 600,
            **claims,
        }
        return jwt.encode({"alg": "RS256", "kid": self.kid}, body, self.key)

    def grant(self, audience: str, access_token: str = "at-1", **claims: Any) -> None:
        """The token endpoint answers with an access token and an id_token carrying ``claims``."""
        token = self.id_token(audience, **claims)
        self.api.on(
            "POST",
            f"{self.prefix}/token",
            (200, {"access_token": access_token, "token_type": "Bearer", "id_token": token}),
        )


BASE_URL = "https://kratos.example.com"
CLIENT_ID = "client-1"
CLIENT_SECRET = "secret-1"


def provider_config(kind: str, **keys: Any) -> OidcProvider:
    """A provider of type ``kind`` with the test client, and ``keys`` as given in kratos.yaml."""
    document = {"id": kind, "provider": kind, "client_id": CLIENT_ID, "mapper_url": "base64://e30="}
    if kind != "apple":
        document["client_secret"] = CLIENT_SECRET
    return OidcProvider.model_validate({**document, **keys})


def run(config: OidcProvider, scenario: Callable[[Any], Awaitable[T]], **attributes: Any) -> T:
    """``scenario`` with the provider ``config`` builds, its fixed URLs moved to ``attributes``."""

    async def main() -> T:
        async with httpx.AsyncClient() as http:
            provider = build_provider(config, http, BASE_URL)
            for name, value in attributes.items():
                setattr(provider, name, value)
            return await scenario(provider)

    return asyncio.run(main())


def url_query(url: str) -> tuple[str, dict[str, str]]:
    """An authorization URL's address and its parameters."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", {k: v[0] for k, v in parse_qs(parts.query).items()}
