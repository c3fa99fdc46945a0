"""TOTP (RFC 6238) in settings (set up, unlink) and as a second factor at login."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import segno
from pyotp import random_base32
from pyotp.totp import TOTP
from pyotp.utils import strings_equal

from kratos.identity.model import Credentials, CredentialsType, Identity
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
from kratos.ui.node import image_node, input_node, submit_node, text_node
from kratos.ui.text import message

GROUP = "totp"
PERIOD = 30
_PENDING = "totp_url"  # the key being set up, kept in the settings flow until it is confirmed


class TotpStrategy:
    """Authenticator apps: six digits every 30 seconds from a 160-bit secret, one step of clock skew."""

    id = "totp"

    def __init__(self, pool: IdentityPool, issuer: str) -> None:
        self.pool = pool
        self.issuer = issuer

    # settings

    def populate_settings(self, flow: Flow, identity: Identity, schema: IdentitySchema) -> None:
        """Unlink for an identity with an app; otherwise a new key as QR code and text, and its check."""
        if _totp_url(identity):
            flow.ui.nodes.append(
                input_node(
                    "totp_unlink", GROUP, "submit", value="true", required=True, label=message(1050004)
                )
            )
            return
        url = flow.internal.get(_PENDING) or self._new_key(identity, schema)
        flow.internal[_PENDING] = url
        secret = _parse(url).secret
        qr = segno.make_qr(url, error="m").png_data_uri(scale=6, border=2)
        flow.ui.nodes.append(image_node("totp_qr", GROUP, qr, 256, 256, message(1050005)))
        flow.ui.nodes.append(
            text_node("totp_secret_key", GROUP, message(1050006, secret, secret=secret), message(1050017))
        )
        flow.ui.nodes.append(input_node("totp_code", GROUP, "text", required=True, label=message(1070006)))
        flow.ui.nodes.append(submit_node(GROUP, self.id, 1070003))

    async def update_settings(
        self, flow: Flow, body: dict[str, Any], identity: Identity, schema: IdentitySchema
    ) -> SettingsUpdate:
        """Confirm the pending key with a code (the session gains aal2), or unlink the app."""
        if _totp_url(identity):
            if not flag_field(body, "totp_unlink"):
                return SettingsUpdate(store=False)
            del identity.credentials[CredentialsType.TOTP]
            return SettingsUpdate()
        url = flow.internal.get(_PENDING)
        if not url:
            raise refusal("Reload the form to set up a new app.")
        code = text_field(body, "totp_code").strip()
        if not code:
            raise missing("totp_code")
        totp = _parse(url)
        if not totp.verify(code, valid_window=1):
            raise ValidationFailed(fields=[("totp_code", message(4000008))])
        identity.credentials[CredentialsType.TOTP] = Credentials(
            type=CredentialsType.TOTP,
            identifiers=[str(identity.id)],
            config={"totp_url": url, "last_step": _matching_step(totp, code)},
        )
        del flow.internal[_PENDING]
        return SettingsUpdate(second_factor=True)

    def _new_key(self, identity: Identity, schema: IdentitySchema) -> str:
        """A new key's ``otpauth://`` URL, named by the schema's ``totp.account_name`` trait."""
        try:
            account = schema.extract(identity.traits).totp_account_name
        except Exception:  # traits that no longer validate: fall back to the id, as upstream
            account = None
        return TOTP(random_base32(32), interval=PERIOD).provisioning_uri(
            name=str(account or identity.id), issuer_name=self.issuer
        )

    # login (second factor)

    def populate_second_factor(self, flow: Flow, identity: Identity) -> None:
        """The code input, for identities with an app."""
        if _totp_url(identity):
            add_code_form(flow, "totp_code", GROUP, 1010006, 1010009)

    async def verify_second_factor(self, flow: Flow, body: dict[str, Any], identity: Identity) -> None:
        """The current code (one step of skew); a code already used is refused like a wrong one."""
        drop_value(flow, "totp_code")  # a code is never shown back, as upstream
        credential = identity.credentials.get(CredentialsType.TOTP)
        url = _totp_url(identity)
        if credential is None or not url:
            raise ValidationFailed(messages=[message(4000008)])
        code = text_field(body, "totp_code").strip()
        if not code:
            raise missing("totp_code")
        if len(code) < 6:
            short = message(
                4000003, f"length must be >= 6, but got {len(code)}", actual_length=len(code), min_length=6
            )
            raise ValidationFailed(fields=[("totp_code", short)])
        totp = _parse(url)
        step = _matching_step(totp, code)
        if step is None or step <= int(credential.config.get("last_step") or 0):
            raise ValidationFailed(messages=[message(4000008)])
        config = {**credential.config, "last_step": step}
        if not await self.pool.update_credential_config(
            identity.id, CredentialsType.TOTP, config, unchanged_since=credential.updated_at
        ):  # another login used a code of this app meanwhile
            raise ValidationFailed(messages=[message(4000008)])
        credential.config = config


def _matching_step(totp: TOTP, code: str) -> int | None:
    """The time step (of now, one before or one after) whose code is ``code``."""
    now = int(time.time()) // totp.interval
    for step in (now, now - 1, now + 1):
        if strings_equal(code, totp.generate_otp(step)):
            return step
    return None


def _parse(url: str) -> TOTP:
    """The TOTP of an ``otpauth://totp/`` URL (ours, or one upstream stored)."""
    query = parse_qs(urlsplit(url).query)
    digits = int((query.get("digits") or ["6"])[0])
    period = int((query.get("period") or [str(PERIOD)])[0])
    return TOTP((query.get("secret") or [""])[0], digits=digits, interval=period)


def _totp_url(identity: Identity) -> str:
    credential = identity.credentials.get(CredentialsType.TOTP)
    url = credential.config.get("totp_url") if credential and isinstance(credential.config, dict) else None
    return url if isinstance(url, str) and url.startswith("otpauth://") else ""
