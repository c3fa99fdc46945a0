"""What recovery and verification share: ask for an address, send it a code or link, take the secret back.

States as upstream: ``choose_method`` -> ``sent_email`` -> ``passed_challenge``. A wrong, used or expired
secret, and an unknown address, answer like the right one would as far as the address goes: nothing tells
an attacker which addresses exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kratos.http.errors import BadRequest
from kratos.identity.model import Identity
from kratos.identity.pool import AddressKind, IdentityPool
from kratos.schema.normalize import normalize_email
from kratos.selfservice.flow.context import FlowContext, error_json, json, redirect, wants_json
from kratos.selfservice.flow.endpoints import FlowEndpoints
from kratos.selfservice.flow.model import PASSED_CHALLENGE, SENT_EMAIL, Flow, FlowType
from kratos.selfservice.flow.onetime import OneTimeSecret
from kratos.selfservice.flow.sender import AddressSender, Challenge
from kratos.selfservice.hook.executor import FlowHooks
from kratos.selfservice.strategy.base import ValidationFailed
from kratos.session.model import Session
from kratos.ui.node import Node, csrf_node, input_node, submit_node
from kratos.ui.text import Message, message

SENT, PASSED = SENT_EMAIL, PASSED_CHALLENGE
_TOO_OFTEN = "The request was submitted too often. Please request another code."


class AddressFlowEndpoints(FlowEndpoints):
    """Recovery and verification; subclasses say what a proven address leads to (:meth:`passed`)."""

    address_kind: AddressKind
    #: message ids: sent by code, sent by link, invalid code, invalid link, already done, no such method
    sent_ids: dict[str, int]
    invalid_ids: dict[str, int]
    retry_success_id: int
    no_strategy_id: int
    code_label_id: int

    def __init__(
        self,
        context: FlowContext,
        ui_url: str,
        lifespan: timedelta,
        hooks: FlowHooks,
        *,
        challenge: Challenge,
        also: Sequence[Challenge] = (),
        sender: AddressSender,
        identities: IdentityPool,
        notify_unknown: bool,
        max_submissions: int,
    ) -> None:
        super().__init__(context, ui_url, lifespan, hooks)
        self.challenge = challenge
        # Secrets of ``also`` still work in flows that use them (an administrator's recovery code or link).
        self.challenges = {other.method: other for other in also} | {challenge.method: challenge}
        self.sender = sender
        self.identities = identities
        self.notify_unknown = notify_unknown
        self.max_submissions = max_submissions

    # the form

    async def populate(self, flow: Flow, session: Session | None) -> None:
        """The address form."""
        flow.active = self.challenge.method
        self.address_form(flow)

    def address_form(self, flow: Flow, value: str | None = None) -> None:
        """``email`` and the method's button, after the CSRF token."""
        group = self.challenge.method
        csrf = flow.ui.find("csrf_token")
        flow.ui.nodes = [
            *([csrf] if csrf else []),
            input_node("email", group, "email", value=value, required=True, label=message(1070007)),
            submit_node(group, group, 1070009),
        ]

    def code_form(self, flow: Flow, address: str) -> None:
        """After a code was sent: the code input, the method, and a button to send another."""
        flow.ui.nodes = [
            flow.ui.find("csrf_token") or csrf_node(flow.csrf_token),
            self.code_input(),
            input_node("method", "code", "hidden", value="code"),
            submit_node("code", "code", 1070009),
            submit_node("code", address, 1070008, name="email"),
        ]

    def code_input(self) -> Node:
        """The one-time code field."""
        return input_node(
            "code",
            "code",
            "text",
            required=True,
            autocomplete="one-time-code",
            label=message(self.code_label_id),
            **self.code_attributes(),
        )

    def code_attributes(self) -> dict[str, Any]:
        """Extra attributes of the code input (recovery restricts it to six digits)."""
        return {}

    # submissions

    async def read_body(self, request: Request) -> dict[str, Any]:
        """Links in emails submit by ``GET`` with the secret in the query."""
        if request.method == "GET":
            return {key: value for key, value in request.query_params.items() if key != "flow"}
        return await super().read_body(request)

    def needs_csrf(self, request: Request, flow: Flow) -> bool:
        """A clicked link proves itself by its secret; admin-made flows carry no CSRF token."""
        return request.method != "GET" and not flow.internal.get("skip_csrf")

    async def complete(
        self, request: Request, flow: Flow, body: dict[str, Any], session: Session | None
    ) -> Response:
        """Send a secret to the submitted address, or check the submitted secret."""
        challenge = self.challenges.get(flow.active or "", self.challenge)
        secret = body.get(challenge.field)
        method = body.get("method") or (challenge.method if secret else None)
        if method != challenge.method:
            return await self.fail(request, flow, message(self.no_strategy_id))
        if flow.state == PASSED:  # done already: a new flow to start again from, as upstream
            return await self.fail(
                request, await self.replacement(request, flow, session), message(self.retry_success_id)
            )
        flow.transient_payload = body.get("transient_payload") or {}
        email = body.get("email")
        if secret and not email:
            return await self.use_secret(request, flow, challenge, str(secret), session)
        if not isinstance(email, str) or not email.strip():
            raise ValidationFailed(
                fields=[("email", message(4000002, "Property email is missing.", property="email"))]
            )
        await self.before_send(request, flow, session)
        address = normalize_email(email)
        owner = await self.identities.find_by_address(self.address_kind, "email", address)
        await self.sender.send(flow, self.challenge, owner, address, self.notify_unknown)
        await self.mark_sent(flow, address)
        return self.show(request, flow)

    async def before_send(self, request: Request, flow: Flow, session: Session | None) -> None:
        """A check before anything is sent (recovery refuses signed-in browsers)."""

    async def mark_sent(self, flow: Flow, address: str, message_id: int | None = None) -> None:
        """Move ``flow`` to ``sent_email`` with the method's next form, and store it."""
        flow.state = SENT
        flow.active = self.challenge.method
        if self.challenge.method == "code":
            self.code_form(flow, address)
        else:
            self.address_form(flow, address)
        flow.ui.messages = [message(message_id or self.sent_ids[self.challenge.method])]
        await self.context.flows.update(flow)

    async def use_secret(
        self, request: Request, flow: Flow, challenge: Challenge, value: str, session: Session | None
    ) -> Response:
        """Check a code or token; at most ``max_submissions`` tries per flow."""
        if await self.sender.pool.count_submission(flow.id) > self.max_submissions:
            return await self.fail(request, flow, message(4000001, _TOO_OFTEN, reason=_TOO_OFTEN))
        secret = await self.sender.use(flow, challenge, value)
        if secret is None or secret.is_expired():
            return await self.fail(request, flow, message(self.invalid_ids[challenge.method]))
        return await self.passed(request, flow, challenge, secret, session)

    async def passed(
        self,
        request: Request,
        flow: Flow,
        challenge: Challenge,
        secret: OneTimeSecret,
        session: Session | None,
    ) -> Response:
        """The address is proven."""
        raise NotImplementedError

    async def replacement(self, request: Request, flow: Flow, session: Session | None) -> Flow:
        """A new flow of the same type in place of a finished one (keeping the browser's CSRF token)."""
        fresh = await self.new_flow(request, flow.type, session)
        fresh.csrf_token = flow.csrf_token
        fresh.ui.set_value("csrf_token", flow.csrf_token)
        await self.context.flows.create(fresh)
        return fresh

    async def fail(self, request: Request, flow: Flow, text: Message) -> Response:
        """Show the flow again with ``text`` (200 for apps, as upstream; back to the UI for browsers)."""
        flow.ui.clear_messages()
        flow.ui.messages = [text]
        await self.context.flows.update(flow)
        return self.show(request, flow)

    def show(self, request: Request, flow: Flow) -> Response:
        """The flow as JSON for apps and SPAs, its UI page for browsers and for links opened from emails."""
        clicked = request.method == "GET" and not wants_json(request)
        if clicked or (flow.type == FlowType.BROWSER and not wants_json(request)):
            return redirect(self.ui_location(flow))
        return json(flow.to_json())

    async def mark_verified(self, identity: Identity, value: str | None) -> None:
        """Record that ``identity`` proved its verifiable address ``value``."""
        for address in identity.verifiable_addresses:
            if value and address.value == value and not address.verified:
                address.mark_verified()
                await self.identities.update_verifiable_address(address)

    async def owner(self, secret: OneTimeSecret) -> Identity:
        """The identity a secret was issued for."""
        found = None
        if secret.identity_id is not None:
            found = await self.identities.get(secret.identity_id, credentials=False)
        if found is None:
            raise ValidationFailed(messages=[message(self.invalid_ids[self.challenge.method])])
        return found


def disabled_routes(context: FlowContext, kind: str) -> list[Route]:
    """The endpoints of a disabled recovery or verification flow: 400 as upstream (browsers: the error UI)."""
    reason = f"{kind.capitalize()} is not allowed because it was disabled."

    async def refuse(request: Request) -> Response:
        error = BadRequest(reason)
        if request.url.path.endswith("/browser") and not wants_json(request):
            return await context.browser_error(error)
        return error_json(error)

    base = f"/self-service/{kind}"
    return [
        Route(path, refuse, methods=["GET", "POST"])
        for path in (f"{base}/browser", f"{base}/api", f"{base}/flows", base)
    ]
