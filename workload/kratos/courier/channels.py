"""The courier's channels by id, as upstream's ``CourierChannels`` lists them.

``courier.channels`` first (each an HTTP endpoint; upstream's schema allows only ``sms``), then the
``email`` channel: SMTP, or the HTTP endpoint of ``courier.http.request_config`` with
``delivery_strategy: http``. When two share an id the first one wins, as upstream looks them up.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from kratos.config.model import KratosConfig
from kratos.courier.channel import Channel
from kratos.courier.http_channel import HttpChannel
from kratos.courier.model import Message
from kratos.courier.smtp import SmtpChannel


def build_channels(
    config: KratosConfig, http: httpx.AsyncClient, render_html: Callable[[Message], str | None]
) -> dict[str, Channel]:
    """Every configured channel by id.

    Raises ``ConfigError`` for settings found wrong only when used (a client certificate that cannot
    be loaded).
    """
    courier = config.courier
    channels: dict[str, Channel] = {}
    for entry in courier.channels:
        channels.setdefault(entry.id, HttpChannel(entry.id, entry.request_config, http, render_html))
    if "email" not in channels:
        request = courier.http.request_config
        if courier.delivery_strategy == "http" and request is not None:
            channels["email"] = HttpChannel("email", request, http, render_html)
        else:
            channels["email"] = SmtpChannel(
                courier.smtp,
                render_html,
                disallow_private_ip_ranges=config.clients.smtp.disallow_private_ip_ranges,
            )
    return channels
