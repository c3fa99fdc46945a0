"""The login flow: ``unified`` (every method at once) or ``identifier_first`` (identifier, then methods)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kratos.config.selfservice import LoginFlow
from kratos.identity.model import State
from kratos.identity.pool import IdentityPool
from kratos.schema import SchemaRegistry
from kratos.selfservice.flow.context import FlowContext
from kratos.selfservice.flow.endpoints import FlowEndpoints
from kratos.selfservice.flow.errors import IdentityDisabled, SessionAlreadyAvailable
from kratos.selfservice.flow.model import Flow, FlowType, Kind
from kratos.selfservice.flow.signin import Outcome, answer, return_url, start_session
from kratos.selfservice.flow.verification import VerificationEndpoints
from kratos.selfservice.hook.executor import FlowHooks
from kratos.selfservice.strategy.base import LoginStrategy, ValidationFailed
from kratos.selfservice.strategy.profile.nodes import identifier_label
from kratos.session.model import AuthenticationMethod, Session
from kratos.ui.node import Node, csrf_node, input_node, submit_node
from kratos.ui.text import message

IDENTIFIER_FIRST = "identifier_first"


class LoginEndpoints(FlowEndpoints):
    """``/self-service/login``."""

    kind = Kind.LOGIN

    def __init__(
        self,
        context: FlowContext,
        config: LoginFlow,
        hooks: FlowHooks,
        schemas: SchemaRegistry,
        identities: IdentityPool,
        strategies: Sequence[LoginStrategy],
        *,
        mitigate_enumeration: bool = False,
    ) -> None:
        super().__init__(context, config.ui_url, config.lifespan, hooks)
        self.config = config
        self.schemas = schemas
        self.identities = identities
        self.mitigate_enumeration = mitigate_enumeration
        self.strategies = {strategy.id: strategy for strategy in strategies}
        self.verifier: VerificationEndpoints | None = None  # set when verification is on

    async def prepare(self, request: Request, flow_type: FlowType, session: Session | None) -> dict[str, Any]:
        """A second login needs ``refresh=true``."""
        refresh = request.query_params.get("refresh", "").lower() == "true"
        if session is not None and not refresh:
            raise SessionAlreadyAvailable(
                "A valid session was detected and thus login is not possible. "
                "Did you forget to set `?refresh=true`?"
            )
        return {"refresh": refresh and session is not None, "requested_aal": "aal1"}

    async def populate(self, flow: Flow, session: Session | None) -> None:
        """The methods' nodes, or the identifier alone first."""
        if self.config.style == IDENTIFIER_FIRST and session is None:
            self._identification(flow, "")
            return
        self._methods(flow)
        if session is not None:  # a refresh: the identifier is known, only the secret is asked
            flow.ui.messages.append(message(1010003))
            identity = await self.identities.get(session.identity_id)
            credential = identity.credentials.get("password") if identity else None
            node = flow.ui.find("identifier")
            if node is not None:
                node.attributes = {
                    "name": "identifier",
                    "type": "hidden",
                    "value": credential.identifiers[0] if credential and credential.identifiers else "",
                    "disabled": False,
                }
                node.label = None
            for button in flow.ui.nodes:
                if button.name == "method" and button.label and button.label.id == 1010022:
                    button.label = message(1010001)

    def _identifier_node(self, value: str, hidden: bool) -> Node:
        return input_node(
            "identifier",
            IDENTIFIER_FIRST,
            "hidden" if hidden else "text",
            value=value,
            required=True,
            autocomplete="username webauthn",
            label=identifier_label(self.schemas.default),
        )

    def _identification(self, flow: Flow, identifier: str) -> None:
        """The first screen of ``identifier_first``: the identifier, "Continue", and the CSRF token."""
        flow.ui.nodes = [
            self._identifier_node(identifier, hidden=False),
            submit_node(IDENTIFIER_FIRST, IDENTIFIER_FIRST, 1070009),
            csrf_node(flow.csrf_token),
        ]

    def _methods(self, flow: Flow, identifier: str | None = None) -> None:
        """Every method's form; with ``identifier``, the second screen of ``identifier_first``."""
        flow.ui.nodes = [csrf_node(flow.csrf_token)]
        for strategy in self.strategies.values():
            strategy.populate_login(flow, self.schemas.default)
        if identifier is not None:
            flow.ui.nodes = [
                self._identifier_node(identifier, hidden=True),
                *(node for node in flow.ui.nodes if node.name != "identifier"),
            ]

    async def _identify(self, flow: Flow, identifier: Any) -> None:
        """Go on to the methods, or say the account is unknown (unless enumeration is mitigated)."""
        identifier = identifier.strip() if isinstance(identifier, str) else ""
        if not identifier:
            self._identification(flow, "")
            missing = message(4000002, "Property identifier is missing.", property="identifier")
            raise ValidationFailed(fields=[("identifier", missing)])
        if not self.mitigate_enumeration:
            identity = await self.identities.find_by_identifier("password", identifier.lower())
            if identity is None:
                self._identification(flow, identifier)
                raise ValidationFailed(fields=[("identifier", message(4000037))])
        self._methods(flow, identifier)

    async def complete(
        self, request: Request, flow: Flow, body: dict[str, Any], session: Session | None
    ) -> Response:
        """Authenticate with the submitted method, then run the after hooks."""
        method = body.get("method")
        refresh = bool(flow.extra.get("refresh"))
        if session is not None and not refresh:
            raise SessionAlreadyAvailable(
                "A valid session was detected and thus login is not possible. "
                "Did you forget to set `?refresh=true`?"
            )
        if method == IDENTIFIER_FIRST and self.config.style == IDENTIFIER_FIRST:
            await self._identify(flow, body.get("identifier"))
            flow.active = IDENTIFIER_FIRST
            flow.transient_payload = body.get("transient_payload") or {}
            raise ValidationFailed()
        strategy = self.strategies.get(method) if isinstance(method, str) else None
        if strategy is None:
            raise ValidationFailed(messages=[message(4010002)])
        identity = await strategy.login(flow, body, session if refresh else None)
        if identity.state != State.ACTIVE:
            raise IdentityDisabled()
        if self.hooks.enabled(strategy.id, "require_verified_address") and not any(
            address.verified for address in identity.verifiable_addresses
        ):
            raise ValidationFailed(messages=[message(4000010)])
        if refresh and session is not None:
            session.authentication_methods.append(AuthenticationMethod(strategy.id, "aal1"))
            session.authenticated_at = session.authentication_methods[-1].completed_at
            await self.context.sessions.pool.add_method(session)
            session.identity = identity
            signed_in = session
        else:
            revoke = self.hooks.enabled(strategy.id, "revoke_active_sessions")
            signed_in = await start_session(self.context, request, identity, strategy.id, revoke)
        try:
            await self.hooks.post_persist(strategy.id, request, flow, identity, signed_in)
        except BaseException:
            if not refresh:  # a web hook refused the login: the new session must not stay usable
                await self.context.sessions.pool.revoke(signed_in.id)
            raise
        flow.state = "passed_challenge"
        flow.active = strategy.id
        await self.context.flows.update(flow)
        destination = return_url(self.context, flow, self.config.after, strategy.id)
        outcome = Outcome(identity, signed_in)
        if self.verifier is not None and self.hooks.enabled(strategy.id, "verification"):
            verify = await self.verifier.start_for(
                request, flow.type, identity, only_pending=False, csrf_token=outcome.csrf_token
            )
            if verify is not None and self.hooks.enabled(strategy.id, "show_verification_ui"):
                outcome.continue_with.append(verify)
                destination = verify["flow"]["url"] or destination
        return answer(self.context, request, flow, outcome, {}, destination)
