"""The public (4433) and admin (4434) ASGI applications, assembled from the registry's services."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from kratos.courier.handlers import CourierAdminAPI
from kratos.driver.registry import Registry
from kratos.driver.selfservice import admin_selfservice_routes, public_routes, session_handlers, whoami_app
from kratos.http import errors, metrics
from kratos.http.app import ErrorMapper, build_app
from kratos.http.cors import cors_middleware
from kratos.http.fastpath import FastPaths, FastRoute
from kratos.http.health import health_routes, version
from kratos.http.keyset import PageTokens
from kratos.http.middleware import StripPrefix
from kratos.identity.admin import errors as identity_errors
from kratos.identity.admin.handlers import identity_admin_routes
from kratos.persistence.database import UNAVAILABLE_ERRORS
from kratos.schema.handlers import schema_routes
from kratos.session.whoami import METHODS

log = logging.getLogger(__name__)


def _database_unavailable(exc: Exception) -> errors.KratosError:
    log.warning("the database is unavailable: %s", exc)
    return errors.ServiceUnavailable("The database is unavailable, please try again later.")


def _mappers() -> dict[type[Exception], ErrorMapper]:
    return {
        **dict.fromkeys(UNAVAILABLE_ERRORS, _database_unavailable),
        **dict.fromkeys(identity_errors.HANDLED, identity_errors.http_error),
    }


def public_app(registry: Registry) -> ASGIApp:
    """The public API, with CORS when ``serve.public.cors.enabled``; whoami ahead of the router."""
    public = registry.config.serve.public
    routes = [
        *health_routes(registry.db.ping),
        *schema_routes(registry.schemas),
        *public_routes(registry),
        *admin_redirects(str(registry.config.serve.admin.base_url)),
    ]
    cors = [cors_middleware(public.cors)] if public.cors.enabled else []
    app = build_app(
        "public",
        routes,
        quiet_health=public.request_log.disable_for_health,
        middleware=cors,
        mappers=_mappers(),
    )
    whoami: ASGIApp = whoami_app(registry)
    for cls, args, kwargs in cors:
        whoami = cls(whoami, *args, **kwargs)
    return FastPaths(app, "public", [FastRoute("/sessions/whoami", METHODS, whoami)], mappers=_mappers())


def admin_redirects(admin_base_url: str) -> list[Route]:
    """Admin paths asked of the public port are redirected (307) to the admin port, as upstream does."""
    admin_base = admin_base_url.rstrip("/")

    async def redirect(request: Request) -> Response:
        path = request.url.path.removeprefix("/admin")
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{admin_base}/admin{path}{query}", status_code=307)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    identities = [
        Route(path, redirect, methods=methods)
        for prefix in ("", "/admin")
        for path in (f"{prefix}/identities", f"{prefix}/identities/{{rest:path}}")
    ]
    courier = [  # upstream redirects only the prefixed paths, and only GET
        Route(path, redirect, methods=["GET"])
        for path in ("/admin/courier/messages", "/admin/courier/messages/{rest:path}")
    ]
    return [*identities, *courier]


def admin_app(registry: Registry) -> Starlette:
    """The admin API; every path also answers under ``/admin``."""
    routes = [
        *health_routes(registry.db.ping),
        Route("/version", version),
        Route("/metrics/prometheus", metrics.prometheus),
        *schema_routes(registry.schemas),
        *session_handlers(registry).admin_routes(),
        *admin_selfservice_routes(registry),
        *identity_admin_routes(
            registry.identities, registry.importer, str(registry.config.serve.admin.base_url)
        ),
        *CourierAdminAPI(
            registry.messages,
            PageTokens(registry.config.secrets.pagination),  # upstream: these only, else its fixed key
            dev=registry.config.dev,
        ).routes(),
    ]
    return build_app(
        "admin",
        routes,
        quiet_health=registry.config.serve.admin.request_log.disable_for_health,
        middleware=[Middleware(StripPrefix)],  # type: ignore[arg-type]
        mappers=_mappers(),
    )
