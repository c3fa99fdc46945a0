"""Documents named by URL as Kratos configs name them: ``file://``, ``base64://``, ``http(s)://``."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # httpx is loaded only when a document is fetched over HTTP
    import httpx

HTTP_TIMEOUT = 10.0


async def fetch_url(url: str, http: httpx.AsyncClient | None = None) -> bytes:
    """Read the bytes at ``url`` (a bare path is a file); raises ``ValueError`` with the reason."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "file", url
    if scheme == "file":
        try:
            return Path(rest).read_bytes()
        except FileNotFoundError:
            raise ValueError("no such file") from None
        except OSError as exc:
            raise ValueError(exc.strerror or str(exc)) from None
    if scheme == "base64":
        try:
            standard = rest.strip().replace("-", "+").replace("_", "/").rstrip("=")
            return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("invalid base64") from None
    if scheme in ("http", "https"):
        return await _download(url, http)
    raise ValueError(f"unsupported URL scheme {scheme!r} (use file://, base64://, http:// or https://)")


async def _download(url: str, http: httpx.AsyncClient | None) -> bytes:
    import httpx

    client = http or httpx.AsyncClient()
    try:
        response = await client.get(url, timeout=HTTP_TIMEOUT, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise ValueError(f"unable to fetch: {exc}") from None
    finally:
        if http is None:
            await client.aclose()
    if response.status_code != 200:
        raise ValueError(f"unable to fetch: HTTP status {response.status_code}")
    return response.content
