"""The code method's UI nodes, as upstream renders them."""

from __future__ import annotations

from kratos.selfservice.flow.model import Flow, FlowType
from kratos.selfservice.flow.sender import CodeAddress
from kratos.ui.node import Node, csrf_node, input_node, submit_node
from kratos.ui.text import message

GROUP = "code"
METHOD = "code"
LOGIN_CODE_LABEL = 1070013
REGISTRATION_CODE_LABEL = 1070012


def send_login_code_button() -> Node:
    """The first factor's button: "Send sign in code"."""
    return submit_node(GROUP, METHOD, 1010015)


def send_registration_code_button() -> Node:
    """The registration button: "Send sign up code"."""
    return submit_node(GROUP, METHOD, 1040006)


def address_button(address: CodeAddress) -> Node:
    """A second factor's choice of address, "Send code to <address>" (it posts ``address`` only)."""
    label = message(1010023, f"Send code to {address.to}", address=address.to, channel=address.via)
    return input_node("address", GROUP, "submit", value=address.to, label=label)


def back_to_credentials_button() -> Node:
    """The way back to the choice of credentials in two-step registration ("Back")."""
    return submit_node("profile", "credential-selection", 1040008, name="screen")


def code_form(label_id: int) -> list[Node]:
    """The code input, the method, "Continue" and "Resend code"."""
    return [
        input_node("method", GROUP, "hidden", value=METHOD),
        input_node(
            "code", GROUP, "text", required=True, autocomplete="one-time-code", label=message(label_id)
        ),
        submit_node(GROUP, METHOD, 1070009),
        submit_node(GROUP, METHOD, 1070008, name="resend"),
    ]


def login_sent_form(flow: Flow, identifier: str) -> None:
    """After a login code went out: the identifier (or the addresses) kept hidden, then the code form.

    As upstream, the address buttons of a second factor become hidden ``identifier`` inputs and the first
    of them carries the address the code went to; browsers get the CSRF token last.
    """
    kept = [node for node in flow.ui.nodes if node.name in ("identifier", "address")]
    for node in kept:
        node.attributes["type"] = "hidden"
        node.attributes["name"] = "identifier"
    if kept:
        kept[0].attributes["value"] = identifier
    else:
        kept = [input_node("identifier", "default", "hidden", value=identifier, required=True)]
    flow.ui.nodes = [*kept, *code_form(LOGIN_CODE_LABEL)]
    if flow.type == FlowType.BROWSER:
        flow.ui.nodes.append(csrf_node(flow.csrf_token))


def registration_sent_form(flow: Flow, *, two_step: bool) -> None:
    """After a registration code went out: the traits kept hidden (unless refused), then the code form."""
    kept = [
        node for node in flow.ui.nodes if node.group == "default" and node.attributes.get("type") != "submit"
    ]
    for node in kept:
        if not node.messages and node.name != "csrf_token":
            node.attributes["type"] = "hidden"
    flow.ui.nodes = [*kept, *code_form(REGISTRATION_CODE_LABEL)]
    if two_step:
        flow.ui.nodes.append(back_to_credentials_button())


_GROUP_ORDER = {"default": 0, GROUP: 1, "profile": 2}
_KEY_ORDER = {"csrf_token": 0, "identifier": 1}


def refused_code_form(flow: Flow, *, login: bool) -> None:
    """The code form as upstream shows it again after a refused code: sorted, "method" last in its group.

    A login form also carries the CSRF token (empty for apps) and a plain hidden identifier.
    """
    if login:
        if flow.ui.find("csrf_token") is None:
            flow.ui.nodes.insert(0, csrf_node(flow.csrf_token))
        for index, node in enumerate(flow.ui.nodes):
            if node.name == "identifier" and node.group == "default":
                value = node.attributes.get("value", "")
                flow.ui.nodes[index] = input_node("identifier", "default", "hidden", value=value)
    flow.ui.nodes.sort(
        key=lambda node: (
            _GROUP_ORDER.get(node.group, len(_GROUP_ORDER)),
            node.name == "method",
            _KEY_ORDER.get(node.name or "", len(_KEY_ORDER)),
        )
    )
