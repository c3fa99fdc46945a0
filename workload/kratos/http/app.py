"""A Starlette app whose every answer, errors included, is Kratos's JSON."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kratos.http import errors
from kratos.http.middleware import Observe, RequestGuard, UnexpectedErrors
from kratos.http.responses import error_response

log = logging.getLogger(__name__)

ErrorMapper = Callable[[Exception], errors.KratosError]
"""Turns a domain exception into the error a client receives."""

_STATUS_ERRORS: dict[int, type[errors.KratosError]] = {
    400: errors.BadRequest,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    413: errors.PayloadTooLarge,
    415: errors.UnsupportedMediaType,
}


async def _kratos_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.KratosError)
    return error_response(exc)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = _STATUS_ERRORS.get(exc.status_code)
    error = kind() if kind else errors.KratosError(status=exc.status_code)
    headers = dict(exc.headers) if exc.headers else None
    return error_response(error, headers)


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
        for problem in exc.errors()
    )
    return error_response(errors.BadRequest(f"The request body is invalid: {problems}"))


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error handling %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(errors.InternalError())


def _mapped(mapper: ErrorMapper) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(_: Request, exc: Exception) -> Response:
        return error_response(mapper(exc))

    return handle


def build_app(
    port_name: str,
    routes: Sequence[BaseRoute],
    *,
    quiet_health: bool,
    middleware: Sequence[Middleware] = (),
    mappers: Mapping[type[Exception], ErrorMapper] | None = None,
) -> Starlette:
    """An app with metrics, request logs and the request guard; ``mappers`` render domain errors."""
    templates: dict[Callable, str] = {
        route.endpoint: route.path for route in routes if isinstance(route, Route)
    }
    return Starlette(
        routes=list(routes),
        middleware=[
            Middleware(Observe, port_name=port_name, templates=templates, quiet_health=quiet_health),  # type: ignore[arg-type]
            Middleware(RequestGuard),  # type: ignore[arg-type]
            Middleware(UnexpectedErrors),  # type: ignore[arg-type]
            *middleware,
        ],
        exception_handlers={
            errors.KratosError: _kratos_error,
            HTTPException: _http_error,
            ValidationError: _validation_error,
            **{kind: _mapped(mapper) for kind, mapper in (mappers or {}).items()},
            Exception: _unexpected_error,
        },
    )
