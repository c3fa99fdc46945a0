"""Security keys (``webauthn``): settings, the second factor at login, and with ``passwordless`` sign-in.

As upstream, the method is offered to browser flows only. With ``config.passwordless`` off keys are second
factors (aal2 logins); with it on they sign in alone: the identifier first, then the key (and sign-up).
"""

from __future__ import annotations

import uuid
from typing import Any

from kratos.identity.credentials.webauthn import WebAuthnConfig
from kratos.identity.factors import count_first_factors
from kratos.identity.model import CredentialsType, Identity
from kratos.identity.pool import IdentityPool
from kratos.schema import IdentitySchema, SchemaRegistry
from kratos.schema.normalize import graceful_normalization
from kratos.selfservice.flow.model import Flow, FlowType
from kratos.selfservice.strategy.base import (
    ContinueInUi,
    SettingsUpdate,
    ValidationFailed,
    missing,
    text_field,
)
from kratos.selfservice.strategy.webauthn import keys
from kratos.selfservice.strategy.webauthn.ceremony import RelyingParty
from kratos.selfservice.strategy.webauthn.nodes import (
    WEBAUTHN,
    hidden_node,
    identifier_with_autofill,
    remove_node,
    script_node,
    trigger_node,
    upsert,
)
from kratos.session.model import Session
from kratos.ui.node import csrf_node, input_node, submit_node
from kratos.ui.text import message

KIND = CredentialsType.WEBAUTHN
LOGIN, REGISTER, REMOVE, DISPLAY_NAME = (
    "webauthn_login",
    "webauthn_register",
    "webauthn_remove",
    "webauthn_register_displayname",
)
_OPTIONS = "webauthn_session_options"  # registration options, kept so every render shows the same ones
_LOGIN_JS, _REGISTER_JS = "oryWebAuthnLogin", "oryWebAuthnRegistration"


class WebAuthnStrategy:
    """The ``webauthn`` method over a :class:`RelyingParty`."""

    id = "webauthn"

    def __init__(
        self,
        pool: IdentityPool,
        schemas: SchemaRegistry,
        rp: RelyingParty,
        public_base_url: str,
        *,
        passwordless: bool,
    ) -> None:
        self.pool = pool
        self.schemas = schemas
        self.rp = rp
        self.public_base_url = public_base_url
        self.passwordless = passwordless

    def claims(self, body: dict[str, Any]) -> bool:
        """``webauthn.js`` and the remove buttons post the method's own fields without ``method``."""
        return keys.carries(body, (LOGIN, REGISTER, REMOVE))

    # login: first factor (passwordless)

    def populate_login(self, flow: Flow, schema: IdentitySchema) -> None:
        """The identifier and "Sign in with a hardware key" (passwordless browser flows only)."""
        if flow.type != FlowType.BROWSER or not self.passwordless:
            return
        identifier_with_autofill(flow, schema)
        flow.ui.nodes.append(submit_node(WEBAUTHN, self.id, 1010008))

    async def login(self, flow: Flow, body: dict[str, Any], session: Session | None) -> Identity:
        """The identifier shows the key's challenge; the signed challenge signs the identity in."""
        if flow.type != FlowType.BROWSER or not (self.passwordless or session is not None):
            raise keys.not_offered()
        identifier = text_field(body, "identifier").strip()
        if not identifier:
            raise missing("identifier")
        identity = await self.pool.find_by_identifier(KIND, graceful_normalization(identifier))
        if identity is None or (session is not None and session.identity_id != identity.id):
            raise ValidationFailed(messages=[message(4000015)])
        stored = keys.stored_keys(identity, KIND)
        usable = stored.config.filtered(passwordless=None if session else True)
        if not usable:
            raise ValidationFailed(messages=[message(4000015)])
        response = text_field(body, LOGIN)
        if not response:
            self._challenge(flow, stored, usable, identifier, 1010011)
            raise ContinueInUi(messages=[message(1010012)])
        used = self.rp.verify_login(
            response, keys.ceremony(flow, self.id), usable, stored.config.user_handle, field=LOGIN
        )
        await keys.store_counter(self.pool, identity, stored, KIND, used)
        keys.forget_ceremony(flow, self.id)
        return identity

    def _challenge(
        self, flow: Flow, stored: keys.StoredKeys, usable: list[Any], identifier: str, label_id: int
    ) -> None:
        """The form asking for a key: the hidden identifier, the script and the trigger with options."""
        options = self.rp.login_options(usable, stored.config.user_handle)
        keys.keep_ceremony(flow, self.id, options)
        flow.ui.nodes = [
            csrf_node(flow.csrf_token),
            input_node("identifier", "default", "hidden", value=identifier, required=True),
            script_node(self.public_base_url),
            trigger_node(
                "webauthn_login_trigger", WEBAUTHN, _LOGIN_JS, message(label_id), options=options.to_json()
            ),
            hidden_node(LOGIN, WEBAUTHN),
        ]

    # login: second factor

    def populate_second_factor(self, flow: Flow, identity: Identity) -> None:
        """The trigger for the identity's security keys (not its passwordless ones), in browsers."""
        if flow.type != FlowType.BROWSER or self.passwordless:
            return
        stored = keys.stored_keys(identity, KIND)
        usable = stored.config.filtered(passwordless=False)
        if not usable:
            return
        options = self.rp.login_options(usable, stored.config.user_handle)
        keys.keep_ceremony(flow, self.id, options)
        if stored.identifier:
            upsert(flow, input_node("identifier", "default", "hidden", value=stored.identifier))
        upsert(flow, script_node(self.public_base_url))
        upsert(
            flow,
            trigger_node(
                "webauthn_login_trigger", WEBAUTHN, _LOGIN_JS, message(1010008), options=options.to_json()
            ),
        )
        upsert(flow, hidden_node(LOGIN, WEBAUTHN))

    async def verify_second_factor(self, flow: Flow, body: dict[str, Any], identity: Identity) -> None:
        """The signed challenge of one of the identity's security keys; its counter is stored."""
        if flow.type != FlowType.BROWSER or self.passwordless:
            raise keys.not_offered()
        if not text_field(body, "identifier").strip():
            raise missing("identifier")
        stored = keys.stored_keys(identity, KIND)
        usable = stored.config.filtered(passwordless=False)
        if not usable:
            raise ValidationFailed(messages=[message(4000013)])
        used = self.rp.verify_login(
            text_field(body, LOGIN),
            keys.ceremony(flow, self.id),
            usable,
            stored.config.user_handle,
            field=LOGIN,
        )
        await keys.store_counter(self.pool, identity, stored, KIND, used)
        keys.forget_ceremony(flow, self.id)

    # registration (passwordless)

    def populate_registration(self, flow: Flow, schema: IdentitySchema) -> None:
        """Name, "Sign up with security key" and the script, with options kept for the flow."""
        if flow.type != FlowType.BROWSER or not self.passwordless:
            return
        options = flow.internal.get(_OPTIONS)
        if not isinstance(options, str):
            issued = self.rp.registration_options(uuid.uuid4().bytes)
            keys.keep_ceremony(flow, self.id, issued)
            options = flow.internal[_OPTIONS] = issued.to_json()
        for node in (
            input_node(DISPLAY_NAME, WEBAUTHN, "text", value="", label=message(1050013)),
            _register_trigger(options, 1040004),
            script_node(self.public_base_url),
            hidden_node(REGISTER, WEBAUTHN),
        ):
            upsert(flow, node)

    async def register(self, flow: Flow, body: dict[str, Any], identity: Identity) -> None:
        """Verify the new key and make it the identity's passwordless credential."""
        if flow.type != FlowType.BROWSER or not self.passwordless:
            raise keys.not_offered()
        response = text_field(body, REGISTER)
        if not response or response == "true":
            raise missing(REGISTER)
        flow.ui.set_value(DISPLAY_NAME, text_field(body, DISPLAY_NAME))
        session = keys.ceremony(flow, self.id)
        registered = self.rp.verify_registration(
            response, session, passwordless=True, display_name=text_field(body, DISPLAY_NAME), field=REGISTER
        )
        keys.require_identifier(self._schema(identity), identity)
        config = WebAuthnConfig([registered.credential], registered.user_handle)
        identity.credentials[KIND] = keys.new_credential(KIND, config, [])
        keys.forget_ceremony(flow, self.id)
        flow.internal.pop(_OPTIONS, None)

    # settings

    def populate_settings(self, flow: Flow, identity: Identity, schema: IdentitySchema) -> None:
        """A remove button per key (not for the last passwordless one), and "Add security key"."""
        if flow.type != FlowType.BROWSER:
            return
        stored = keys.stored_keys(identity, KIND)
        first_factors = count_first_factors(identity.credentials)
        for key in stored.config.credentials:
            locked = key.is_passwordless and first_factors < 2
            flow.ui.nodes.append(remove_node(key, REMOVE, WEBAUTHN, 1050018, disabled=locked))
        options = self.rp.registration_options(identity.id.bytes, exclude=stored.config.credentials)
        keys.keep_ceremony(flow, self.id, options)
        flow.ui.nodes += [
            input_node(DISPLAY_NAME, WEBAUTHN, "text", value="", label=message(1050013)),
            hidden_node(REGISTER, WEBAUTHN),
            _register_trigger(options.to_json(), 1050012),
            script_node(self.public_base_url),
        ]

    async def update_settings(
        self, flow: Flow, body: dict[str, Any], identity: Identity, schema: IdentitySchema
    ) -> SettingsUpdate:
        """Add the key the browser created (a second factor steps the session up), or remove one."""
        if flow.type != FlowType.BROWSER:
            raise keys.not_offered()
        stored = keys.stored_keys(identity, KIND)
        if removed := text_field(body, REMOVE):
            first_factors = count_first_factors(identity.credentials)
            key = keys.remove_key(stored, removed, "WebAuthn credential")
            if key.is_passwordless and first_factors < 2:
                raise keys.lockout(REMOVE)
            keys.keep_remaining(identity, KIND, stored)
            return SettingsUpdate()
        response = text_field(body, REGISTER)
        if not response:
            raise missing(REGISTER)
        flow.ui.set_value(DISPLAY_NAME, text_field(body, DISPLAY_NAME))
        registered = self.rp.verify_registration(
            response,
            keys.ceremony(flow, self.id),
            passwordless=self.passwordless,
            display_name=text_field(body, DISPLAY_NAME),
            field=REGISTER,
        )
        if stored.config.find(registered.credential.id) is not None:
            raise keys.duplicate(REGISTER)
        keys.require_identifier(schema, identity)
        config = WebAuthnConfig([*stored.config.credentials, registered.credential], identity.id.bytes)
        if stored.credential is None:
            identity.credentials[KIND] = keys.new_credential(KIND, config, [])
        else:
            stored.credential.config = config.to_json()
            stored.credential.version = 1
        keys.forget_ceremony(flow, self.id)
        return SettingsUpdate(second_factor=not self.passwordless)

    def _schema(self, identity: Identity) -> IdentitySchema:
        return self.schemas.get(identity.schema_id) or self.schemas.default


def _register_trigger(options: str, label_id: int) -> Any:
    return trigger_node(
        "webauthn_register_trigger", WEBAUTHN, _REGISTER_JS, message(label_id), options=options
    )
