"""UI nodes and the container a flow renders them in, in upstream's wire form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kratos.ui.text import Message, message


@dataclass(slots=True)
class Node:
    """One UI node: ``{type, group, attributes, messages, meta}``."""

    type: str
    group: str
    attributes: dict[str, Any]
    messages: list[Message] = field(default_factory=list)
    label: Message | None = None

    @property
    def name(self) -> str | None:
        """The input's name (None for other node types)."""
        return self.attributes.get("name")

    def to_json(self) -> dict[str, Any]:
        """The wire form."""
        return {
            "type": self.type,
            "group": self.group,
            "attributes": {**self.attributes, "node_type": self.type},
            "messages": [m.to_dict() for m in self.messages],
            "meta": {"label": self.label.to_dict()} if self.label else {},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        """A node read back from storage."""
        attributes = {k: v for k, v in data["attributes"].items() if k != "node_type"}
        label = data.get("meta", {}).get("label")
        return cls(
            type=data["type"],
            group=data["group"],
            attributes=attributes,
            messages=[Message.from_dict(m) for m in data.get("messages") or ()],
            label=Message.from_dict(label) if label else None,
        )


def input_node(
    name: str,
    group: str,
    type: str = "text",
    *,
    value: Any = None,
    required: bool = False,
    autocomplete: str | None = None,
    label: Message | None = None,
    **extra: Any,
) -> Node:
    """An ``input`` node; ``value`` is left out when None, as upstream leaves it out."""
    attributes: dict[str, Any] = {"name": name, "type": type}
    if value is not None:
        attributes["value"] = value
    if required:
        attributes["required"] = True
    if autocomplete:
        attributes["autocomplete"] = autocomplete
    attributes["disabled"] = False
    attributes.update(extra)
    return Node("input", group, attributes, label=label)


def submit_node(group: str, value: str, label_id: int, name: str = "method", **context: Any) -> Node:
    """A submit button ``name=value`` labelled with message ``label_id``."""
    return input_node(name, group, "submit", value=value, label=message(label_id, **context))


def image_node(node_id: str, group: str, src: str, width: int, height: int, label: Message) -> Node:
    """An ``img`` node (a QR code as a ``data:`` URL)."""
    return Node("img", group, {"src": src, "id": node_id, "width": width, "height": height}, label=label)


def text_node(node_id: str, group: str, text: Message, label: Message) -> Node:
    """A ``text`` node showing ``text`` (a secret, a list of backup codes)."""
    return Node("text", group, {"text": text.to_dict(), "id": node_id}, label=label)


SOCIAL_GROUP = "oidc"


def social_first(nodes: list[Node]) -> list[Node]:
    """Social sign-in buttons ahead of the other nodes, each side in its order, as upstream's forms start."""
    return [n for n in nodes if n.group == SOCIAL_GROUP] + [n for n in nodes if n.group != SOCIAL_GROUP]


def csrf_node(token: str) -> Node:
    """The hidden ``csrf_token`` input (empty in API flows)."""
    return input_node("csrf_token", "default", "hidden", value=token, required=True)


@dataclass(slots=True)
class Container:
    """``ui``: where the form posts, its nodes and its flow-level messages."""

    action: str
    method: str = "POST"
    nodes: list[Node] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    def find(self, name: str) -> Node | None:
        """The first input named ``name``."""
        return next((node for node in self.nodes if node.name == name), None)

    def upsert(self, node: Node) -> None:
        """Replace the first input with ``node``'s name, or append ``node`` (methods sharing a field)."""
        for index, existing in enumerate(self.nodes):
            if existing.name is not None and existing.name == node.name:
                self.nodes[index] = node
                return
        self.nodes.append(node)

    def set_value(self, name: str, value: Any) -> None:
        """Fill in an input's value, if the form has it."""
        node = self.find(name)
        if node is not None:
            node.attributes["value"] = value

    def add_field_message(self, name: str, text: Message) -> None:
        """Attach a message to the field ``name``, adding a plain text input when the form lacks it."""
        node = self.find(name)
        if node is None:
            node = input_node(name, "default")
            buttons = [i for i, n in enumerate(self.nodes) if n.attributes.get("type") == "submit"]
            self.nodes.insert(buttons[0] if buttons else len(self.nodes), node)
        node.messages.append(text)

    def clear_messages(self) -> None:
        """Drop every message of a previous attempt."""
        self.messages = []
        for node in self.nodes:
            node.messages = []

    def to_json(self) -> dict[str, Any]:
        """The wire form; ``messages`` only when there are some, ``nodes`` null when none (as upstream)."""
        body: dict[str, Any] = {
            "action": self.action,
            "method": self.method,
            "nodes": [node.to_json() for node in self.nodes] or None,
        }
        if self.messages:
            body["messages"] = [m.to_dict() for m in self.messages]
        return body

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Container:
        """A container read back from storage."""
        return cls(
            action=data["action"],
            method=data["method"],
            nodes=[Node.from_json(node) for node in data.get("nodes") or ()],
            messages=[Message.from_dict(m) for m in data.get("messages") or ()],
        )
