"""A browser-like HTTP client: one cookie jar for every host, redirects followed one hop at a time.

It walks an OAuth2 authorization across Hydra's public port, Kratos, a login UI and the client's
redirect URI, recording every hop, so a test can stop where a page wants an answer, answer it (by API
calls with the same cookies), and walk on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Hop:
    """One request the browser made and what came back."""

    method: str
    url: str
    status: int
    location: str | None


def query_param(url: str, name: str) -> str:
    """The value of query parameter ``name`` in ``url``; ``KeyError`` naming it when it is missing."""
    values = parse_qs(urlsplit(url).query).get(name)
    if not values:
        raise KeyError(f"{name!r} is not in the query of {url}")
    return values[0]


class Browser:
    """``httpx.Client`` with a cookie jar; :meth:`follow` walks redirects, :attr:`hops` records each."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.client = httpx.Client(follow_redirects=False, timeout=timeout)
        self.hops: list[Hop] = []
        self.url = ""  # where the browser is: the last page it loaded, or where it stopped

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request with the browser's cookies (no redirect followed), recorded as a hop."""
        response = self.client.request(method, url, **kwargs)
        location = response.headers.get("Location")
        self.hops.append(Hop(method, url, response.status_code, urljoin(url, location) if location else None))
        self.url = url
        return response

    def follow(
        self, url: str, *, method: str = "GET", stop_at: Sequence[str] = (), max_hops: int = 20, **kwargs: Any
    ) -> httpx.Response:
        """Request ``url`` and follow each redirect until a page that is not one.

        A redirect to a URL starting with one of ``stop_at`` is not followed: the browser stops there
        (:attr:`url` is that target) and the redirect response is returned. 303 and a redirected POST
        turn into GET, as browsers do.
        """
        response = self.request(method, url, **kwargs)
        for _ in range(max_hops):
            location = response.headers.get("Location")
            if response.status_code not in REDIRECTS or not location:
                return response
            target = urljoin(url, location)
            if any(target.startswith(prefix) for prefix in stop_at):
                self.url = target
                return response
            if response.status_code in (307, 308) and method != "GET":
                response = self.request(method, target, **kwargs)
            else:
                method, kwargs = "GET", {}
                response = self.request("GET", target)
            url = target
        raise AssertionError(f"more than {max_hops} redirects: {[hop.url for hop in self.hops[-max_hops:]]}")

    def visited(self, prefix: str) -> list[Hop]:
        """The hops whose URL starts with ``prefix``."""
        return [hop for hop in self.hops if hop.url.startswith(prefix)]
