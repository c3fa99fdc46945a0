"""The code method: passwordless registration and login, and one-time codes as a second factor.

Each takes two submissions, as upstream: the first sends a 6-digit code (state ``sent_email``), the second
proves it. Codes are stored as HMACs bound to their flow, used once, and a flow takes at most
``max_submissions`` tries. The address a code reached counts as verified.
"""

from __future__ import annotations

from typing import Any

from kratos.identity.model import CredentialsType, Identity
from kratos.identity.pool import IdentityPool
from kratos.schema import IdentitySchema
from kratos.schema.normalize import graceful_normalization
from kratos.selfservice.flow.model import PASSED_CHALLENGE, SENT_EMAIL, Flow
from kratos.selfservice.flow.onetime import OneTimeSecret
from kratos.selfservice.flow.sender import AddressSender, Challenge, CodeAddress
from kratos.selfservice.strategy.base import NextStep, ValidationFailed, missing, refusal, text_field
from kratos.selfservice.strategy.code import nodes
from kratos.selfservice.strategy.profile.nodes import identifier_label
from kratos.session.model import Session
from kratos.ui.node import input_node
from kratos.ui.text import message

_TOO_OFTEN = "The request was submitted too often. Please request another code."
LOGIN_SENT, LOGIN_SENT_SIGNED_IN, REGISTRATION_SENT = 1010014, 1010025, 1040005
LOGIN_INVALID, REGISTRATION_INVALID, NO_CODE_ACCOUNT = 4010008, 4040003, 4000035


def code_addresses(identity: Identity) -> list[CodeAddress]:
    """The addresses of the identity's ``code`` credential, in the order it stores them."""
    credential = identity.credentials.get(CredentialsType.CODE)
    config: Any = credential.config if credential is not None else {}
    found = []
    for entry in (config or {}).get("addresses") or ():
        if isinstance(entry, dict) and entry.get("address"):
            found.append(CodeAddress(via=str(entry.get("channel") or "email"), to=str(entry["address"])))
    return found


class CodeStrategy:
    """Registration, login and the second factor by one-time code.

    ``passwordless`` (``code.passwordless_enabled``) offers it for registration and first-factor login,
    ``mfa`` (``code.mfa_enabled``) for ``aal=aal2`` logins; ``two_step`` says registration is profile-first.
    """

    id = "code"

    def __init__(
        self,
        pool: IdentityPool,
        sender: AddressSender,
        challenge: Challenge,
        *,
        passwordless: bool,
        mfa: bool,
        max_submissions: int,
        two_step: bool,
    ) -> None:
        self.pool = pool
        self.sender = sender
        self.challenge = challenge
        self.passwordless = passwordless
        self.mfa = mfa
        self.max_submissions = max_submissions
        self.two_step = two_step

    # registration

    def populate_registration(self, flow: Flow, schema: IdentitySchema) -> None:
        """The "Send sign up code" button."""
        flow.ui.nodes.append(nodes.send_registration_code_button())

    async def register(self, flow: Flow, body: dict[str, Any], identity: Identity) -> None:
        """Send a code to the new identity's code addresses, or check the code that came back."""
        if flow.state == PASSED_CHALLENGE:
            raise ValidationFailed(messages=[message(4010003)])
        addresses = code_addresses(identity)
        if not addresses:
            raise ValidationFailed(messages=[message(4000009)])  # the schema marks no code identifier
        if flow.state != SENT_EMAIL or body.get("resend") == "code":
            await self.sender.send_codes(flow, self.challenge, identity, addresses)
            flow.internal["code_traits"] = identity.traits
            self._sent(flow)
            nodes.registration_sent_form(flow, two_step=self.two_step)
            raise NextStep(messages=[message(REGISTRATION_SENT)])
        if identity.traits != flow.internal.get("code_traits"):
            nodes.refused_code_form(flow, login=False)
            raise ValidationFailed(messages=[message(4000036)])
        secret = await self._use(flow, body, REGISTRATION_INVALID, login=False)
        _verify(identity, secret)

    # login

    def populate_login(self, flow: Flow, schema: IdentitySchema) -> None:
        """The identifier and "Send sign in code"."""
        flow.ui.upsert(
            input_node(
                "identifier", "default", "text", value="", required=True, label=identifier_label(schema)
            )
        )
        flow.ui.nodes.append(nodes.send_login_code_button())

    async def login(self, flow: Flow, body: dict[str, Any], session: Session | None) -> Identity:
        """Send a code to the identifier's owner, or sign in with the code that came back.

        ``session`` (a refresh) fixes who may sign in: another identity's address gets nothing.
        """
        if flow.state == PASSED_CHALLENGE:
            raise ValidationFailed(messages=[message(4010002)])
        identifier = _identifier(body)
        if flow.state != SENT_EMAIL or body.get("resend") == "code":
            flow.ui.set_value("identifier", identifier)
            identity = await self._owner(identifier)
            if session is not None and identity.id != session.identity_id:
                raise ValidationFailed(messages=[message(NO_CODE_ACCOUNT)])
            chosen = [a for a in code_addresses(identity) if a.to == graceful_normalization(identifier)]
            await self._send_login_code(flow, identity, identifier, chosen or code_addresses(identity))
            sent_id = LOGIN_SENT_SIGNED_IN if session is not None else LOGIN_SENT
            raise NextStep(messages=[message(sent_id)])
        secret = await self._use(flow, body, LOGIN_INVALID, login=True)
        identity = await self.pool.get(secret.identity_id) if secret.identity_id else None
        if identity is None or (session is not None and identity.id != session.identity_id):
            raise ValidationFailed(messages=[message(LOGIN_INVALID)])
        await self._mark_verified(identity, secret)
        return identity

    async def _owner(self, identifier: str) -> Identity:
        """The identity whose code credential names ``identifier``; 4000035 when nobody's does."""
        if not identifier:
            raise missing("identifier")
        for candidate in dict.fromkeys((graceful_normalization(identifier), identifier)):
            identity = await self.pool.find_by_identifier(CredentialsType.CODE, candidate)
            if identity is not None and code_addresses(identity):
                return identity
        raise ValidationFailed(messages=[message(NO_CODE_ACCOUNT)])

    async def _send_login_code(
        self, flow: Flow, identity: Identity, identifier: str, addresses: list[CodeAddress]
    ) -> None:
        await self.sender.send_codes(flow, self.challenge, identity, addresses)
        self._sent(flow)
        nodes.login_sent_form(flow, identifier)

    # second factor

    def populate_second_factor(self, flow: Flow, identity: Identity) -> None:
        """A "Send code to <address>" button per code address of ``identity``."""
        for address in code_addresses(identity):
            flow.ui.nodes.append(nodes.address_button(address))

    def claims(self, body: dict[str, Any]) -> bool:
        """The address buttons post ``address`` without ``method``."""
        return isinstance(body.get("address"), str) and bool(body["address"])

    async def verify_second_factor(self, flow: Flow, body: dict[str, Any], identity: Identity) -> None:
        """Send a code to the chosen address of ``identity``, or check the code that came back."""
        if flow.state == PASSED_CHALLENGE:
            raise ValidationFailed(messages=[message(4010002)])
        if flow.state != SENT_EMAIL or body.get("resend") == "code":
            identifier = _identifier(body)
            chosen = [a for a in code_addresses(identity) if a.to == graceful_normalization(identifier)]
            if not chosen:
                raise ValidationFailed(messages=[message(NO_CODE_ACCOUNT)])
            await self._send_login_code(flow, identity, chosen[0].to, chosen)
            raise NextStep(messages=[message(LOGIN_SENT_SIGNED_IN)])
        secret = await self._use(flow, body, LOGIN_INVALID, login=True)
        if secret.identity_id != identity.id:
            raise ValidationFailed(messages=[message(LOGIN_INVALID)])
        await self._mark_verified(identity, secret)

    # shared

    def _sent(self, flow: Flow) -> None:
        flow.state = SENT_EMAIL
        flow.active = self.id
        flow.transient_payload = flow.transient_payload or {}  # the messages saw it, as upstream shows

    async def _use(self, flow: Flow, body: dict[str, Any], invalid_id: int, *, login: bool) -> OneTimeSecret:
        """Use the submitted code of ``flow``: counted against ``max_submissions``, then once only."""
        try:
            return await self._checked(flow, body, invalid_id)
        except ValidationFailed:
            nodes.refused_code_form(flow, login=login)
            raise

    async def _checked(self, flow: Flow, body: dict[str, Any], invalid_id: int) -> OneTimeSecret:
        code = text_field(body, "code").strip()
        if not code:
            raise missing("code")
        if await self.sender.pool.count_submission(flow.id) > self.max_submissions:
            raise refusal(_TOO_OFTEN)
        secret = await self.sender.use(flow, self.challenge, code)
        if secret is None or secret.is_expired():
            raise ValidationFailed(messages=[message(invalid_id)])
        return secret

    async def _mark_verified(self, identity: Identity, secret: OneTimeSecret) -> None:
        """The address the code reached is proven: store it verified."""
        for address in _verify(identity, secret):
            await self.pool.update_verifiable_address(address)


def _identifier(body: dict[str, Any]) -> str:
    """The submitted address (second factor) or identifier; emails lower-cased as upstream."""
    value = (text_field(body, "address") or text_field(body, "identifier")).strip()
    return value.lower() if "@" in value else value


def _verify(identity: Identity, secret: OneTimeSecret) -> list[Any]:
    """Mark the verifiable address the code went to verified (in memory); the addresses changed."""
    changed = []
    for address in identity.verifiable_addresses:
        if not address.verified and secret.address and address.value == secret.address:
            address.mark_verified()
            changed.append(address)
    return changed
