"""Queueing messages: render them from their templates and store them for the dispatcher."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

import orjson

from kratos.courier.model import Message, MessageType
from kratos.courier.pool import MessagePool

EMAIL_CHANNEL = "email"
SMS_CHANNEL = "sms"
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


class InvalidRecipient(ValueError):
    """A message cannot go to this recipient."""


class RenderedEmailLike(Protocol):
    """What an email template renders to (``kratos.courier.template.RenderedEmail``)."""

    @property
    def subject(self) -> str:
        """The subject line."""
        ...

    @property
    def html(self) -> str:
        """The HTML body."""
        ...

    @property
    def plaintext(self) -> str:
        """The plain-text body."""
        ...


class Templates(Protocol):
    """The courier templates (``kratos.courier.template.CourierTemplates``)."""

    def email(self, template_type: str, data: Mapping[str, Any]) -> RenderedEmailLike:
        """Render an email."""
        ...

    def sms(self, template_type: str, data: Mapping[str, Any]) -> str:
        """Render a text message's body."""
        ...


class Courier:
    """Queues emails and text messages; the dispatcher sends them."""

    def __init__(self, pool: MessagePool, templates: Templates) -> None:
        self.pool = pool
        self.templates = templates

    async def queue_email(self, template_type: str, recipient: str, data: Mapping[str, Any]) -> Message:
        """Render ``template_type`` with ``data`` and queue it for ``recipient`` (an email address).

        The subject and plain-text body are stored; the HTML body is rendered again when sending, from
        the kept template type and data.
        """
        if not _EMAIL.fullmatch(recipient):
            raise InvalidRecipient("courier: email recipient is not a valid email address")
        rendered = self.templates.email(template_type, data)
        return await self._queue(
            Message(
                type=MessageType.EMAIL,
                recipient=recipient,
                subject=rendered.subject,
                body=rendered.plaintext,
                template_type=template_type,
                template_data=_json_data(data),
                channel=EMAIL_CHANNEL,
            )
        )

    async def queue_sms(
        self, template_type: str, recipient: str, data: Mapping[str, Any], *, channel: str = SMS_CHANNEL
    ) -> Message:
        """Render ``template_type`` as a text message and queue it for ``recipient`` on ``channel``."""
        if not recipient.strip():
            raise InvalidRecipient("courier: the text message has no recipient")
        return await self._queue(
            Message(
                type=MessageType.SMS,
                recipient=recipient,
                subject="",
                body=self.templates.sms(template_type, data),
                template_type=template_type,
                template_data=_json_data(data),
                channel=channel,
            )
        )

    async def _queue(self, message: Message) -> Message:
        await self.pool.add(message)
        return message


def _json_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """The template data as JSON keeps it (UUIDs and times as strings, dataclasses as objects)."""
    return orjson.loads(orjson.dumps(dict(data), default=str))
