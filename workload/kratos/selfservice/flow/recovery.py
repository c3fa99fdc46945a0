"""The recovery flow: prove an address by code or link, get a privileged session, set a new password.

A recovered browser goes on to a settings flow (303, or 422 ``browser_location_change_required`` for JSON
clients, as upstream answers without ``feature_flags.use_continue_with_transitions``); apps get their
session token in ``continue_with``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kratos.http import csrf
from kratos.identity.model import Identity, utcnow
from kratos.selfservice.flow.address_flow import PASSED, AddressFlowEndpoints
from kratos.selfservice.flow.context import error_json, json, redirect, wants_json
from kratos.selfservice.flow.errors import BrowserLocationChangeRequired, SessionAlreadyAvailable
from kratos.selfservice.flow.model import Flow, FlowType, Kind
from kratos.selfservice.flow.onetime import IssuedBy, OneTimeSecret
from kratos.selfservice.flow.sender import Challenge
from kratos.selfservice.flow.settings import SettingsEndpoints
from kratos.selfservice.flow.signin import start_session
from kratos.session.model import Session
from kratos.ui.node import submit_node
from kratos.ui.text import message

_LOGGED_IN = "A valid session was detected and thus recovery is not possible."


class RecoveryEndpoints(AddressFlowEndpoints):
    """``/self-service/recovery``."""

    kind = Kind.RECOVERY
    address_kind = "recovery"
    sent_ids = {"code": 1060003, "link": 1060002}
    invalid_ids = {"code": 4060006, "link": 4060004}
    retry_success_id = 4060001
    no_strategy_id = 4010005
    code_label_id = 1070010

    def __init__(
        self,
        *args: Any,
        settings: SettingsEndpoints,
        continue_with_transitions: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings
        self.continue_with_transitions = continue_with_transitions

    async def prepare(self, request: Request, flow_type: FlowType, session: Session | None) -> dict[str, Any]:
        """Nobody signed in recovers an account."""
        if session is not None:
            raise SessionAlreadyAvailable(_LOGGED_IN)
        return {}

    async def before_send(self, request: Request, flow: Flow, session: Session | None) -> None:
        """A browser that signed in meanwhile goes where signed-in browsers go."""
        if session is not None:
            raise SessionAlreadyAvailable(_LOGGED_IN)

    def code_attributes(self) -> dict[str, Any]:
        """Six digits."""
        return {"pattern": "[0-9]+", "maxlength": 6}

    async def admin_flow(
        self,
        request: Request,
        identity: Identity,
        expires_in: timedelta,
        flow_type: FlowType,
        challenge: Challenge,
    ) -> tuple[Flow, str]:
        """A flow an administrator opens for ``identity``: already in ``sent_email``, no CSRF check."""
        flow = await self.new_flow(request, flow_type, None)
        flow.active = challenge.method
        flow.request_url = self.context.url("/self-service/recovery/browser")
        flow.expires_at = utcnow() + expires_in
        flow.internal["skip_csrf"] = True
        flow.ui.nodes = [node for node in flow.ui.nodes if node.name != "csrf_token"]
        flow.state = "sent_email"
        if challenge.method == "code":  # the administrator passes the code on: nothing else to fill in
            flow.ui.nodes = [self.code_input(), submit_node("code", "code", 1070009)]
        await self.context.flows.create(flow)
        secret = await self.sender.issue(
            flow, challenge, identity, None, expires_in=expires_in, issued_by=IssuedBy.ADMIN
        )
        return flow, secret

    async def passed(
        self,
        request: Request,
        flow: Flow,
        challenge: Challenge,
        secret: OneTimeSecret,
        session: Session | None,
    ) -> Response:
        """Verify the address used, sign the identity in and send it on to a settings flow."""
        identity = await self.owner(secret)
        if secret.issued_by == IssuedBy.SELF_SERVICE:  # the email proved the address; an admin's code did not
            await self.mark_verified(identity, secret.address)
        flow.state = PASSED
        flow.identity_id = identity.id
        flow.ui.clear_messages()
        revoke = self.hooks.enabled(challenge.method, "revoke_active_sessions")
        new_session = await start_session(
            self.context, request, identity, f"{challenge.method}_recovery", revoke
        )
        await self.hooks.post_persist(challenge.method, request, flow, identity, new_session)
        continue_with: list[dict[str, Any]] = []
        if flow.type == FlowType.API:
            continue_with.append({"action": "set_ory_session_token", "ory_session_token": new_session.token})
        settings_flow, token = await self._settings_flow(request, flow, new_session)
        settings_url = self.settings.ui_location(settings_flow)
        response = await self._answer(request, flow, settings_flow, settings_url, continue_with)
        # What the flow keeps: the way on, never the session token.
        kept = [item for item in continue_with if item["action"] != "set_ory_session_token"]
        flow.extra["continue_with"] = kept or None
        await self.context.flows.update(flow)
        if flow.type == FlowType.BROWSER:
            self.context.set_session_cookie(response, new_session)
            self.context.set_csrf_cookie(response, token)
        return response

    async def _settings_flow(self, request: Request, flow: Flow, session: Session) -> tuple[Flow, str]:
        """The settings flow the recovered identity continues in, with upstream's success message."""
        settings_flow = await self.settings.new_flow(request, flow.type, session)
        settings_flow.return_to = flow.return_to
        token = ""
        if flow.type == FlowType.BROWSER:
            token = csrf.new_token()
            settings_flow.csrf_token = csrf.mask(token)
            settings_flow.ui.set_value("csrf_token", settings_flow.csrf_token)
        privileged_until = utcnow() + self.settings.config.privileged_session_max_age
        minutes = self.settings.config.privileged_session_max_age.total_seconds() / 60
        settings_flow.ui.messages = [
            message(
                1060001,
                "You successfully recovered your account. Please change your password or set up an "
                f"alternative login method (e.g. social sign in) within the next {minutes:.2f} minutes.",
                privilegedSessionExpiresAt=privileged_until,
                privileged_session_expires_at=privileged_until,
                privileged_session_expires_at_unix=int(privileged_until.timestamp()),
            )
        ]
        await self.context.flows.create(settings_flow)
        return settings_flow, token

    async def _answer(
        self,
        request: Request,
        flow: Flow,
        settings_flow: Flow,
        settings_url: str,
        continue_with: list[dict[str, Any]],
    ) -> Response:
        json_client = flow.type == FlowType.API or wants_json(request)
        if self.continue_with_transitions:
            if not json_client:
                return redirect(settings_url)
            continue_with.append(
                {"action": "show_settings_ui", "flow": {"id": settings_flow.id, "url": settings_url}}
            )
            flow.extra["continue_with"] = continue_with
            return json(flow.to_json())
        if wants_json(request) or flow.type == FlowType.API:
            return error_json(BrowserLocationChangeRequired(settings_url))
        return redirect(settings_url)
