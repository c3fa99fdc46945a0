"""Run the public and admin servers on one event loop: the whole server, or one worker of several."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
from collections.abc import Callable, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from kratos.config import KratosConfig
from kratos.driver.app import admin_app, public_app
from kratos.driver.registry import DatabaseUnavailableError, NotMigratedError, Registry
from kratos.http import metrics
from kratos.http.protocol import KratosHttpToolsProtocol

log = logging.getLogger(__name__)


def start_failure(exc: BaseException) -> str | None:
    """What to tell the user when ``exc`` stopped :func:`serve` from starting; None for a bug."""
    if isinstance(exc, NotMigratedError | DatabaseUnavailableError):
        return str(exc)
    if isinstance(exc, OSError | ValueError):
        return f"unable to start: {exc}"
    return None


class _Server(uvicorn.Server):
    """A uvicorn server whose signals the runner handles for both ports."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Signals are installed once by :func:`serve`."""
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Listen, then tell the runner."""
        await super().startup(sockets=sockets)
        if self.started:
            self._on_started()


def _server(app: object, host: str, port: int, on_started: Callable[[], None]) -> _Server:
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host or "0.0.0.0",  # noqa: S104 - upstream listens on every interface by default
        port=port,
        loop="none",
        http=KratosHttpToolsProtocol,
        ws="none",
        interface="asgi3",
        lifespan="off",
        access_log=False,
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    return _Server(config, on_started)


async def serve(
    config: KratosConfig,
    sockets: tuple[list[socket.socket], list[socket.socket]] | None = None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Open the registry, then serve both ports until SIGINT or SIGTERM.

    A worker passes the parent's listening ``sockets`` (public, admin) and learns from ``on_ready``, called
    on the event loop, when both serve.
    """
    registry = await Registry.open(config)
    # Objects alive after start-up (modules, config, schemas) never become garbage: keep the collector
    # from re-scanning them, which otherwise stalls requests for tens of milliseconds under load.
    gc.collect()
    gc.freeze()
    waiting = 2

    def started() -> None:
        nonlocal waiting
        waiting -= 1
        if waiting == 0 and on_ready is not None:
            on_ready()

    servers = [
        _server(public_app(registry), config.serve.public.host, config.serve.public.port, started),
        _server(admin_app(registry), config.serve.admin.host, config.serve.admin.port, started),
    ]
    dispatcher = registry.dispatcher() if config.watch_courier else None
    courier = None
    if dispatcher is not None:
        log.info("the courier is watching for messages (worker %s)", dispatcher.owner)
        courier = asyncio.create_task(dispatcher.run())

    def stop() -> None:
        for server in servers:
            server.should_exit = True
        if dispatcher is not None:
            dispatcher.stop()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    if sockets is None:
        log.info(
            "serving the public API on port %d and the admin API on port %d",
            config.serve.public.port,
            config.serve.admin.port,
        )
    try:
        listeners = sockets or (None, None)
        await asyncio.gather(*(server.serve(socks) for server, socks in zip(servers, listeners, strict=True)))
        if any(not server.started for server in servers):
            raise OSError("a port could not be bound; see the error above")
    finally:
        if dispatcher is not None and courier is not None:
            dispatcher.stop()  # finishes the messages being sent, releases the rest of the batch
            await courier
            await dispatcher.close()
        await registry.close()


async def watch_courier(config: KratosConfig, metrics_port: int | None = None) -> None:
    """``kratos courier watch``: the courier worker alone, until SIGINT or SIGTERM.

    With ``metrics_port``, Prometheus metrics are served on it at ``/metrics/prometheus``.
    """
    registry = await Registry.open(config)
    dispatcher = registry.dispatcher()
    metrics_server = None
    if metrics_port is not None:
        app = Starlette(routes=[Route("/metrics/prometheus", metrics.prometheus)])
        metrics_server = _server(app, config.serve.admin.host, metrics_port, lambda: None)
    loop = asyncio.get_running_loop()

    def stop() -> None:
        dispatcher.stop()
        if metrics_server is not None:
            metrics_server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    log.info("the courier is watching for messages (worker %s)", dispatcher.owner)
    try:
        tasks = [dispatcher.run(), *([metrics_server.serve()] if metrics_server is not None else [])]
        await asyncio.gather(*tasks)
        if metrics_server is not None and not metrics_server.started:
            raise OSError(f"port {metrics_port} could not be bound; see the error above")
    finally:
        dispatcher.stop()
        await dispatcher.close()
        await registry.close()
