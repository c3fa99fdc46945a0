"""Run the public and admin servers in one process, on one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Iterator

import uvicorn

from kratos.config import KratosConfig
from kratos.driver.app import admin_app, public_app
from kratos.driver.registry import Registry

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """A uvicorn server whose signals the runner handles for both ports."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Signals are installed once by :func:`serve`."""
        yield


def _server(app: object, host: str, port: int) -> _Server:
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host or "0.0.0.0",  # noqa: S104 - upstream listens on every interface by default
        port=port,
        loop="none",
        http="httptools",
        ws="none",
        interface="asgi3",
        lifespan="off",
        access_log=False,
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    return _Server(config)


async def serve(config: KratosConfig) -> None:
    """Open the registry, then serve both ports until SIGINT or SIGTERM."""
    registry = await Registry.open(config)
    # Objects alive after start-up (modules, config, schemas) never become garbage: keep the collector
    # from re-scanning them, which otherwise stalls requests for tens of milliseconds under load.
    gc.collect()
    gc.freeze()
    servers = [
        _server(public_app(registry), config.serve.public.host, config.serve.public.port),
        _server(admin_app(registry), config.serve.admin.host, config.serve.admin.port),
    ]
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: [setattr(s, "should_exit", True) for s in servers])
    log.info(
        "serving the public API on port %d and the admin API on port %d",
        config.serve.public.port,
        config.serve.admin.port,
    )
    try:
        await asyncio.gather(*(server.serve() for server in servers))
        if any(not server.started for server in servers):
            raise OSError("a port could not be bound; see the error above")
    finally:
        await registry.close()
