"""Network helpers shared by the test servers."""

from __future__ import annotations

import socket
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_client(timeout: float = 30.0) -> httpx.Client:
    """An HTTP client as an app is one: no cookie jar, and patience for a loaded test machine."""
    return httpx.Client(timeout=timeout, cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])))
