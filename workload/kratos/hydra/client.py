"""The Hydra admin API calls a login provider makes: read and accept login and logout challenges.

Errors are upstream's (``hydra/hydra.go``): reading a challenge Hydra refuses (unknown, expired, already
used) is a 400, Hydra unreachable or failing is a 500, and accepting fails with a 500 whatever Hydra said;
each names Hydra's ``status_code`` and ``oauth2_error_hint`` in the details when there is an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import httpx
import orjson

from kratos.config.sections import OAuth2Provider
from kratos.http.errors import BadRequest, InternalError, KratosError

LOGIN = "/admin/oauth2/auth/requests/login"
LOGOUT = "/admin/oauth2/auth/requests/logout"
Kind = Literal["Login", "Logout"]


@dataclass(frozen=True)
class LoginRequest:
    """Hydra's ``OAuth2LoginRequest``: who asks to log in, and whether Hydra already knows the user."""

    challenge: str
    skip: bool
    subject: str
    request_url: str
    client: dict[str, Any]
    requested_scope: list[str]
    oidc_context: dict[str, Any]
    session_id: str | None
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> LoginRequest:
        """From the admin API's answer (missing optional fields become empty)."""
        return cls(
            challenge=str(body.get("challenge") or ""),
            skip=bool(body.get("skip")),
            subject=str(body.get("subject") or ""),
            request_url=str(body.get("request_url") or ""),
            client=dict(body.get("client") or {}),
            requested_scope=list(body.get("requested_scope") or []),
            oidc_context=dict(body.get("oidc_context") or {}),
            session_id=body.get("session_id") or None,
            raw=body,
        )


@dataclass(frozen=True)
class LogoutRequest:
    """Hydra's ``OAuth2LogoutRequest``: whose Hydra session ends, and whether a relying party asked."""

    challenge: str
    subject: str
    session_id: str | None
    request_url: str
    rp_initiated: bool
    client: dict[str, Any] | None
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> LogoutRequest:
        """From the admin API's answer (``sid`` is Hydra's login session id)."""
        return cls(
            challenge=str(body.get("challenge") or ""),
            subject=str(body.get("subject") or ""),
            session_id=body.get("sid") or None,
            request_url=str(body.get("request_url") or ""),
            rp_initiated=bool(body.get("rp_initiated")),
            client=body.get("client") or None,
            raw=body,
        )


class HydraClient:
    """Hydra's admin API at ``oauth2_provider.url``, with ``oauth2_provider.headers`` on every request."""

    def __init__(self, config: OAuth2Provider, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http

    def admin_url(self) -> str:
        """The configured admin URL; a misconfiguration error (500) when there is none."""
        if not self.config.url:
            raise InternalError(
                "oauth2_provider.url is not configured",
                message="Invalid configuration",
                error_id="invalid_configuration",
            )
        return self.config.url.rstrip("/")

    async def login_request(self, challenge: str) -> LoginRequest:
        """``GET /admin/oauth2/auth/requests/login``: the login request behind ``challenge``."""
        if not challenge:
            raise BadRequest("invalid login_challenge")
        body = await self._call("GET", LOGIN, "login_challenge", challenge, kind="Login")
        return LoginRequest.from_json(body)

    async def accept_login(
        self,
        challenge: str,
        *,
        subject: str,
        session_id: str | None,
        remember: bool,
        remember_for: int,
        amr: list[str],
        acr: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> str:
        """``PUT .../login/accept``: tell Hydra ``subject`` logged in; returns where the browser goes next.

        ``session_id`` is the Kratos session (Hydra's ``identity_provider_session_id``), ``remember_for``
        seconds (0: as long as Hydra's session lives), ``amr`` the methods the session was made with.
        """
        accept: dict[str, Any] = {"subject": subject, "remember": remember, "remember_for": remember_for}
        if session_id is not None:
            accept["identity_provider_session_id"] = session_id
        accept["amr"] = list(amr)
        if acr is not None:
            accept["acr"] = acr
        if context is not None:
            accept["context"] = context
        body = await self._call("PUT", f"{LOGIN}/accept", "login_challenge", challenge, accept, kind="Login")
        return _redirect_to(body, "Login")

    async def logout_request(self, challenge: str) -> LogoutRequest:
        """``GET /admin/oauth2/auth/requests/logout``: the logout request behind ``challenge``."""
        if not challenge:
            raise BadRequest("invalid logout_challenge")
        body = await self._call("GET", LOGOUT, "logout_challenge", challenge, kind="Logout")
        return LogoutRequest.from_json(body)

    async def accept_logout(self, challenge: str) -> str:
        """``PUT .../logout/accept``: let Hydra end its session; returns where the browser goes next."""
        body = await self._call("PUT", f"{LOGOUT}/accept", "logout_challenge", challenge, kind="Logout")
        return _redirect_to(body, "Logout")

    async def _call(
        self,
        method: str,
        path: str,
        param: str,
        challenge: str,
        body: dict[str, Any] | None = None,
        *,
        kind: Kind,
    ) -> dict[str, Any]:
        """One admin API call; its JSON object, or the upstream error for the failure."""
        reading = method == "GET"
        url = self.admin_url() + path
        try:
            response = await self.http.request(
                method,
                url,
                params={param: challenge},
                content=orjson.dumps(body) if body is not None else None,
                headers={**self.config.headers, **({"Content-Type": "application/json"} if body else {})},
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # unreachable, timed out, or a bad URL
            raise _failure(kind, reading, None) from exc
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            answer = None
        if not response.is_success or not isinstance(answer, dict):
            raise _failure(kind, reading, response)
        return answer


def _failure(kind: Kind, reading: bool, response: httpx.Response | None) -> KratosError:
    """Upstream's error: reading a refused challenge is a 400, anything else a 500."""
    status = 400 if reading and response is not None and response.status_code < 500 else 500
    verb = "get" if reading else "accept"
    details: dict[str, Any] = {}
    if response is not None:
        details["status_code"] = response.status_code
        hint = _error_hint(response)
        if hint is not None:
            details["oauth2_error_hint"] = hint
    return KratosError(f"Unable to {verb} OAuth 2.0 {kind} Challenge.", details=details, status=status)


def _error_hint(response: httpx.Response) -> str | None:
    """Hydra's ``error_hint`` when the answer is an OAuth2 error body (410 carries a redirect instead)."""
    if response.status_code == 410:
        return None
    try:
        answer = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    return str(answer.get("error_hint") or "") if isinstance(answer, dict) else None


def _redirect_to(body: dict[str, Any], kind: Kind) -> str:
    redirect = body.get("redirect_to")
    if not isinstance(redirect, str) or not redirect:
        raise InternalError(f"Unable to accept OAuth 2.0 {kind} Challenge.", details={"status_code": 200})
    return redirect
