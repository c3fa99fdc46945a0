"""UI text messages with the upstream ids (see ``messages.json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

MessageType = Literal["info", "error", "success"]


@cache
def catalogue() -> dict[int, dict[str, str]]:
    """Every upstream message id with its name, default text and type."""
    raw = json.loads(resources.files("kratos.ui").joinpath("messages.json").read_text())
    return {int(key): value for key, value in raw.items()}


@dataclass(frozen=True, slots=True)
class Message:
    """One ``uiText``: ``{id, text, type, context}``."""

    id: int
    text: str
    type: MessageType
    context: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The wire form; ``context`` is left out when empty, as upstream leaves it out."""
        body: dict[str, Any] = {"id": self.id, "text": self.text, "type": self.type}
        if self.context:
            body["context"] = self.context
        return body

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """A message read back from storage."""
        return cls(data["id"], data["text"], data["type"], data.get("context") or {})


def message(message_id: int, text: str | None = None, **context: Any) -> Message:
    """Build message ``message_id``; ``text`` overrides the catalogue's text (for formatted messages)."""
    entry = catalogue()[message_id]
    return Message(message_id, text if text is not None else entry["text"], entry["type"], context)  # type: ignore[arg-type]
