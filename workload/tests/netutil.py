"""Network helpers shared by the test servers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy
from http.server import ThreadingHTTPServer
from socketserver import BaseRequestHandler
from typing import Any

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_client(timeout: float = 30.0) -> httpx.Client:
    """An HTTP client as an app is one: no cookie jar, and patience for a loaded test machine."""
    return httpx.Client(timeout=timeout, cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])))


class LoopbackServer(ThreadingHTTPServer):
    """A test HTTP server on 127.0.0.1 in a thread of its own.

    Closing it joins the handler threads, and errors of clients that left are not printed: a late handler
    must not write to stderr while the interpreter exits (Python aborts then).
    """

    daemon_threads = False
    block_on_close = True

    def __init__(self, handler: Callable[..., BaseRequestHandler], port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), handler)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> LoopbackServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out and leave are part of the tests."""


@contextmanager
def loopback_server(handler: Callable[..., BaseRequestHandler], port: int = 0) -> Iterator[LoopbackServer]:
    """A running :class:`LoopbackServer`, stopped afterwards."""
    server = LoopbackServer(handler, port).start()
    try:
        yield server
    finally:
        server.stop()
