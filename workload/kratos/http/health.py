"""Health and version endpoints."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.routing import Route

from kratos import __version__
from kratos.http.responses import JSONResponse

log = logging.getLogger(__name__)


def health_routes(ping: Callable[[], Awaitable[None]]) -> list[Route]:
    """``/health/alive`` and ``/health/ready`` (ready means ``ping`` returns: the database answers)."""

    async def alive(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> JSONResponse:
        try:
            await ping()
        except Exception as exc:
            log.warning("readiness check failed: the database does not answer: %s", exc)
            return JSONResponse({"errors": {"database": "the database does not answer"}}, status_code=503)
        return JSONResponse({"status": "ok"})

    return [Route("/health/alive", alive), Route("/health/ready", ready)]


async def version(_: Request) -> JSONResponse:
    """``GET /version``."""
    return JSONResponse({"version": __version__})
