"""Outgoing HTTP requests as upstream's ``request.Builder`` makes them, for web hooks and the courier.

The body is a Jsonnet template (``file://``, ``base64://``, ``http(s)://``) called with the caller's context
as ``ctx``; without a template the context itself is sent as JSON. A template that says ``error "cancel"``
cancels the request. ``Content-Type: application/x-www-form-urlencoded`` sends the template's object of
strings as a form. Credentials: an API key in a header or a cookie, or HTTP basic auth. Every request has
a timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
import orjson

from kratos.config.request import RequestConfig
from kratos.http.urls import fetch_url

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class Cancelled(Exception):
    """The body template said ``error "cancel"``: the request is not sent."""


class BodyError(Exception):
    """The body template could not be loaded (``stage == "load"``) or failed (``"evaluate"``)."""

    def __init__(self, stage: Literal["load", "evaluate"], detail: str) -> None:
        super().__init__(detail)
        self.stage = stage
        self.detail = detail


class OutgoingRequest:
    """One configured request; the body template is fetched once and kept."""

    def __init__(
        self, config: RequestConfig, client: httpx.AsyncClient, *, timeout: httpx.Timeout = TIMEOUT
    ) -> None:
        self.config = config
        self.client = client
        self.timeout = timeout
        self.method = config.method.upper()
        self._template: str | None = None

    def headers(self) -> httpx.Headers:
        """The configured headers, ``Content-Type`` defaulting to JSON, and an API key when configured."""
        headers = httpx.Headers(self.config.headers)
        headers.setdefault("Content-Type", JSON)
        auth = self.config.auth
        if auth is not None and auth.type == "api_key":
            name, value = auth.config.name or "", auth.config.value or ""
            if auth.config.in_ == "cookie":
                cookie = headers.get("Cookie")
                headers["Cookie"] = f"{cookie}; {name}={value}" if cookie else f"{name}={value}"
            else:
                headers[name] = value
        return headers

    async def body(self, ctx: Mapping[str, Any], content_type: str = JSON) -> bytes:
        """The request body for ``ctx``; raises :class:`Cancelled` or :class:`BodyError`."""
        encoded = orjson.dumps(ctx, default=str, option=orjson.OPT_UTC_Z).decode()
        if not self.config.body:
            return encoded.encode()
        if self._template is None:
            try:
                self._template = (await fetch_url(self.config.body, self.client)).decode()
            except (ValueError, UnicodeDecodeError) as exc:
                raise BodyError("load", str(exc)) from None
        rendered = await asyncio.to_thread(_evaluate, self.config.body, self._template, encoded)
        if content_type.split(";")[0].strip().lower() == FORM:
            return _form(rendered).encode()
        return rendered.encode()

    async def send(self, ctx: Mapping[str, Any]) -> httpx.Response:
        """Send the request for ``ctx`` and read the answer.

        Raises :class:`Cancelled`, :class:`BodyError`, or ``httpx.HTTPError`` (``httpx.TimeoutException``
        when the target is too slow).
        """
        headers = self.headers()
        content = None if self.method == "TRACE" else await self.body(ctx, headers["Content-Type"])
        auth: httpx.Auth | None = None
        if self.config.auth is not None and self.config.auth.type == "basic_auth":
            auth = httpx.BasicAuth(self.config.auth.config.user or "", self.config.auth.config.password or "")
        return await self.client.request(
            self.method,
            self.config.url,
            content=content,
            headers=headers,
            auth=auth or httpx.USE_CLIENT_DEFAULT,
            timeout=self.timeout,
        )


def _evaluate(name: str, template: str, ctx: str) -> str:
    import _jsonnet

    try:
        return _jsonnet.evaluate_snippet(name, template, tla_codes={"ctx": ctx})
    except RuntimeError as exc:
        if "RUNTIME ERROR: cancel" in str(exc):
            raise Cancelled() from None
        raise BodyError("evaluate", str(exc)) from None


def _form(rendered: str) -> str:
    """A form body from the template's output, which must be an object of strings (as upstream)."""
    values = orjson.loads(rendered)
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise BodyError("evaluate", "a form body template must give an object whose values are strings")
    return urlencode(values)
