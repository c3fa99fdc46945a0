"""What every flow endpoint shares: URLs, return_to checks, CSRF cookies and how to answer a client."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kratos.http import csrf
from kratos.http.errors import KratosError
from kratos.http.responses import JSONResponse, error_response, media_type
from kratos.identity.model import Identity
from kratos.schema import schema_url
from kratos.selfservice.flow.errors import ReturnToForbidden
from kratos.selfservice.flow.exchange import SessionTokenExchange
from kratos.selfservice.flow.pool import FlowPool
from kratos.session.manager import SessionManager
from kratos.session.model import Device, Session


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    """Attributes of the cookies the flows set (``cookies.*``)."""

    domain: str | None
    path: str
    same_site: str
    secure: bool


@dataclass(slots=True)
class FlowContext:
    """Settings and services every flow endpoint uses."""

    public_base_url: str
    default_return_url: str
    allowed_return_urls: list[str]
    error_ui_url: str
    cookies: CookiePolicy
    flows: FlowPool
    sessions: SessionManager
    exchange: SessionTokenExchange | None = None  # native apps collecting a browser's session

    @property
    def csrf_cookie(self) -> str:
        """The CSRF cookie's name."""
        return csrf.cookie_name(self.public_base_url)

    def schema_url(self, identity: Identity) -> str:
        """The public URL of an identity's schema."""
        return schema_url(self.public_base_url, identity.schema_id)

    def url(self, path: str, **query: str) -> str:
        """An absolute URL on the public port."""
        base = self.public_base_url.rstrip("/")
        return f"{base}{path}?{urlencode(query)}" if query else f"{base}{path}"

    def checked_return_to(self, value: str | None) -> str | None:
        """``return_to`` when allowed (scheme, host with ``*.`` wildcards, and path prefix), else 400."""
        if not value:
            return None
        target = urlsplit(value)
        if not target.scheme or not target.netloc:
            raise ReturnToForbidden()
        for allowed in [*self.allowed_return_urls, self.default_return_url]:
            rule = urlsplit(allowed)
            host = rule.hostname or ""
            target_host = target.hostname or ""
            host_ok = (
                target_host.endswith(host[1:]) and target_host != host[2:]
                if host.startswith("*.")
                else target_host == host
            )
            if (
                host_ok
                and target.scheme == rule.scheme
                and target.port == rule.port
                and target.path.startswith(rule.path.rstrip("/") if rule.path != "/" else "")
            ):
                return value
        raise ReturnToForbidden()

    def csrf_token(self, request: Request) -> tuple[str, bool]:
        """The browser's CSRF cookie token, and whether it is new (and must be set)."""
        existing = request.cookies.get(self.csrf_cookie)
        if existing and csrf.is_token(existing):
            return existing, False
        return csrf.new_token(), True

    def set_csrf_cookie(self, response: Response, token: str) -> None:
        """Set the CSRF cookie as upstream does (HttpOnly, a year)."""
        self._set(response, self.csrf_cookie, token, csrf.COOKIE_MAX_AGE)

    def set_session_cookie(self, response: Response, session: Session) -> None:
        """Set the session cookie."""
        settings = self.sessions.cookie
        response.set_cookie(
            settings.name,
            self.sessions.cookie_value(session),
            max_age=self.sessions.cookie_max_age(session),
            path=settings.path,
            domain=settings.domain,
            secure=settings.secure,
            httponly=True,
            samesite=settings.same_site.lower(),  # type: ignore[arg-type]
        )

    def clear_session_cookie(self, response: Response) -> None:
        """Expire the session cookie."""
        settings = self.sessions.cookie
        response.delete_cookie(
            settings.name,
            path=settings.path,
            domain=settings.domain,
            secure=settings.secure,
            httponly=True,
            samesite=settings.same_site.lower(),  # type: ignore[arg-type]
        )

    def _set(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=self.cookies.path,
            domain=self.cookies.domain,
            secure=self.cookies.secure,
            httponly=True,
            samesite=self.cookies.same_site.lower(),  # type: ignore[arg-type]
        )

    async def browser_error(self, error: KratosError) -> Response:
        """Store the error and send the browser to the error UI (``?id=``)."""
        error_id = await self.flows.save_error(error.to_dict()["error"])
        return redirect(f"{self.error_ui_url}?{urlencode({'id': str(error_id)})}")


def wants_json(request: Request) -> bool:
    """Whether a browser client asked for JSON (an SPA) rather than pages."""
    return (
        "application/json" in request.headers.get("accept", "") or media_type(request) == "application/json"
    )


def redirect(url: str, status: int = 303) -> Response:
    """A redirect with an empty body."""
    return RedirectResponse(url, status_code=status)


def json(body: Any, status: int = 200) -> JSONResponse:
    """A JSON answer."""
    return JSONResponse(body, status_code=status)


def error_json(error: KratosError) -> Response:
    """Kratos's error JSON."""
    return error_response(error)


def device(request: Request) -> Device:
    """The device a request comes from, as upstream records it."""
    forwarded = request.headers.get("true-client-ip") or request.headers.get("x-real-ip")
    if not forwarded and request.headers.get("x-forwarded-for"):
        forwarded = request.headers["x-forwarded-for"].split(",")[0].strip()
    client = request.client
    address = forwarded or (f"{client.host}:{client.port}" if client else None)
    return Device(ip_address=address, user_agent=(request.headers.get("user-agent") or "")[:512])


def parse_flow_id(value: str | None) -> uuid.UUID | None:
    """A flow id from a query parameter."""
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
