"""The verification flow: prove an address by code or link; and the flows other flows start for new addresses.

Verifiable addresses go ``pending`` -> ``sent`` (a message went out) -> ``completed`` (proven, with
``verified_at``). Registration, settings (a changed address) and login (``require_verified_address``) start
a verification flow in ``sent_email`` through :meth:`VerificationEndpoints.start_for`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kratos.http import csrf
from kratos.identity.model import Identity, VerifiableAddress
from kratos.selfservice.flow.address_flow import PASSED, AddressFlowEndpoints
from kratos.selfservice.flow.context import redirect
from kratos.selfservice.flow.model import Flow, FlowType, Kind
from kratos.selfservice.flow.onetime import OneTimeSecret
from kratos.selfservice.flow.sender import Challenge
from kratos.session.model import Session
from kratos.ui.node import Node, submit_node
from kratos.ui.text import message


class VerificationEndpoints(AddressFlowEndpoints):
    """``/self-service/verification``."""

    kind = Kind.VERIFICATION
    address_kind = "verifiable"
    sent_ids = {"code": 1080003, "link": 1080001}
    invalid_ids = {"code": 4070006, "link": 4070001}
    retry_success_id = 4070002
    no_strategy_id = 4000001
    code_label_id = 1070011

    def __init__(self, *args: Any, after_return_url: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.after_return_url = after_return_url

    async def populate(self, flow: Flow, session: Session | None) -> None:
        """The address form; apps get no CSRF node (as upstream)."""
        await super().populate(flow, session)
        if flow.type == FlowType.API:
            flow.ui.nodes = [node for node in flow.ui.nodes if node.name != "csrf_token"]

    async def complete(
        self, request: Request, flow: Flow, body: dict[str, Any], session: Session | None
    ) -> Response:
        """A code link opened from an email fills in the form for the user to confirm; the rest as usual."""
        if request.method == "GET" and self.challenge.method == "code" and body.get("code"):
            flow.ui.set_value("code", str(body["code"]))
            token = csrf.new_token()
            flow.csrf_token = csrf.mask(token)
            flow.ui.set_value("csrf_token", flow.csrf_token)
            await self.context.flows.update(flow)
            response = redirect(self.ui_location(flow))
            self.context.set_csrf_cookie(response, token)
            return response
        return await super().complete(request, flow, body, session)

    async def passed(
        self,
        request: Request,
        flow: Flow,
        challenge: Challenge,
        secret: OneTimeSecret,
        session: Session | None,
    ) -> Response:
        """Mark the address verified and offer a way on."""
        identity = await self.owner(secret)
        await self.mark_verified(identity, secret.address)
        continue_url = flow.return_to or self.after_return_url or self.context.default_return_url
        flow.state = PASSED
        flow.identity_id = identity.id
        flow.ui.action = continue_url
        flow.ui.method = "GET"
        flow.ui.messages = [message(1080002)]
        label = message(1070009)
        flow.ui.nodes = [
            Node("a", "code", {"href": continue_url, "title": label.to_dict(), "id": "continue"}, label=label)
        ]
        await self.hooks.post_persist(challenge.method, request, flow, identity, session)
        await self.context.flows.update(flow)
        return self.show(request, flow)

    async def start_for(
        self,
        request: Request,
        flow_type: FlowType,
        identity: Identity,
        *,
        only_pending: bool,
        csrf_token: str | None = None,
    ) -> dict[str, Any] | None:
        """Send a secret to the first address of ``identity`` that needs one, in a new flow in ``sent_email``.

        Returns its ``show_verification_ui`` continuation; ``only_pending`` skips addresses sent to before;
        ``csrf_token``: the browser's CSRF token once this request's answer is out, if it changes it.
        """
        for address in identity.verifiable_addresses:
            if address.verified or not address.value or (only_pending and address.status != "pending"):
                continue
            flow = await self.new_flow(request, flow_type, None)
            if flow_type == FlowType.BROWSER:  # the token the answer sets, else the browser's own
                flow.csrf_token = csrf.mask(csrf_token or self.context.csrf_token(request)[0])
                flow.ui.set_value("csrf_token", flow.csrf_token)
            await self.context.flows.create(flow)
            await self.sender.send(flow, self.challenge, identity, address.value, False)
            await self.mark_sent(flow, address.value)
            if self.challenge.method == "link":
                flow.ui.nodes.append(
                    submit_node(self.challenge.method, address.value, 1070008, name=address.via)
                )
                await self.context.flows.update(flow)
            await self._mark_address_sent(address)
            url = self.ui_location(flow) if flow_type == FlowType.BROWSER else ""
            return {
                "action": "show_verification_ui",
                "flow": {"id": flow.id, "verifiable_address": address.value, "url": url},
            }
        return None

    async def _mark_address_sent(self, address: VerifiableAddress) -> None:
        address.status = "sent"
        await self.identities.update_verifiable_address(address)
