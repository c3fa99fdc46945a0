"""A server with social sign-in against the loopback OpenID provider, and a browser that walks it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from kratos_process import FLOW_OVERRIDES, UI, KratosProcess, merged
from oidc_provider import OpenIdProvider
from server_fixtures import running_kratos

PROVIDER_ID = "loopback"
CLIENT_ID, CLIENT_SECRET = "kratos-client", "kratos-client-secret"
CIPHER_SECRET = "k" * 32  # upstream tokens are stored sealed with XChaCha20-Poly1305 under this key
MAPPER = """
local claims = std.extVar('claims');
local verified = 'email' in claims && std.get(claims, 'email_verified', false);
{
  identity: {
    traits: {
      [if verified then 'email' else null]: claims.email,
      [if 'name' in claims then 'name' else null]: { first: claims.name },
    },
    verified_addresses: if verified then [{ via: 'email', value: claims.email }] else [],
    metadata_public: { provider_subject: claims.sub },
  },
}
"""


def oidc_config(
    provider: OpenIdProvider, *, also: list[dict[str, Any]] | None = None, **overrides: Any
) -> dict[str, Any]:
    """The server's config: the loopback provider, a session after social registration."""
    entry = {
        "id": PROVIDER_ID,
        "provider": "generic",
        "label": "Loopback",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "issuer_url": provider.issuer,
        "mapper_url": "base64://" + base64.b64encode(MAPPER.encode()).decode(),
        "scope": ["email", "profile"],
        **overrides,
    }
    return merged(
        FLOW_OVERRIDES,
        {
            "ciphers": {"algorithm": "xchacha20-poly1305"},
            "secrets": {"cipher": [CIPHER_SECRET]},
            "selfservice": {
                "methods": {"oidc": {"enabled": True, "config": {"providers": [entry, *(also or [])]}}},
                "flows": {"registration": {"after": {"oidc": {"hooks": [{"hook": "session"}]}}}},
            },
        },
    )


def oidc_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    provider: OpenIdProvider,
    *,
    database: str | None = None,
    config: dict[str, Any] | None = None,
    also: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> Iterator[KratosProcess]:
    """A running server whose client is registered at ``provider``.

    ``config``: more of its config; ``also``: more providers.
    """
    full = merged(oidc_config(provider, also=also, **overrides), config or {})
    for server in running_kratos(request, tmp_path_factory, full, database=database):
        callback = f"{server.public_url}/self-service/methods/oidc/callback/{PROVIDER_ID}"
        provider.add_client(CLIENT_ID, CLIENT_SECRET, [callback, callback.rsplit("/", 1)[0]])
        yield server


def query(url: str) -> dict[str, str]:
    """A URL's query parameters."""
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


class Browser:
    """A cookie-keeping client that submits forms and follows redirects hop by hop across hosts."""

    def __init__(self, server: KratosProcess) -> None:
        self.server = server
        self.client = httpx.Client(base_url=server.public_url, timeout=30)
        self.hops: list[tuple[int, str]] = []

    def close(self) -> None:
        """Close the connections."""
        self.client.close()

    def start(self, kind: str, **params: str) -> dict[str, Any]:
        """Start a browser flow and read it as its UI would."""
        start = self.client.get(f"/self-service/{kind}/browser", params=params)
        assert start.status_code == 303, start.text
        flow_id = query(start.headers["location"])["flow"]
        return self.flow(kind, flow_id)

    def flow(self, kind: str, flow_id: str) -> dict[str, Any]:
        """A flow as its UI reads it."""
        answer = self.client.get(f"/self-service/{kind}/flows", params={"id": flow_id})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def submit(self, flow: dict[str, Any], **fields: str) -> httpx.Response:
        """Post the flow's form with its CSRF token."""
        token = next(
            n["attributes"]["value"]
            for n in flow["ui"]["nodes"]
            if n["attributes"].get("name") == "csrf_token"
        )
        return self.client.post(flow["ui"]["action"], data={"csrf_token": token, **fields})

    def follow(self, answer: httpx.Response, *, stop_at: str = UI) -> httpx.Response:
        """Follow redirects until one leaves for ``stop_at`` (the UI) or an answer is not a redirect."""
        while answer.is_redirect:
            location = str(answer.next_request.url) if answer.next_request else answer.headers["location"]
            self.hops.append((answer.status_code, location))
            if location.startswith(stop_at):
                return answer
            answer = self.client.get(location)
        return answer

    def sign_in_with_provider(self, kind: str = "login", **params: str) -> httpx.Response:
        """Press the provider's button on a new flow and follow through the provider and back."""
        flow = self.start(kind, **params)
        answer = self.submit(flow, provider=PROVIDER_ID)
        assert answer.status_code == 303, answer.text
        return self.follow(answer)

    def whoami(self) -> httpx.Response:
        """``/sessions/whoami`` with the browser's cookies."""
        return self.client.get("/sessions/whoami")

    def ui_flow(self, answer: httpx.Response) -> tuple[str, dict[str, Any]]:
        """The kind and flow a redirect to the UI names."""
        location = answer.headers["location"]
        kind = urlsplit(location).path.strip("/")
        return kind, self.flow(kind, query(location)["flow"])


def messages(flow: dict[str, Any]) -> list[int]:
    """The ids of the flow's messages."""
    return [m["id"] for m in flow["ui"].get("messages") or []]


def message_texts(flow: dict[str, Any]) -> list[str]:
    """The texts of the flow's messages."""
    return [m["text"] for m in flow["ui"].get("messages") or []]
