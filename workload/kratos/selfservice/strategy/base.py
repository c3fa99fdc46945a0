"""What a method offers each flow it takes part in; flows dispatch on the submitted ``method``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from starlette.requests import Request
from starlette.responses import Response

from kratos.identity.model import Identity
from kratos.schema import IdentitySchema
from kratos.selfservice.flow.model import Flow
from kratos.session.model import Session
from kratos.ui.node import input_node, submit_node
from kratos.ui.text import Message, message


class ValidationFailed(Exception):
    """A submission the user must correct: messages for the whole form and for single fields."""

    def __init__(self, messages: Sequence[Message] = (), fields: Sequence[tuple[str, Message]] = ()) -> None:
        self.messages = list(messages)
        self.fields = list(fields)
        super().__init__("; ".join(m.text for m in [*self.messages, *(m for _, m in self.fields)]))


def missing(*names: str) -> ValidationFailed:
    """The submission lacks the required fields ``names`` (4000002 on each)."""
    return ValidationFailed(
        fields=[(name, message(4000002, f"Property {name} is missing.", property=name)) for name in names]
    )


def refusal(reason: str) -> ValidationFailed:
    """A submission refused as a whole, with ``reason`` (4000001)."""
    return ValidationFailed(messages=[message(4000001, reason, reason=reason)])


def text_field(body: dict[str, Any], name: str) -> str:
    """The submitted string ``name`` ('' when absent or not a string)."""
    value = body.get(name)
    return value if isinstance(value, str) else ""


def flag_field(body: dict[str, Any], name: str) -> bool:
    """Whether the submitted ``name`` is true (JSON ``true`` or the form value ``"true"``)."""
    value = body.get(name)
    return value is True or (isinstance(value, str) and value.lower() == "true")


def add_code_form(
    flow: Flow, field: str, group: str, label_id: int, button_id: int, value: str | None = ""
) -> None:
    """A one-field form of a method: the code input (``value`` None leaves it out) and its button."""
    flow.ui.nodes.append(
        input_node(field, group, "text", value=value, required=True, label=message(label_id))
    )
    flow.ui.nodes.append(submit_node(group, group, button_id))


def drop_value(flow: Flow, name: str) -> None:
    """Leave the value out of input ``name`` (a submitted secret is not shown back)."""
    found = flow.ui.find(name)
    if found is not None:
        found.attributes.pop("value", None)


class NextStep(ValidationFailed):
    """The method took the flow on to its next step (a code was sent): store and show the flow.

    Apps and SPAs get the flow with 400 and browsers go back to the UI with 303, as upstream answers
    when a method needs another submission; ``messages`` are the flow's new messages.
    """


class ContinueInUi(NextStep):
    """The method changed the form (a security key's challenge is ready): show the flow again.

    Browsers go to the UI with 303; JSON clients get 422 ``browser_location_change_required``, as upstream.
    """


class Handover(Exception):
    """The method answers the submission itself (a trip to a provider, a sign-in it completed).

    The flow, as the method left it, is stored first.
    """

    def __init__(self, respond: Callable[[Request, Flow], Awaitable[Response]]) -> None:
        super().__init__("the method answers the submission itself")
        self.respond = respond


class RegistrationStrategy(Protocol):
    """A method that can create an identity's credential at registration."""

    id: str

    def populate_registration(self, flow: Flow, schema: IdentitySchema) -> None:
        """Add the method's nodes to a registration form."""
        ...

    async def register(self, flow: Flow, body: dict[str, Any], identity: Identity) -> None:
        """Set the new identity's credential from the submission; :class:`ValidationFailed` if unusable."""
        ...


class LoginStrategy(Protocol):
    """A method that can authenticate an identity."""

    id: str

    def populate_login(self, flow: Flow, schema: IdentitySchema) -> None:
        """Add the method's nodes to a login form."""
        ...

    async def login(self, flow: Flow, body: dict[str, Any], session: Session | None) -> Identity:
        """The identity the submission proves, with all its credentials; else :class:`ValidationFailed`."""
        ...


@dataclass(frozen=True, slots=True)
class SettingsUpdate:
    """What a settings submission did."""

    privileged: bool = True
    """The change needs a privileged (recently authenticated) session."""
    store: bool = True
    """The identity changed and is stored; False shows the form again (backup codes revealed, ...)."""
    second_factor: bool = False
    """The change proved a second factor (a TOTP app or backup codes set up): the session gains aal2."""
    handover: Handover | None = None
    """The change continues elsewhere (linking a social sign-in provider): answered by the method."""


class SettingsStrategy(Protocol):
    """A method whose credential (or traits) a signed-in identity can change."""

    id: str

    def populate_settings(self, flow: Flow, identity: Identity, schema: IdentitySchema) -> None:
        """Add the method's nodes to a settings form."""
        ...

    async def update_settings(
        self, flow: Flow, body: dict[str, Any], identity: Identity, schema: IdentitySchema
    ) -> SettingsUpdate:
        """Apply the submission to ``identity`` (not stored yet); :class:`ValidationFailed` if unusable."""
        ...


class SecondFactorStrategy(Protocol):
    """A method that steps a signed-in session up to aal2 (TOTP, backup codes, security keys, codes)."""

    id: str

    def populate_second_factor(self, flow: Flow, identity: Identity) -> None:
        """Add the method's nodes to an aal2 login form, if ``identity`` has this method set up."""
        ...

    async def verify_second_factor(self, flow: Flow, body: dict[str, Any], identity: Identity) -> None:
        """Check the submission proves the second factor of ``identity``; :class:`ValidationFailed` if not."""
        ...


@runtime_checkable
class ClaimsUnnamed(Protocol):
    """A method whose buttons may post no ``method`` (the code method's "Send code to ..." buttons)."""

    def claims(self, body: dict[str, Any]) -> bool:
        """Whether a submission without ``method`` is for this method."""
        ...


@runtime_checkable
class OnFirstScreen(Protocol):
    """A method whose buttons are on the first screen of two-step forms too (social sign-in)."""

    def keep_linked(self, flow: Flow, identity: Identity) -> None:
        """On the identified second screen, keep only what ``identity`` can use."""
        ...


S = TypeVar("S")


def chosen(strategies: Mapping[str, S], body: dict[str, Any]) -> S | None:
    """The strategy the submission's ``method`` names, else the one that claims a submission without one.

    ``webauthn.js`` submits forms without ``method`` (``webauthn_login``, ``passkey_register``...), and so
    do the code method's "Send code to ..." buttons.
    """
    method = body.get("method")
    if isinstance(method, str):
        return strategies.get(method)
    return next((s for s in strategies.values() if isinstance(s, ClaimsUnnamed) and s.claims(body)), None)
