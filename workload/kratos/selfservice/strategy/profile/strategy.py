"""The profile method: the traits step of a two-step registration, and profile settings."""

from __future__ import annotations

from typing import Any

from kratos.identity.model import Identity
from kratos.schema import IdentitySchema, TraitsValidationError
from kratos.selfservice.flow.model import Flow
from kratos.selfservice.strategy.base import SettingsUpdate
from kratos.selfservice.strategy.profile.nodes import coerce_traits, trait_nodes
from kratos.ui.node import submit_node

GROUP = "profile"


class ProfileStrategy:
    """Traits: the first screen of ``profile_first`` registration, and the profile settings form."""

    id = "profile"

    def populate_registration(self, flow: Flow, schema: IdentitySchema) -> None:
        """The traits (in the default group) and the button that continues to the credentials."""
        flow.ui.nodes.extend(trait_nodes(schema, "default"))
        flow.ui.nodes.append(submit_node(GROUP, self.id, 1040001))

    def populate_settings(self, flow: Flow, identity: Identity, schema: IdentitySchema) -> None:
        """The identity's traits and a save button."""
        flow.ui.nodes.extend(trait_nodes(schema, GROUP, identity.traits))
        flow.ui.nodes.append(submit_node(GROUP, self.id, 1070003))

    async def update_settings(
        self, flow: Flow, body: dict[str, Any], identity: Identity, schema: IdentitySchema
    ) -> SettingsUpdate:
        """Take the submitted traits; changing an identifier or address needs a privileged session."""
        before = _protected(schema, identity.traits)
        identity.traits = coerce_traits(schema, body.get("traits", identity.traits), body)
        return SettingsUpdate(privileged=_protected(schema, identity.traits) != before)


def _protected(schema: IdentitySchema, traits: Any) -> Any:
    """The identifiers and addresses the schema derives from ``traits`` (None when they do not validate)."""
    try:
        found = schema.extract(traits)
    except TraitsValidationError:
        return None
    return (
        sorted((kind, tuple(ids)) for kind, ids in found.credential_identifiers.items()),
        list(found.verifiable_addresses),
        list(found.recovery_addresses),
    )
