"""Courier messages and their dispatch attempts, as the admin API shows them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from kratos.identity.model import utcnow


class MessageStatus(StrEnum):
    """Where a message is in its life: queued -> processing -> sent, or abandoned after its retries."""

    QUEUED = "queued"
    PROCESSING = "processing"
    SENT = "sent"
    ABANDONED = "abandoned"


class MessageType(StrEnum):
    """The medium a message goes out by."""

    EMAIL = "email"
    SMS = "sms"


class DispatchStatus(StrEnum):
    """The outcome of one delivery attempt."""

    FAILED = "failed"
    SUCCESS = "success"


@dataclass(slots=True)
class Dispatch:
    """One delivery attempt of a message (``courier_message_dispatches``)."""

    message_id: uuid.UUID
    status: DispatchStatus
    error: dict[str, Any] | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def to_json(self) -> dict[str, Any]:
        """The wire form (``error`` only when there is one)."""
        out: dict[str, Any] = {
            "id": self.id,
            "message_id": self.message_id,
            "status": self.status.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass(slots=True)
class Message:
    """A message to send.

    ``body`` is the plain-text body; an email's HTML is rendered again at dispatch from ``template_type``
    and ``template_data``, which the admin API never shows.
    """

    type: MessageType
    recipient: str
    subject: str
    body: str
    template_type: str
    template_data: dict[str, Any] = field(default_factory=dict)
    channel: str | None = None
    status: MessageStatus = MessageStatus.QUEUED
    send_count: int = 0
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    dispatches: list[Dispatch] | None = None

    def to_json(self) -> dict[str, Any]:
        """The wire form; ``dispatches`` only when they were loaded (a single message)."""
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.status.value,
            "type": self.type.value,
            "recipient": self.recipient,
            "body": self.body,
            "subject": self.subject,
            "template_type": self.template_type,
            "channel": self.channel,
            "send_count": self.send_count,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if self.dispatches:
            out["dispatches"] = [dispatch.to_json() for dispatch in self.dispatches]
        return out
