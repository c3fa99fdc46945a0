"""The seam to the courier templates: ``kratos.courier.template`` when the build has it.

Until that package is merged, :func:`load_courier_templates` returns templates that refuse to render:
queueing a message fails with :class:`TemplatesMissing`, and emails already queued go out as text alone.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from kratos.config import KratosConfig
from kratos.courier.courier import RenderedEmailLike, Templates
from kratos.courier.model import Message

log = logging.getLogger(__name__)


class TemplatesMissing(RuntimeError):
    """The build has no courier templates."""


class _NoTemplates:
    """Stands in for the templates where ``kratos.courier.template`` is not part of the build."""

    def email(self, template_type: str, data: Mapping[str, Any]) -> RenderedEmailLike:
        raise TemplatesMissing(f"cannot render the email template {template_type!r}: no courier templates")

    def sms(self, template_type: str, data: Mapping[str, Any]) -> str:
        raise TemplatesMissing(f"cannot render the SMS template {template_type!r}: no courier templates")


async def load_courier_templates(config: KratosConfig, http: httpx.AsyncClient) -> Templates:
    """``kratos.courier.template.load_templates(config.courier, http)``, when the package is there."""
    try:
        module = importlib.import_module("kratos.courier.template")
    except ModuleNotFoundError:
        log.debug("no kratos.courier.template in this build: messages cannot be rendered")
        return _NoTemplates()
    return await module.load_templates(config.courier, http)


def html_renderer(templates: Templates) -> Callable[[Message], str | None]:
    """The HTML body of a queued email, rendered again from its template type and data (channels call it)."""

    def render(message: Message) -> str | None:
        return templates.email(message.template_type, message.template_data).html

    return render
