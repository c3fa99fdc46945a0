"""uvicorn's httptools protocol, answering what its HTTP parser refuses with Kratos's error JSON.

httptools cannot split a URL longer than 65,535 bytes, where upstream's Go server reads request lines and
headers up to 1 MiB: such URLs are split here, so a query of 2,000 ``ids`` or a 100 KB ``page_token`` is
answered by its handler. A longer URL is a 414, a request the parser refuses a 400, both as error JSON
(uvicorn would send a line of plain text, upstream a plain-text 431 or 400).
"""

from __future__ import annotations

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from kratos.http.errors import BadRequest, KratosError, UriTooLong

MAX_URL_BYTES = 1024 * 1024  # Go's http.DefaultMaxHeaderBytes
_HTTPTOOLS_MAX_URL = 65535  # httptools.parse_url keeps offsets in 16 bits
# After a refusal, what the client still sends is read and dropped this long before the connection closes:
# closing on unread data would reset the connection before the client reads the answer (Go waits too).
_LINGER_SECONDS = 0.5


class _UrlTooLong(Exception):
    """Raised from a parser callback: the URL exceeds :data:`MAX_URL_BYTES`."""


class KratosHttpToolsProtocol(HttpToolsProtocol):
    """The httptools protocol with Go's URL limit and Kratos's error JSON for malformed requests."""

    _refusal: KratosError | None = None
    _refused = False

    def data_received(self, data: bytes) -> None:
        """Parse the data, unless the request was refused already."""
        if not self._refused:
            super().data_received(data)

    def on_url(self, url: bytes) -> None:
        """Collect the URL (it may come in pieces), refusing it past the limit."""
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            self._refusal = UriTooLong(f"The request URL is longer than {MAX_URL_BYTES} bytes.")
            raise _UrlTooLong

    def on_headers_complete(self) -> None:
        """Start the request; a query too long for httptools is split off and set on the scope."""
        if len(self.url) <= _HTTPTOOLS_MAX_URL:
            super().on_headers_complete()
            return
        url = self.url
        target, _, query = url.partition(b"#")[0].partition(b"?")
        if len(target) > _HTTPTOOLS_MAX_URL:
            self._refusal = UriTooLong(f"The request path is longer than {_HTTPTOOLS_MAX_URL} bytes.")
            raise _UrlTooLong
        self.url = target
        try:
            super().on_headers_complete()  # builds the scope and schedules the app, which has not run yet
        finally:
            self.url = url
        self.scope["query_string"] = query

    def send_400_response(self, msg: str) -> None:
        """Answer a request the parser refused with an error JSON, then close the connection."""
        error = self._refusal or BadRequest(msg)
        self._refusal = None
        body = orjson.dumps(error.to_dict())
        content = [STATUS_LINE[error.status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self._refused = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)
