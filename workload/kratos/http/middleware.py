"""Pure ASGI middleware: request guard, unexpected errors, admin prefix, metrics and request logs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kratos.http import metrics
from kratos.http.errors import BadRequest, InternalError, PayloadTooLarge
from kratos.http.responses import error_response

MAX_BODY_BYTES = 5 * 1024 * 1024
log = logging.getLogger("kratos.http")


class RequestGuard:
    """Refuse what no handler can take: NUL in the URL (400), bodies over ``limit`` bytes (413)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the URL and ``Content-Length`` first, then count what is streamed."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = refusal(scope, self.limit)
        if refused is not None:
            await error_response(refused)(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise self._too_large()
            return message

        await self.app(scope, limited_receive, send)

    def _too_large(self) -> PayloadTooLarge:
        return _too_large(self.limit)


def refusal(scope: Scope, limit: int = MAX_BODY_BYTES) -> BadRequest | PayloadTooLarge | None:
    """Why :class:`RequestGuard` refuses a request before any handler sees it, or None."""
    if b"%00" in scope.get("raw_path", b"").lower() or b"%00" in scope["query_string"].lower():
        return BadRequest("The URL must not contain NUL (%00) characters.")
    declared = _content_length(scope)
    if declared is not None and declared > limit:
        return _too_large(limit)
    return None


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body exceeds the limit of {limit} bytes.")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class UnexpectedErrors:
    """Answer an exception no handler took with a 500 error JSON, as a normal response.

    Starlette's outermost middleware would answer too, but re-raises to the server, which then closes the
    connection: a keep-alive client's next request on it is reset without an answer.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; on an exception before the response started, log it and answer 500."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as exc:
            if started:
                raise
            log.error("unexpected error handling %s %s", scope["method"], scope["path"], exc_info=exc)
            await error_response(InternalError())(scope, receive, send)


class StripPrefix:
    """Serve ``/admin/x`` and ``/x`` alike, as upstream's admin port does."""

    def __init__(self, app: ASGIApp, prefix: str = "/admin") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite the path before routing."""
        if scope["type"] == "http":
            path: str = scope["path"]
            if path == self.prefix or path.startswith(self.prefix + "/"):
                # Rewritten in place, so outer middleware sees what the router adds to the scope.
                scope["path"] = path[len(self.prefix) :] or "/"
                scope.pop("raw_path", None)
        await self.app(scope, receive, send)


class Observe:
    """Record Prometheus metrics and a log line per request, labelled by route template."""

    def __init__(
        self, app: ASGIApp, port_name: str, templates: Mapping[Callable, str], quiet_health: bool = False
    ) -> None:
        self.app = app
        self.port_name = port_name
        self.templates = templates
        self.quiet_health = quiet_health  # ``serve.*.request_log.disable_for_health``

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request and note its status."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        request_path = scope["path"]

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            path = self.templates.get(scope.get("endpoint"), "unmatched")  # type: ignore[arg-type]
            quiet = self.quiet_health and path.startswith("/health")
            record(self.port_name, scope["method"], path, request_path, status, started, quiet=quiet)


def record(
    port_name: str, method: str, template: str, path: str, status: int, started: float, *, quiet: bool = False
) -> None:
    """Count a request that began at ``started`` (``perf_counter``) in the metrics, and log it at INFO."""
    elapsed = time.perf_counter() - started
    metrics.observe(port_name, method, template, status, elapsed)
    if not quiet and log.isEnabledFor(logging.INFO):
        log.info(
            "completed handling request",
            extra={
                "http_request": {"method": method, "path": path},
                "http_response": {"status": status, "took_ms": round(elapsed * 1000, 3)},
            },
        )
