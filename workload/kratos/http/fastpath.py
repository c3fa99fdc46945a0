"""A few hot paths served by bare ASGI apps ahead of the full application.

A request for one of them skips Starlette's middleware stack and router, yet keeps what the stack gives
every request: the request guard's refusals (such requests are left to the full app, which answers
them), metrics and the request log line, and Kratos's error JSON for any exception.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kratos.http import errors
from kratos.http.middleware import record, refusal
from kratos.http.responses import error_response

log = logging.getLogger("kratos.http")


@dataclass(frozen=True, slots=True)
class FastRoute:
    """An exact path, the methods it takes and the bare ASGI app that serves it."""

    path: str
    methods: frozenset[str]
    app: ASGIApp


class FastPaths:
    """Serve the ``routes`` themselves and pass everything else to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        port_name: str,
        routes: Iterable[FastRoute],
        mappers: Mapping[type[Exception], Callable[[Exception], errors.KratosError]] | None = None,
    ) -> None:
        self.app = app
        self.port_name = port_name
        self.routes = {route.path: route for route in routes}
        self.mappers = dict(mappers or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch on the exact path and method."""
        route = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if route is None or scope["method"] not in route.methods or refusal(scope) is not None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        sent = False

        async def observed_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status, sent = message["status"], True
            await send(message)

        try:
            await route.app(scope, receive, observed_send)
        except Exception as exc:
            if sent:
                raise
            error = self._error(exc)
            status = error.status
            await error_response(error)(scope, receive, send)
        finally:
            record(self.port_name, scope["method"], route.path, scope["path"], status, started)

    def _error(self, exc: Exception) -> errors.KratosError:
        if isinstance(exc, errors.KratosError):
            return exc
        for kind in type(exc).__mro__:
            mapper = self.mappers.get(kind)
            if mapper is not None:
                return mapper(exc)
        log.error("unexpected error handling %s", type(exc).__name__, exc_info=exc)
        return errors.InternalError()
