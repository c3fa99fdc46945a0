"""Passkeys: sign-up with a discoverable credential, sign-in by the returned user handle, settings.

A passkey credential's identifiers are the user handles its keys were created with (64 random
alphanumerics each, as upstream): a login finds the identity by the handle the authenticator returns.
API flows get the same nodes without the script and the ``onclick``/``onload`` code, as upstream v26.2.0
renders them for native apps.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from kratos.identity.credentials.webauthn import WebAuthnConfig
from kratos.identity.factors import count_first_factors
from kratos.identity.model import CredentialsType, Identity
from kratos.identity.pool import IdentityPool
from kratos.schema import IdentitySchema
from kratos.selfservice.flow.model import Flow, FlowType
from kratos.selfservice.strategy.base import SettingsUpdate, ValidationFailed, missing, text_field
from kratos.selfservice.strategy.profile.nodes import trait_fields
from kratos.selfservice.strategy.webauthn import keys
from kratos.selfservice.strategy.webauthn.ceremony import RelyingParty, go_json
from kratos.selfservice.strategy.webauthn.errors import Refusal, login_refused
from kratos.selfservice.strategy.webauthn.nodes import (
    PASSKEY,
    hidden_node,
    identifier_with_autofill,
    remove_node,
    script_node,
    trigger_node,
    upsert,
)
from kratos.selfservice.strategy.webauthn.response import parse_assertion
from kratos.session.model import Session
from kratos.ui.node import Node
from kratos.ui.text import message

KIND = CredentialsType.PASSKEY
LOGIN, REGISTER, SETTINGS_REGISTER, REMOVE = (
    "passkey_login",
    "passkey_register",
    "passkey_settings_register",
    "passkey_remove",
)
CREATE_DATA, CHALLENGE = "passkey_create_data", "passkey_challenge"
_OPTIONS = "passkey_session_options"  # the registration's create data, the same on every render
_HANDLE_ALPHABET = string.ascii_letters + string.digits


def new_user_handle() -> bytes:
    """A passkey user handle: 64 random alphanumerics, as upstream makes them."""
    return "".join(secrets.choice(_HANDLE_ALPHABET) for _ in range(64)).encode("ascii")


def display_name_fields(schema: IdentitySchema) -> list[str]:
    """The traits a passkey is named after, as upstream picks them.

    Those marked ``passkey.display_name`` or ``webauthn.identifier`` (sorted), else the first untitled trait.
    """
    marked = []
    untitled = []
    for name, field, _ in trait_fields(schema):
        credentials = field.get("ory.sh/kratos", {}).get("credentials", {})
        if credentials.get("passkey", {}).get("display_name") or credentials.get("webauthn", {}).get(
            "identifier"
        ):
            marked.append(name)
        elif not field.get("title"):
            untitled.append(name)
    return sorted(marked) or untitled[:1]


class PasskeyStrategy:
    """The ``passkey`` method over a :class:`RelyingParty` with discoverable credentials."""

    id = "passkey"

    def __init__(self, pool: IdentityPool, rp: RelyingParty, public_base_url: str) -> None:
        self.pool = pool
        self.rp = rp
        self.public_base_url = public_base_url

    def claims(self, body: dict[str, Any]) -> bool:
        """``webauthn.js`` and the remove buttons post the method's own fields without ``method``."""
        return keys.carries(body, (LOGIN, REGISTER, SETTINGS_REGISTER, REMOVE))

    # registration

    def populate_registration(self, flow: Flow, schema: IdentitySchema) -> None:
        """``passkey_create_data`` with the options, "Sign up with passkey", the script."""
        data = flow.internal.get(_OPTIONS)
        if not isinstance(data, str):
            fields = display_name_fields(schema)
            if not fields:  # upstream leaves the method out of a schema without a name for passkeys
                return
            issued = self.rp.registration_options(new_user_handle())
            keys.keep_ceremony(flow, self.id, issued)
            data = flow.internal[_OPTIONS] = go_json(
                {
                    "credentialOptions": issued.options,
                    "displayNameFieldName": fields[0],
                    "displayNameFieldNames": fields,
                }
            )
        browser = flow.type == FlowType.BROWSER
        for node in (
            hidden_node(CREATE_DATA, PASSKEY, data),
            trigger_node(
                "passkey_register_trigger",
                PASSKEY,
                "oryPasskeyRegistration",
                message(1040007),
                browser=browser,
                value=None,
            ),
            *self._script(flow),
            hidden_node(REGISTER, PASSKEY, None),
        ):
            upsert(flow, node)

    async def register(self, flow: Flow, body: dict[str, Any], identity: Identity) -> None:
        """Verify the passkey; its user handle becomes the credential's identifier."""
        response = text_field(body, REGISTER)
        if not response or response == "true":  # the React SDK posts "true" for an empty value
            raise missing(REGISTER)
        registered = self.rp.verify_registration(
            response, keys.ceremony(flow, self.id), passwordless=True, field=REGISTER
        )
        handle = registered.user_handle
        config = WebAuthnConfig([registered.credential], handle)
        identity.credentials[KIND] = keys.new_credential(KIND, config, [handle.decode("ascii", "replace")])
        keys.forget_ceremony(flow, self.id)
        flow.internal.pop(_OPTIONS, None)

    # login

    def populate_login(self, flow: Flow, schema: IdentitySchema) -> None:
        """The identifier (for autofill), a discoverable challenge and "Sign in with passkey"."""
        identifier_with_autofill(flow, schema)
        options = self.rp.discoverable_login_options()
        keys.keep_ceremony(flow, self.id, options)
        browser = flow.type == FlowType.BROWSER
        autocomplete = {"onload": "window.oryPasskeyLoginAutocompleteInit()"} if browser else {}
        for node in (
            hidden_node(CHALLENGE, PASSKEY, options.to_json()),
            *self._script(flow),
            hidden_node(
                LOGIN, PASSKEY, None, **autocomplete, onloadTrigger="oryPasskeyLoginAutocompleteInit"
            ),
            trigger_node(
                "passkey_login_trigger", PASSKEY, "oryPasskeyLogin", message(1010021), browser=browser
            ),
        ):
            upsert(flow, node)

    async def login(self, flow: Flow, body: dict[str, Any], session: Session | None) -> Identity:
        """The identity whose passkey signed the flow's challenge, found by the returned user handle."""
        response = text_field(body, LOGIN)
        if not response:
            raise missing(LOGIN)
        parsed = parse_assertion(response, LOGIN)
        handle = parsed.user_handle
        if not handle:
            raise login_refused(Refusal.USER_HANDLE, "a discoverable login returned no user handle", LOGIN)
        identity = await self.pool.find_by_identifier(KIND, handle.decode("utf-8", "replace"))
        if identity is None or (session is not None and session.identity_id != identity.id):
            raise ValidationFailed(messages=[message(4000015)])
        stored = keys.stored_keys(identity, KIND)
        used = self.rp.verify_login(
            parsed, keys.ceremony(flow, self.id), stored.config.credentials, handle, field=LOGIN
        )
        await keys.store_counter(self.pool, identity, stored, KIND, used)
        keys.forget_ceremony(flow, self.id)
        return identity

    # settings

    def populate_settings(self, flow: Flow, identity: Identity, schema: IdentitySchema) -> None:
        """A remove button per passkey (none while it is the last first factor), and "Add passkey"."""
        stored = keys.stored_keys(identity, KIND)
        locked = count_first_factors(identity.credentials) < 2
        for key in stored.config.credentials:
            flow.ui.nodes.append(remove_node(key, REMOVE, PASSKEY, 1050020, disabled=locked))
        found = keys.traits_extension(schema, identity.traits)
        name = found.passkey_display_name or next(iter(found.credential_identifiers.get("webauthn", ())), "")
        if not name:
            flow.ui.messages.append(message(4000009))
            return
        options = self.rp.registration_options(
            new_user_handle(), user_name=name, exclude=stored.config.credentials
        )
        keys.keep_ceremony(flow, self.id, options)
        flow.ui.nodes += [
            *self._script(flow),
            trigger_node(
                "passkey_register_trigger",
                PASSKEY,
                "oryPasskeySettingsRegistration",
                message(1050019),
                browser=flow.type == FlowType.BROWSER,
            ),
            hidden_node(SETTINGS_REGISTER, PASSKEY, None),
            hidden_node(CREATE_DATA, PASSKEY, options.to_json()),
        ]

    async def update_settings(
        self, flow: Flow, body: dict[str, Any], identity: Identity, schema: IdentitySchema
    ) -> SettingsUpdate:
        """Add the passkey the browser created (with its own user handle), or remove one."""
        stored = keys.stored_keys(identity, KIND)
        if removed := text_field(body, REMOVE):
            first_factors = count_first_factors(identity.credentials)
            keys.remove_key(stored, removed, "passkey")
            if first_factors < 2:
                raise keys.lockout(REMOVE)
            keys.keep_remaining(identity, KIND, stored)
            return SettingsUpdate()
        response = text_field(body, SETTINGS_REGISTER)
        if not response:
            raise missing(SETTINGS_REGISTER)
        registered = self.rp.verify_registration(
            response, keys.ceremony(flow, self.id), passwordless=True, field=SETTINGS_REGISTER
        )
        if stored.config.find(registered.credential.id) is not None:
            raise keys.duplicate(SETTINGS_REGISTER)
        handle = registered.user_handle
        config = WebAuthnConfig([*stored.config.credentials, registered.credential], handle)
        identifier = handle.decode("ascii", "replace")
        if stored.credential is None:
            identity.credentials[KIND] = keys.new_credential(KIND, config, [identifier])
        else:
            stored.credential.config = config.to_json()
            stored.credential.identifiers = [*stored.credential.identifiers, identifier]
        keys.forget_ceremony(flow, self.id)
        return SettingsUpdate()

    def _script(self, flow: Flow) -> list[Node]:
        """The ``webauthn.js`` script node, for browser flows only."""
        return [script_node(self.public_base_url)] if flow.type == FlowType.BROWSER else []
