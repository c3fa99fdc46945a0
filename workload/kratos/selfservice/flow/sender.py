"""Sends one-time codes and links through the courier: recovery, verification, login and registration.

An address nobody owns gets the ``*_invalid`` message when ``notify_unknown_recipients`` is on, and
nothing otherwise; the flow answers the same either way, so no one learns which addresses exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import orjson

from kratos.identity.model import Identity, utcnow
from kratos.selfservice.flow.model import Flow
from kratos.selfservice.flow.onetime import (
    Digester,
    IssuedBy,
    OneTimeSecret,
    OneTimeSecretPool,
    Purpose,
    new_code,
    new_token,
)


class EmailQueue(Protocol):
    """What the sender needs of the courier."""

    async def queue_email(self, template_type: str, recipient: str, data: Mapping[str, Any]) -> object:
        """Render and queue one email."""
        ...

    async def queue_sms(self, template_type: str, recipient: str, data: Mapping[str, Any]) -> object:
        """Render and queue one text message."""
        ...


@dataclass(frozen=True, slots=True)
class CodeAddress:
    """Where a login or registration code goes: ``via`` is ``email`` or ``sms``."""

    via: str
    to: str


@dataclass(frozen=True, slots=True)
class Challenge:
    """How a flow proves an address: a typed ``code`` or a clicked ``link`` (its ``token``)."""

    method: str
    lifespan: timedelta

    @property
    def field(self) -> str:
        """The submitted field that carries the secret."""
        return "code" if self.method == "code" else "token"

    def purpose(self, flow_kind: str) -> Purpose:
        """The purpose of this method's secrets in a recovery or verification flow."""
        return Purpose(f"{flow_kind}_{'code' if self.method == 'code' else 'link'}")

    def new_secret(self) -> str:
        """A fresh code or token."""
        return new_code() if self.method == "code" else new_token()


class AddressSender:
    """Issues one-time secrets for a flow and queues the messages that carry them."""

    def __init__(
        self,
        courier: EmailQueue,
        pool: OneTimeSecretPool,
        digester: Digester,
        public_base_url: str,
        identity_json: Any,
    ) -> None:
        self.courier = courier
        self.pool = pool
        self.digester = digester
        self.public_base_url = public_base_url.rstrip("/")
        self.identity_json = identity_json  # Identity -> its public JSON (with schema_url)

    async def issue(
        self,
        flow: Flow,
        challenge: Challenge,
        identity: Identity | None,
        address: str | None,
        *,
        expires_in: timedelta | None = None,
        issued_by: IssuedBy = IssuedBy.SELF_SERVICE,
    ) -> str:
        """Store a new secret for ``flow`` and return its plain value (for the message or the admin).

        ``identity`` is None for an identity not stored yet (registration).
        """
        purpose = challenge.purpose(flow.kind.value)
        value = challenge.new_secret()
        await self.pool.add(
            OneTimeSecret(
                purpose=purpose,
                flow_id=flow.id,
                identity_id=identity.id if identity is not None else None,
                digest=self.digester.sign(purpose, flow.id, value),
                expires_at=utcnow() + (expires_in or challenge.lifespan),
                address=address,
                issued_by=issued_by,
            )
        )
        return value

    async def use(self, flow: Flow, challenge: Challenge, value: str) -> OneTimeSecret | None:
        """The unused secret ``value`` of ``flow``, now used; None when wrong or used (expired: returned)."""
        purpose = challenge.purpose(flow.kind.value)
        return await self.pool.use(purpose, flow.id, self.digester.candidates(purpose, flow.id, value))

    def submit_url(self, flow: Flow, challenge: Challenge, value: str) -> str:
        """The public link that submits ``value`` to ``flow`` (what emails carry)."""
        query = urlencode(sorted({challenge.field: value, "flow": str(flow.id)}.items()))  # as Go orders them
        return f"{self.public_base_url}/self-service/{flow.kind.value}?{query}"

    async def send(
        self, flow: Flow, challenge: Challenge, identity: Identity | None, address: str, notify_unknown: bool
    ) -> None:
        """Send a new secret to ``address`` of ``identity``; to an unknown address, maybe a warning."""
        kind = flow.kind.value
        template = f"{kind}_code" if challenge.method == "code" else kind
        base = _base_data(flow, address)
        if identity is None:
            if notify_unknown:
                await self.courier.queue_email(f"{template}_invalid", address, base)
            return
        await self.pool.delete_for_flow(challenge.purpose(kind), flow.id)
        value = await self.issue(flow, challenge, identity, address)
        data = {
            **base,
            "Identity": self.identity_json(identity),
            "RequestURLDomain": urlsplit(flow.request_url).hostname or "",
            "ExpiresInMinutes": _minutes(challenge),
        }
        noun = "Recovery" if kind == "recovery" else "Verification"
        if challenge.method == "code":
            data[f"{noun}Code"] = value
            if kind == "verification":
                data["VerificationURL"] = self.submit_url(flow, challenge, value)
        else:
            data[f"{noun}URL"] = self.submit_url(flow, challenge, value)
        await self.courier.queue_email(f"{template}_valid", address, data)

    async def send_codes(
        self, flow: Flow, challenge: Challenge, identity: Identity, addresses: Sequence[CodeAddress]
    ) -> None:
        """Replace the codes of a login or registration flow with a new one per address, and send them.

        A registration code belongs to no stored identity yet; its templates see the traits.
        """
        kind = flow.kind.value
        registration = kind == "registration"
        await self.pool.delete_for_flow(challenge.purpose(kind), flow.id)
        for address in addresses:
            value = await self.issue(flow, challenge, None if registration else identity, address.to)
            data = {
                **_base_data(flow, address.to),
                f"{kind.capitalize()}Code": value,
                "ExpiresInMinutes": _minutes(challenge),
            }
            subject = identity.traits if registration else self.identity_json(identity)
            if address.via == "sms":
                data["Identity"] = subject
                data["RequestURLDomain"] = urlsplit(flow.request_url).hostname or ""
                await self.courier.queue_sms(f"{kind}_code_valid", address.to, data)
            else:
                data["Traits" if registration else "Identity"] = subject
                await self.courier.queue_email(f"{kind}_code_valid", address.to, data)


def _base_data(flow: Flow, address: str) -> dict[str, Any]:
    """What every template gets: the recipient, the flow's request URL and transient payload."""
    return {
        "To": address,
        "RequestURL": flow.request_url,
        "TransientPayload": flow.transient_payload if isinstance(flow.transient_payload, dict) else {},
    }


def _minutes(challenge: Challenge) -> int:
    return int(challenge.lifespan.total_seconds() // 60)


def identity_for_template(identity: Identity, schema_url: str) -> dict[str, Any]:
    """The identity as templates see it (``.Identity.traits.email``, ``index .Identity "id"``)."""
    return orjson.loads(orjson.dumps(identity.to_json(schema_url, admin=False), default=str))
