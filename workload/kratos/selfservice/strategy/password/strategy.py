"""The password method in registration, login and settings."""

from __future__ import annotations

import logging
from typing import Any

from kratos.hash.hasher import PasswordHasher
from kratos.identity.model import Credentials, CredentialsType, Identity
from kratos.identity.pool import IdentityPool
from kratos.schema import IdentitySchema
from kratos.selfservice.flow.model import Flow
from kratos.selfservice.strategy.base import SettingsUpdate, ValidationFailed, missing, text_field
from kratos.selfservice.strategy.password.policy import PasswordPolicy
from kratos.selfservice.strategy.profile.nodes import identifier_label
from kratos.session.model import Session
from kratos.ui.node import input_node, submit_node
from kratos.ui.text import message

log = logging.getLogger(__name__)
GROUP = "password"


class PasswordStrategy:
    """Registration, login and settings by identifier and password."""

    id = "password"

    def __init__(self, pool: IdentityPool, hasher: PasswordHasher, policy: PasswordPolicy) -> None:
        self.pool = pool
        self.hasher = hasher
        self.policy = policy
        self._decoy: str | None = None

    async def _decoy_hash(self) -> str:
        """A hash made with the configured hasher, checked when the identifier is unknown.

        Both cases then cost one hash: the answer's timing does not tell whether an account exists.
        """
        if self._decoy is None:
            self._decoy = await self.hasher.hash("not the password of anyone")
        return self._decoy

    # registration

    def populate_registration(self, flow: Flow, schema: IdentitySchema) -> None:
        """The new password and the sign-up button."""
        flow.ui.nodes.append(self._new_password_node())
        flow.ui.nodes.append(submit_node(GROUP, self.id, 1040001))

    async def register(self, flow: Flow, body: dict[str, Any], identity: Identity) -> None:
        """Check the password against the policy and store its hash."""
        password = text_field(body, "password")
        if not password:
            raise missing("password")
        await self._set_password(identity, password)

    # login

    def populate_login(self, flow: Flow, schema: IdentitySchema) -> None:
        """Identifier, password and the sign-in button."""
        flow.ui.upsert(
            input_node(
                "identifier", "default", "text", value="", required=True, label=identifier_label(schema)
            )
        )
        flow.ui.nodes.append(
            input_node(
                "password",
                GROUP,
                "password",
                required=True,
                autocomplete="current-password",
                label=message(1070001),
            )
        )
        flow.ui.nodes.append(submit_node(GROUP, self.id, 1010022))

    async def login(self, flow: Flow, body: dict[str, Any], session: Session | None) -> Identity:
        """The identity whose password this is; one generic message for every failure."""
        identifier = text_field(body, "identifier").strip()
        password = text_field(body, "password")
        flow.ui.set_value("identifier", identifier)
        absent = [name for name, value in (("identifier", identifier), ("password", password)) if not value]
        if absent:
            raise missing(*absent)
        identity = await self.pool.find_by_identifier(CredentialsType.PASSWORD, identifier.lower())
        credential = identity.credentials.get(CredentialsType.PASSWORD) if identity else None
        hashed = credential.config.get("hashed_password") if credential else None
        if not hashed:
            await self.hasher.verify(password, await self._decoy_hash())
            raise ValidationFailed(messages=[message(4000006)])
        assert identity is not None
        assert credential is not None
        wrong_person = session is not None and session.identity_id != identity.id  # a refresh by someone else
        if not await self.hasher.verify(password, hashed) or wrong_person:
            raise ValidationFailed(messages=[message(4000006)])
        if self.hasher.needs_rehash(hashed):
            config = {**credential.config, "hashed_password": await self.hasher.hash(password)}
            await self.pool.update_credential_config(identity.id, CredentialsType.PASSWORD, config)
            log.info("re-hashed an imported password", extra={"identity_id": str(identity.id)})
        return identity

    # settings

    def populate_settings(self, flow: Flow, identity: Identity, schema: IdentitySchema) -> None:
        """The new password and its save button."""
        flow.ui.nodes.append(self._new_password_node())
        flow.ui.nodes.append(submit_node(GROUP, self.id, 1070003))

    async def update_settings(
        self, flow: Flow, body: dict[str, Any], identity: Identity, schema: IdentitySchema
    ) -> SettingsUpdate:
        """Replace the password; changing a credential needs a privileged session."""
        password = text_field(body, "password")
        if not password:
            raise missing("password")
        await self._set_password(identity, password)
        return SettingsUpdate()

    def _new_password_node(self) -> Any:
        return input_node(
            "password", GROUP, "password", required=True, autocomplete="new-password", label=message(1070001)
        )

    async def _set_password(self, identity: Identity, password: str) -> None:
        credential = identity.credentials.get(CredentialsType.PASSWORD)
        problem = await self.policy.problem(password, credential.identifiers if credential else [])
        if problem is not None:
            raise ValidationFailed(fields=[("password", problem)])
        config = {"hashed_password": await self.hasher.hash(password)}
        if credential is None:
            identity.credentials[CredentialsType.PASSWORD] = Credentials(
                type=CredentialsType.PASSWORD, identifiers=[], config=config, version=1
            )
        else:
            credential.config = config
