"""The provider buttons of the ``oidc`` group."""

from __future__ import annotations

from collections.abc import Iterable

from kratos.config.oidc import OidcProvider
from kratos.ui.node import Node, input_node
from kratos.ui.text import catalogue, message

GROUP = "oidc"
SIGN_IN, SIGN_UP, CONTINUE = 1010002, 1040002, 1040003
LINK, UNLINK = 1050002, 1050003


def provider_button(provider: OidcProvider, label_id: int, name: str = "provider") -> Node:
    """``<name>=<provider id>``, labelled "Sign in with <label>" (or the ``label_id`` text)."""
    label = provider.display_label
    text = catalogue()[label_id]["text"].replace("%s", label)
    context = (
        {"provider": label} if label_id in (LINK, UNLINK) else {"provider": label, "provider_id": provider.id}
    )
    if label_id == CONTINUE:
        context = {}
    return input_node(name, GROUP, "submit", value=provider.id, label=message(label_id, text, **context))


def add_buttons(nodes: list[Node], providers: Iterable[OidcProvider], label_id: int) -> None:
    """One button per provider."""
    nodes.extend(provider_button(provider, label_id) for provider in providers)
