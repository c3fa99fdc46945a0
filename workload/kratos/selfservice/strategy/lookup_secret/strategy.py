"""Backup codes (``lookup_secret``): twelve single-use codes, managed in settings, used at login."""

from __future__ import annotations

import hmac
import secrets
import string
from datetime import datetime
from typing import Any

from kratos.identity.model import Credentials, CredentialsType, Identity, utcnow
from kratos.identity.pool import IdentityPool
from kratos.schema import IdentitySchema
from kratos.selfservice.flow.model import Flow
from kratos.selfservice.strategy.base import (
    SettingsUpdate,
    ValidationFailed,
    add_code_form,
    drop_value,
    flag_field,
    missing,
    refusal,
    text_field,
)
from kratos.ui.node import Node, input_node, text_node
from kratos.ui.text import Message, message

GROUP = "lookup_secret"
COUNT = 12
_ALPHABET = string.ascii_lowercase + string.digits
_REGENERATED = "lookup_secret_regenerated"  # codes shown, not confirmed yet
_REVEALED = "lookup_secret_revealed"


class LookupSecretStrategy:
    """Reveal, regenerate, confirm and disable codes in settings; one code steps a session up at login."""

    id = "lookup_secret"

    def __init__(self, pool: IdentityPool) -> None:
        self.pool = pool

    # settings

    def populate_settings(self, flow: Flow, identity: Identity, schema: IdentitySchema) -> None:
        """The buttons for the identity's state, and the codes when revealed or newly generated."""
        pending = flow.internal.get(_REGENERATED)
        codes = _codes(identity)
        if pending:
            flow.ui.nodes += [_codes_node(pending), _button("lookup_secret_confirm", 1050011)]
        elif codes and flow.internal.get(_REVEALED):
            flow.ui.nodes += [
                _codes_node(codes),
                _button("lookup_secret_disable", 1050016),
                _button("lookup_secret_regenerate", 1050008),
            ]
        elif codes:
            flow.ui.nodes += [
                _button("lookup_secret_reveal", 1050007),
                _button("lookup_secret_disable", 1050016),
            ]
        else:
            flow.ui.nodes.append(_button("lookup_secret_regenerate", 1050008))

    async def update_settings(
        self, flow: Flow, body: dict[str, Any], identity: Identity, schema: IdentitySchema
    ) -> SettingsUpdate:
        """One of the four actions; only confirming and disabling change the identity."""
        if flag_field(body, "lookup_secret_confirm"):
            pending = flow.internal.pop(_REGENERATED, None)
            if not pending or len(pending) != COUNT:
                raise refusal("You must (re-)generate recovery backup codes before you can save them.")
            identity.credentials[CredentialsType.LOOKUP_SECRET] = Credentials(
                type=CredentialsType.LOOKUP_SECRET,
                identifiers=[str(identity.id)],
                config={"recovery_codes": [{"code": c["code"], "used_at": None} for c in pending]},
            )
            flow.internal[_REVEALED] = False
            return SettingsUpdate(second_factor=True)
        if flag_field(body, "lookup_secret_reveal"):
            if not _codes(identity):
                raise refusal("Can not reveal lookup codes because you have none.")
            flow.internal[_REVEALED] = True
            return SettingsUpdate(store=False)
        if flag_field(body, "lookup_secret_regenerate"):
            flow.internal[_REGENERATED] = [{"code": _new_code(), "used_at": None} for _ in range(COUNT)]
            return SettingsUpdate(store=False)
        if flag_field(body, "lookup_secret_disable"):
            identity.credentials.pop(CredentialsType.LOOKUP_SECRET, None)
            flow.internal.pop(_REGENERATED, None)
            flow.internal[_REVEALED] = False
            return SettingsUpdate()
        raise refusal("Choose what to do with the backup codes.")

    # login (second factor)

    def populate_second_factor(self, flow: Flow, identity: Identity) -> None:
        """The code input, for identities with backup codes."""
        if _codes(identity):
            add_code_form(flow, "lookup_secret", GROUP, 1010007, 1010010)

    async def verify_second_factor(self, flow: Flow, body: dict[str, Any], identity: Identity) -> None:
        """An unused code of the identity, marked used (at most once, even by racing logins)."""
        drop_value(flow, "lookup_secret")  # a code is never shown back, as upstream
        submitted = text_field(body, "lookup_secret").strip()
        if not submitted:
            raise missing("lookup_secret")
        credential = identity.credentials.get(CredentialsType.LOOKUP_SECRET)
        codes = _codes(identity)
        match = next((c for c in codes if hmac.compare_digest(str(c.get("code", "")), submitted)), None)
        if credential is None or match is None:
            raise ValidationFailed(messages=[message(4000016)])
        if match.get("used_at"):
            raise ValidationFailed(messages=[message(4000012)])
        match["used_at"] = utcnow().replace(microsecond=0).isoformat().replace("+00:00", "Z")
        config = {**credential.config, "recovery_codes": codes}
        if not await self.pool.update_credential_config(
            identity.id, CredentialsType.LOOKUP_SECRET, config, unchanged_since=credential.updated_at
        ):  # another login changed the codes meanwhile: this one may have been used there
            raise ValidationFailed(messages=[message(4000012)])


def _codes(identity: Identity) -> list[dict[str, Any]]:
    credential = identity.credentials.get(CredentialsType.LOOKUP_SECRET)
    config = credential.config if credential and isinstance(credential.config, dict) else {}
    codes = config.get("recovery_codes")
    return [c for c in codes if isinstance(c, dict)] if isinstance(codes, list) else []


def _new_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(8))


def _button(name: str, label_id: int) -> Node:
    return input_node(name, GROUP, "submit", value="true", label=message(label_id))


def _codes_node(codes: list[dict[str, Any]]) -> Node:
    """The codes as upstream lists them: unused ones by value, used ones as "used" with the time."""
    shown: list[Message] = []
    for code in codes:
        used = code.get("used_at")
        if used:
            at = datetime.fromisoformat(str(used).replace("Z", "+00:00"))
            text = f"Secret was used at {at.strftime('%Y-%m-%d %H:%M:%S')} +0000 UTC"
            shown.append(message(1050014, text, used_at=str(used), used_at_unix=int(at.timestamp())))
        else:
            shown.append(message(1050009, code["code"], secret=code["code"]))
    listed = ", ".join("used" if c.get("used_at") else str(c["code"]) for c in codes)
    secrets_json = [m.to_dict() for m in shown]
    return text_node(
        "lookup_secret_codes", GROUP, message(1050015, listed, secrets=secrets_json), message(1050010)
    )
