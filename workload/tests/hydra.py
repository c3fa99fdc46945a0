"""A real Ory Hydra (built by ``hydra_build``) on PostgreSQL, with consent-app and OAuth2-client helpers.

``Hydra`` runs ``hydra migrate sql -e --yes`` and ``hydra serve all --dev`` on free loopback ports.
``StubPages`` stands in for the login, consent and logout UIs and the OAuth2 client's callback: a page
that says 200 (or, for paths in ``forward``, redirects there with the query kept, e.g. to Kratos).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet
from netutil import LoopbackServer, free_port


class OAuthClient(NamedTuple):
    """An OAuth2 client registered at Hydra; unpacks as ``(client_id, secret)``."""

    client_id: str
    secret: str
    redirect_uri: str


class StubPages(LoopbackServer):
    """Pages on loopback: ``GET`` anything is a 200 page; paths in :attr:`forward` redirect (query kept)."""

    def __init__(self) -> None:
        self.forward: dict[str, str] = {}
        self.requests: list[str] = []
        super().__init__(_page_handler(self))

    def url(self, path: str) -> str:
        return self.base_url + path


def _page_handler(pages: StubPages) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            pages.requests.append(self.path)
            split = urlsplit(self.path)
            target = pages.forward.get(split.path)
            if target is not None:
                self.send_response(302)
                self.send_header("Location", f"{target}?{split.query}" if split.query else target)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = f"<html><body>page {split.path}</body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    return Handler


@dataclass
class Hydra:
    """One Hydra: ``serve all --dev`` on ``dsn`` (PostgreSQL), public and admin ports on 127.0.0.1."""

    binary: Path
    workdir: Path
    dsn: str
    login_url: str
    consent_url: str
    logout_url: str
    public_port: int = field(default_factory=free_port)
    admin_port: int = field(default_factory=free_port)
    secret: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen[bytes] | None = None

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.public_port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def issuer(self) -> str:
        return self.public_url + "/"

    def environment(self) -> dict[str, str]:
        """Hydra's configuration, by environment variables."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "DSN": self.dsn,
            "SECRETS_SYSTEM": self.secret,
            "URLS_SELF_ISSUER": self.issuer,
            "URLS_LOGIN": self.login_url,
            "URLS_CONSENT": self.consent_url,
            "URLS_LOGOUT": self.logout_url,
            "SERVE_PUBLIC_HOST": "127.0.0.1",
            "SERVE_PUBLIC_PORT": str(self.public_port),
            "SERVE_ADMIN_HOST": "127.0.0.1",
            "SERVE_ADMIN_PORT": str(self.admin_port),
            "SQA_OPT_OUT": "true",
            "LOG_LEVEL": "info",
        }

    def migrate(self) -> None:
        """``hydra migrate sql -e --yes`` (the DSN from the environment)."""
        done = subprocess.run(
            [str(self.binary), "migrate", "sql", "-e", "--yes"],
            env=self.environment(), capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"hydra migrate sql failed:\n{done.stderr[-4000:]}")

    def start(self, timeout: float = 60.0) -> Hydra:
        """``hydra serve all --dev``, waiting for ``/health/ready`` on both ports."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "hydra.log").open("ab")
        self.process = subprocess.Popen(
            [str(self.binary), "serve", "all", "--dev", "--sqa-opt-out"],
            env=self.environment(), stdout=log, stderr=log,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as http:
            for url in (self.admin_url, self.public_url):
                while True:
                    if self.process.poll() is not None:
                        raise RuntimeError(f"hydra exited with {self.process.returncode}:\n{self.log()}")
                    try:
                        if http.get(url + "/health/ready").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"hydra is not ready after {timeout}s:\n{self.log()}")
                    time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        path = self.workdir / "hydra.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        """One admin API call; its JSON (an error status fails with Hydra's answer)."""
        response = httpx.request(method, self.admin_url + path, timeout=30.0, **kwargs)
        if not response.is_success:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    def create_client(
        self, redirect_uris: list[str], scope: str = "openid offline", **fields: Any
    ) -> OAuthClient:
        """Register an OAuth2 client (authorization code + refresh token, ``client_secret_basic``)."""
        body = {
            "redirect_uris": redirect_uris,
            "scope": scope,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code", "id_token"],
            "token_endpoint_auth_method": "client_secret_basic",
            **fields,
        }
        created = self.admin("POST", "/admin/clients", json=body)
        return OAuthClient(created["client_id"], created["client_secret"], redirect_uris[0])

    def authorization_url(
        self, client: OAuthClient, state: str, nonce: str, scope: str = "openid offline", **params: str
    ) -> str:
        """Where a relying party sends the browser: ``/oauth2/auth`` with a code request for ``client``."""
        query = {
            "client_id": client.client_id,
            "response_type": "code",
            "redirect_uri": client.redirect_uri,
            "scope": scope,
            "state": state,
            "nonce": nonce,
            **params,
        }
        return f"{self.public_url}/oauth2/auth?{urlencode(query)}"

    def accept_consent(self, challenge: str, *, remember: bool = False) -> str:
        """The consent app's job: grant what the consent request asks for; returns its ``redirect_to``."""
        asked = self.admin(
            "GET", "/admin/oauth2/auth/requests/consent", params={"consent_challenge": challenge}
        )
        grant = {
            "grant_scope": asked.get("requested_scope") or [],
            "grant_access_token_audience": asked.get("requested_access_token_audience") or [],
            "remember": remember,
        }
        accepted = self.admin(
            "PUT",
            "/admin/oauth2/auth/requests/consent/accept",
            params={"consent_challenge": challenge},
            json=grant,
        )
        return accepted["redirect_to"]

    def exchange_code(self, client: OAuthClient, code: str) -> dict[str, Any]:
        """``/oauth2/token`` for an authorization code: the tokens (``id_token``, ``access_token``, ...)."""
        response = httpx.post(
            self.public_url + "/oauth2/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri},
            auth=(client.client_id, client.secret),
            timeout=30.0,
        )
        if not response.is_success:
            raise AssertionError(f"token exchange: {response.status_code} {response.text}")
        return response.json()

    def id_token_claims(self, id_token: str, client: OAuthClient) -> dict[str, Any]:
        """The claims of an ID token, its signature checked with Hydra's JWKS, its issuer and audience too."""
        keys = KeySet.import_key_set(
            httpx.get(self.public_url + "/.well-known/jwks.json", timeout=30.0).json()
        )
        token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.issuer}, aud={"essential": True, "value": client.client_id}
        ).validate(token.claims)
        return dict(token.claims)
