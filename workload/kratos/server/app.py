"""The public (4433) and admin (4434) ASGI applications."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

from pydantic import ValidationError
from sqlalchemy import exc as sa_exc
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from kratos.config.sections import Cors
from kratos.identity.handlers import identity_admin_routes
from kratos.registry import Registry
from kratos.schema.handlers import schema_routes
from kratos.server import errors, metrics
from kratos.server.health import health_routes, version
from kratos.server.middleware import Observe, RequestGuard, StripPrefix
from kratos.server.responses import error_response

log = logging.getLogger(__name__)

# Lost connections, refused connections and pool timeouts: the request may well succeed later (503).
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    OSError,
)

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


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("the database is unavailable while handling %s %s: %s", request.method, request.url.path, exc)
    return error_response(errors.ServiceUnavailable("The database is unavailable, please try again later."))


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error handling %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(errors.InternalError())


def _build(
    port_name: str, routes: Sequence[BaseRoute], quiet_health: bool, extra: Sequence[Middleware] = ()
) -> Starlette:
    templates: dict[Callable, str] = {
        route.endpoint: route.path for route in routes if isinstance(route, Route)
    }
    return Starlette(
        routes=list(routes),
        middleware=[
            Middleware(Observe, port_name=port_name, templates=templates, quiet_health=quiet_health),  # type: ignore[arg-type]
            Middleware(RequestGuard),  # type: ignore[arg-type]
            *extra,
        ],
        exception_handlers={
            errors.KratosError: _kratos_error,
            HTTPException: _http_error,
            ValidationError: _validation_error,
            **dict.fromkeys(DATABASE_UNAVAILABLE, _database_unavailable),
            Exception: _unexpected_error,
        },
    )


def public_app(registry: Registry) -> Starlette:
    """The public API, with CORS when ``serve.public.cors.enabled``."""
    public = registry.config.serve.public
    extra = [cors_middleware(public.cors)] if public.cors.enabled else []
    routes = [*health_routes(registry), *schema_routes(registry), *admin_redirects(registry)]
    return _build("public", routes, public.request_log.disable_for_health, extra)


def admin_redirects(registry: Registry) -> list[Route]:
    """Admin paths asked of the public port are redirected (307) to the admin port, as upstream does."""
    admin_base = str(registry.config.serve.admin.base_url).rstrip("/")

    async def redirect(request: Request) -> Response:
        path = request.url.path.removeprefix("/admin")
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{admin_base}/admin{path}{query}", status_code=307)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return [
        Route(path, redirect, methods=methods)
        for prefix in ("", "/admin")
        for path in (f"{prefix}/identities", f"{prefix}/identities/{{rest:path}}")
    ]


def cors_middleware(cors: Cors) -> Middleware:
    """CORS as upstream configures it: ``*`` inside an origin matches one label or more."""
    exact = [origin for origin in cors.allowed_origins if "*" not in origin or origin == "*"]
    wildcards = [origin for origin in cors.allowed_origins if "*" in origin and origin != "*"]
    pattern = "|".join(re.escape(origin).replace(r"\*", "[^/]+") for origin in wildcards)
    return Middleware(
        CORSMiddleware,  # type: ignore[arg-type]
        allow_origins=exact,
        allow_origin_regex=f"^(?:{pattern})$" if pattern else None,
        allow_methods=list(cors.allowed_methods),
        allow_headers=cors.allowed_headers,
        expose_headers=cors.exposed_headers,
        allow_credentials=cors.allow_credentials,
        max_age=cors.max_age,
    )


def admin_app(registry: Registry) -> Starlette:
    """The admin API; every path also answers under ``/admin``."""
    routes = [
        *health_routes(registry),
        Route("/version", version),
        Route("/metrics/prometheus", metrics.prometheus),
        *schema_routes(registry),
        *identity_admin_routes(registry),
    ]
    quiet_health = registry.config.serve.admin.request_log.disable_for_health
    return _build("admin", routes, quiet_health, [Middleware(StripPrefix)])  # type: ignore[arg-type]
