"""The UI nodes of the ``webauthn`` and ``passkey`` methods, in the shapes upstream renders."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from kratos.identity.credentials.webauthn import WebAuthnCredential, format_time
from kratos.schema import IdentitySchema
from kratos.selfservice.flow.model import Flow
from kratos.selfservice.strategy.profile.nodes import identifier_label
from kratos.selfservice.strategy.webauthn.script import webauthn_js_integrity, webauthn_js_url
from kratos.ui.node import Node, input_node
from kratos.ui.text import Message, message

WEBAUTHN = "webauthn"
PASSKEY = "passkey"
SCRIPT_ID = "webauthn_script"


def script_node(public_base_url: str) -> Node:
    """``webauthn_script``: the ``<script>`` loading ``webauthn.js`` (group ``webauthn`` for both methods)."""
    return Node(
        "script",
        WEBAUTHN,
        {
            "src": webauthn_js_url(public_base_url),
            "async": True,
            "referrerpolicy": "no-referrer",
            "crossorigin": "anonymous",
            "integrity": webauthn_js_integrity(),
            "type": "text/javascript",
            "id": SCRIPT_ID,
            "nonce": str(uuid.uuid4()),
        },
    )


def trigger_node(
    name: str,
    group: str,
    function: str,
    label: Message,
    *,
    options: str | None = None,
    browser: bool = True,
    value: str | None = "",
) -> Node:
    """A button calling ``window.<function>``, with ``options`` as its value and argument (``webauthn``).

    Without ``options`` the value is ``value`` (None leaves it out). API flows keep ``onclickTrigger``
    but get no ``onclick`` script, as upstream's passkey nodes.
    """
    extra: dict[str, Any] = {}
    if browser:
        extra["onclick"] = f"window.{function}({options or ''})"
    extra["onclickTrigger"] = function
    return input_node(
        name, group, "button", value=options if options is not None else value, label=label, **extra
    )


def hidden_node(name: str, group: str, value: str | None = "", **extra: Any) -> Node:
    """A hidden input the script fills (``webauthn_login``, ``passkey_register``...); None: no value."""
    return input_node(name, group, "hidden", value=value, **extra)


def remove_node(key: WebAuthnCredential, name: str, group: str, label_id: int, *, disabled: bool) -> Node:
    """The submit button removing ``key`` (value: its id in hex), labelled with its name and age."""
    shown = key.display_name or "unnamed"
    added = key.added_at.astimezone(UTC)
    template = "Remove passkey" if group == PASSKEY else "Remove security key"
    label = message(
        label_id,
        f'{template} "{shown}"',
        display_name=shown,
        added_at=format_time(added),
        added_at_unix=int((added - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()),
    )
    node = input_node(name, group, "submit", value=key.id.hex(), label=label)
    node.attributes["disabled"] = disabled
    return node


def identifier_with_autofill(flow: Flow, schema: IdentitySchema) -> None:
    """The identifier input, offering the browser's saved keys (``autocomplete="username webauthn"``)."""
    identifier = flow.ui.find("identifier")
    if identifier is not None:
        identifier.attributes["autocomplete"] = "username webauthn"
        return
    upsert(
        flow,
        input_node(
            "identifier",
            "default",
            "text",
            value="",
            required=True,
            autocomplete="username webauthn",
            label=identifier_label(schema),
        ),
    )


def upsert(flow: Flow, node: Node) -> None:
    """Replace the flow's node of the same name (or script id), else append ``node``."""
    key = node.attributes.get("name") or node.attributes.get("id")
    for index, existing in enumerate(flow.ui.nodes):
        if (existing.attributes.get("name") or existing.attributes.get("id")) == key:
            flow.ui.nodes[index] = node
            return
    flow.ui.nodes.append(node)


def drop(flow: Flow, *names: str) -> None:
    """Remove the nodes named (or with the ids) ``names``."""
    flow.ui.nodes = [
        n for n in flow.ui.nodes if (n.attributes.get("name") or n.attributes.get("id")) not in names
    ]
