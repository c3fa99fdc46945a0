"""The delivery channel protocol the dispatcher sends messages through."""

from __future__ import annotations

from typing import Any, Protocol

from kratos.courier.model import Message


class DeliveryError(Exception):
    """A message could not be delivered; ``permanent`` ones are abandoned at once (e.g. invalid recipient)."""

    def __init__(
        self, message: str, *, permanent: bool = False, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.details = details

    def to_json(self) -> dict[str, Any]:
        """The error as a dispatch row keeps it (``{"message": ..., **details}``)."""
        out: dict[str, Any] = {"message": self.message}
        if self.details:
            out.update(self.details)
        return out


class Channel(Protocol):
    """Sends messages of one medium.

    ``id`` is "email" for the email channel, "sms" or a ``courier.channels[].id`` otherwise.
    """

    id: str

    async def dispatch(self, message: Message) -> None:
        """Deliver one message; raises :class:`DeliveryError` when it cannot."""
        ...

    async def close(self) -> None:
        """Release connections and other resources."""
        ...
