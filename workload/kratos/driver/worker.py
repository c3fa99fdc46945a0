"""One worker of ``kratos serve --workers N``: both apps on its own event loop, in a forked process."""

from __future__ import annotations

import contextlib
import logging
import os
import socket

import orjson
import uvloop

from kratos.config import KratosConfig
from kratos.driver import runner

log = logging.getLogger(__name__)

STARTUP_FAILURE = 3
"""The exit code of a worker that could not start (uvicorn's)."""


def run(
    config: KratosConfig, sockets: tuple[list[socket.socket], list[socket.socket]], channel: socket.socket
) -> int:
    """Serve on the parent's ``sockets`` until SIGTERM or SIGINT; return the exit code.

    ``channel`` carries one JSON line to the parent: ``{"ready": true}`` once both ports serve, or
    ``{"error": message}`` when start-up fails (the parent shows it once).
    """
    ready = False

    def on_ready() -> None:
        nonlocal ready
        ready = True
        send(channel, {"ready": True})

    try:
        uvloop.run(runner.serve(config, sockets, on_ready))
    except Exception as exc:
        message = None if ready else runner.start_failure(exc)
        if message is None:
            log.exception("worker %d crashed", os.getpid())
            return 1
        send(channel, {"error": message})
        return STARTUP_FAILURE
    return 0


def send(channel: socket.socket, message: dict[str, object]) -> None:
    """Write one JSON line to the parent."""
    with contextlib.suppress(OSError):
        channel.sendall(orjson.dumps(message) + b"\n")
