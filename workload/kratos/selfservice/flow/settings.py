"""The settings flow: a signed-in identity changes its traits or credentials."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kratos.config.selfservice import SettingsFlow
from kratos.http.errors import Forbidden
from kratos.identity.errors import DuplicateIdentifier, InvalidIdentity
from kratos.identity.manager import IdentityManager
from kratos.identity.model import Identity, utcnow
from kratos.schema import TraitsValidationError
from kratos.selfservice.flow.context import FlowContext, json, redirect, wants_json
from kratos.selfservice.flow.endpoints import FlowEndpoints
from kratos.selfservice.flow.errors import RefreshRequired, SessionInactive
from kratos.selfservice.flow.model import Flow, FlowType, Kind
from kratos.selfservice.flow.verification import VerificationEndpoints
from kratos.selfservice.hook.executor import FlowHooks
from kratos.selfservice.strategy.base import SettingsStrategy, ValidationFailed, chosen
from kratos.session.errors import AalNotSatisfied, aal2_login_url
from kratos.session.manager import satisfies
from kratos.session.model import Session
from kratos.ui.node import csrf_node
from kratos.ui.text import message


class IdentityMismatch(Forbidden):
    """A settings flow submitted by another identity."""

    error_id = "security_identity_mismatch"

    def __init__(self) -> None:
        super().__init__(
            "The flow belongs to another identity.", message="the request was rejected to protect you"
        )


class SettingsEndpoints(FlowEndpoints):
    """``/self-service/settings``."""

    kind = Kind.SETTINGS

    def __init__(
        self,
        context: FlowContext,
        config: SettingsFlow,
        hooks: FlowHooks,
        identities: IdentityManager,
        strategies: Sequence[SettingsStrategy],
    ) -> None:
        super().__init__(context, config.ui_url, config.lifespan, hooks)
        self.config = config
        self.identities = identities
        self.strategies = {strategy.id: strategy for strategy in strategies}
        self.verifier: VerificationEndpoints | None = None  # set when verification is on

    def needs_session(self) -> bool:
        """Settings belong to the signed-in identity."""
        return True

    async def init_browser(self, request: Request) -> Response:
        """Browsers without a session go to the login first."""
        if (
            not wants_json(request)
            and await self.context.sessions.optional(request.headers, request.cookies) is None
        ):
            return redirect(self.context.url("/self-service/login/browser"))
        return await super().init_browser(request)

    async def prepare(self, request: Request, flow_type: FlowType, session: Session | None) -> dict[str, Any]:
        """A session is required, at ``settings.required_aal``."""
        if session is None:
            raise SessionInactive()
        self._require_aal(session, str(request.url) if request.query_params.get("return_to") else None)
        return {}

    def _require_aal(self, session: Session, return_to: str | None) -> None:
        """:class:`AalNotSatisfied` (on to the second factor, then ``return_to``) below the required AAL."""
        if not satisfies(session, self.config.required_aal):
            raise AalNotSatisfied(aal2_login_url(self.context.public_base_url, return_to))

    async def populate(self, flow: Flow, session: Session | None) -> None:
        """Every method's settings form for the identity."""
        assert session is not None
        identity = await self.identities.get(session.identity_id)
        self._render(flow, identity)
        flow.state = "show_form"

    def _render(self, flow: Flow, identity: Identity) -> None:
        schema = self.identities.schemas.get(identity.schema_id) or self.identities.schemas.default
        flow.ui.nodes = [csrf_node(flow.csrf_token)]
        for strategy in self.strategies.values():
            strategy.populate_settings(flow, identity, schema)
        flow.extra["identity"] = identity.to_json(self.context.schema_url(identity), admin=False)

    async def authorize_get(self, request: Request, flow: Flow) -> None:
        """Only the flow's identity may read it."""
        session = await self.context.sessions.optional(request.headers, request.cookies)
        if session is None:
            raise SessionInactive()
        if session.identity_id != flow.identity_id:
            raise IdentityMismatch()
        self._require_aal(session, self.ui_location(flow))

    async def complete(
        self, request: Request, flow: Flow, body: dict[str, Any], session: Session | None
    ) -> Response:
        """Apply the change, asking for a fresh login when it touches credentials or identifiers."""
        if session is None:
            raise SessionInactive()
        if session.identity_id != flow.identity_id:
            raise IdentityMismatch()
        self._require_aal(session, str(request.url))
        strategy = chosen(self.strategies, body)
        if strategy is None:
            raise ValidationFailed(messages=[message(4010002)])
        identity = await self.identities.get(session.identity_id)
        schema = self.identities.schemas.get(identity.schema_id) or self.identities.schemas.default
        update = await strategy.update_settings(flow, body, identity, schema)
        if update.privileged and session.authenticated_at + self.config.privileged_session_max_age < utcnow():
            login = self.context.url(
                "/self-service/login/browser", refresh="true", return_to=self.ui_location(flow)
            )
            raise RefreshRequired(login)
        if update.handover is not None:
            raise update.handover
        if not update.store:  # the method shows something (backup codes) and changes nothing yet
            return await self._show(request, flow, identity)
        return await self.apply(
            request, flow, session, identity, strategy.id, second_factor=update.second_factor
        )

    async def apply(
        self,
        request: Request,
        flow: Flow,
        session: Session,
        identity: Identity,
        method: str,
        *,
        second_factor: bool = False,
    ) -> Response:
        """Store the changed identity, run the hooks and show the flow's success."""
        try:
            await self.hooks.pre_persist(method, request, flow, identity)
            await self.identities.update(identity)
        except (TraitsValidationError, DuplicateIdentifier, InvalidIdentity) as exc:
            self._render(flow, identity)
            raise _as_validation(exc) from None
        if second_factor:
            await self.context.sessions.add_method(session, method, "aal2", reauthenticated=False)
        if self.hooks.enabled(method, "revoke_active_sessions"):
            await self.context.sessions.pool.revoke_all(identity.id, except_id=session.id)
        await self.hooks.post_persist(method, request, flow, identity, session)
        if self.verifier is not None:
            verify = await self.verifier.start_for(request, flow.type, identity, only_pending=True)
            if verify is not None:
                flow.extra["continue_with"] = [verify]
        self._render(flow, identity)
        flow.state = "success"
        flow.ui.messages = [message(1050001)]
        flow.updated_at = utcnow()
        await self.context.flows.update(flow)
        if flow.type == FlowType.BROWSER and not wants_json(request):
            after = getattr(self.config.after, method, None)
            destination = (
                after.default_browser_return_url if after else None
            ) or self.config.after.default_browser_return_url
            return redirect(flow.return_to or destination or self.ui_location(flow))
        return json(flow.to_json())

    async def _show(self, request: Request, flow: Flow, identity: Identity) -> Response:
        """The form again, as the strategy left it in the flow (the flow's state does not change)."""
        self._render(flow, identity)
        flow.updated_at = utcnow()
        await self.context.flows.update(flow)
        if flow.type == FlowType.BROWSER and not wants_json(request):
            return redirect(self.ui_location(flow))
        return json(flow.to_json())


def _as_validation(error: Exception) -> ValidationFailed:
    if isinstance(error, TraitsValidationError):
        return ValidationFailed(fields=[(e.name, e.message) for e in error.errors])
    if isinstance(error, DuplicateIdentifier):
        return ValidationFailed(messages=[message(4000007)])
    return ValidationFailed(messages=[message(4000001, str(error), reason=str(error))])
