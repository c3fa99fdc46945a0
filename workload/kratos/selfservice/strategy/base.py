"""What a method offers each flow it takes part in; flows dispatch on the submitted ``method``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from kratos.identity.model import Identity
from kratos.schema import IdentitySchema
from kratos.selfservice.flow.model import Flow
from kratos.session.model import Session
from kratos.ui.text import Message


class ValidationFailed(Exception):
    """A submission the user must correct: messages for the whole form and for single fields."""

    def __init__(self, messages: Sequence[Message] = (), fields: Sequence[tuple[str, Message]] = ()) -> None:
        self.messages = list(messages)
        self.fields = list(fields)
        super().__init__("; ".join(m.text for m in [*self.messages, *(m for _, m in self.fields)]))


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
        """The identity the submission proves; :class:`ValidationFailed` otherwise."""
        ...


class SettingsStrategy(Protocol):
    """A method whose credential (or traits) a signed-in identity can change."""

    id: str

    def populate_settings(self, flow: Flow, identity: Identity, schema: IdentitySchema) -> None:
        """Add the method's nodes to a settings form."""
        ...

    async def update_settings(
        self, flow: Flow, body: dict[str, Any], identity: Identity, schema: IdentitySchema
    ) -> bool:
        """Apply the submission to ``identity`` (not stored yet); whether it needs a privileged session."""
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
