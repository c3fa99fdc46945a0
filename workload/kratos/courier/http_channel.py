"""A channel that hands messages to an HTTP API (upstream's ``courier/http_channel.go``).

Used for emails with ``courier.delivery_strategy: http`` and for every ``courier.channels`` entry (SMS).
The request body is the configured Jsonnet template called with
``ctx = {recipient, subject, body, html_body (emails, when rendered), template_type, template_data,
message_type, request_headers}``. Any 2xx answer delivers the message; anything else is tried again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx

from kratos.config.request import RequestConfig
from kratos.courier.channel import DeliveryError
from kratos.courier.model import Message, MessageType
from kratos.http.outgoing import BodyError, Cancelled, OutgoingRequest

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
"""No retries inside a dispatch (the courier retries), 10 s to connect as upstream."""
MAX_ERROR_BODY = 1024
"""How much of a refusing answer's body is kept with the error (upstream: 1 KiB)."""


def _where(url: str) -> str:
    """The URL without credentials or query (either may hold secrets), for errors."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


class HttpChannel:
    """Sends the messages of channel ``id`` with the configured request."""

    def __init__(
        self,
        id: str,
        config: RequestConfig,
        client: httpx.AsyncClient,
        render_html: Callable[[Message], str | None],
    ) -> None:
        self.id = id
        self.request = OutgoingRequest(config, client, timeout=TIMEOUT)
        self.render_html = render_html
        self._where = _where(config.url)

    def context(self, message: Message) -> dict[str, Any]:
        """The Jsonnet ``ctx`` for ``message`` (upstream's ``httpDataModel``)."""
        ctx: dict[str, Any] = {
            "recipient": message.recipient,
            "subject": message.subject,
            "body": message.body,
            "template_type": message.template_type,
            "template_data": message.template_data,
            "message_type": message.type.value,
            "request_headers": {},
        }
        if message.type is MessageType.EMAIL:
            try:
                html = self.render_html(message)
            except Exception:  # upstream sends the message without its HTML then
                log.exception("unable to render the HTML body of message %s", message.id)
                html = None
            if html:
                ctx["html_body"] = html
        return ctx

    async def dispatch(self, message: Message) -> None:
        """Send ``message``; raises :class:`DeliveryError` unless the endpoint answers 2xx."""
        details: dict[str, Any] = {"channel": self.id, "http_server": self._where}
        try:
            response = await self.request.send(self.context(message))
        except Cancelled:
            raise DeliveryError(
                'the request body template cancelled this message (error "cancel")',
                permanent=True,
                details=details,
            ) from None
        except BodyError as exc:
            what = "cannot be loaded" if exc.stage == "load" else "failed"
            raise DeliveryError(f"the request body template {what}: {exc.detail}", details=details) from None
        except httpx.TimeoutException:
            raise DeliveryError(
                "the HTTP delivery endpoint did not answer in time", details=details
            ) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"unable to reach the HTTP delivery endpoint: {exc}", details=details
            ) from None
        if 200 <= response.status_code < 300:
            return
        raise DeliveryError(
            "unable to dispatch mail delivery because upstream server replied with status code "
            f"{response.status_code}",
            details={
                **details,
                "status_code": response.status_code,
                "response_body": response.content[:MAX_ERROR_BODY].decode(errors="replace"),
            },
        )

    async def close(self) -> None:
        """Nothing to release: the HTTP client belongs to the caller."""
