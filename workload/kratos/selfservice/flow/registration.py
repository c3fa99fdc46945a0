"""The registration flow: ``profile_first`` (traits, then a credential) or ``unified`` (one form)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kratos.config.selfservice import RegistrationFlow
from kratos.http.errors import KratosError
from kratos.identity.errors import DuplicateIdentifier, InvalidIdentity
from kratos.identity.manager import IdentityManager
from kratos.identity.model import Identity
from kratos.schema import IdentitySchema, TraitsValidationError
from kratos.selfservice.flow.context import FlowContext
from kratos.selfservice.flow.duplicates import duplicate_message, find_conflict, hints_for
from kratos.selfservice.flow.endpoints import FlowEndpoints
from kratos.selfservice.flow.errors import FlowDisabled, SessionAlreadyAvailable
from kratos.selfservice.flow.model import CHOOSE_METHOD, Flow, FlowType, Kind
from kratos.selfservice.flow.oauth2 import (
    CHALLENGE,
    CURRENT,
    LoginChallenges,
    accept,
    challenge_of,
    flow_fields,
)
from kratos.selfservice.flow.signin import (
    Outcome,
    answer,
    handed_over,
    return_url,
    spa_redirect,
    start_session,
)
from kratos.selfservice.flow.verification import VerificationEndpoints
from kratos.selfservice.hook.executor import FlowHooks
from kratos.selfservice.strategy.base import OnFirstScreen, RegistrationStrategy, ValidationFailed, chosen
from kratos.selfservice.strategy.profile.nodes import coerce_traits, lookup, trait_nodes
from kratos.session.model import AuthenticationMethod, Session
from kratos.ui.node import csrf_node, social_first, submit_node
from kratos.ui.text import Message, message

PROFILE = "profile"


class RegistrationEndpoints(FlowEndpoints):
    """``/self-service/registration``."""

    kind = Kind.REGISTRATION
    error_redirect_status = 302  # what upstream answers a browser whose registration form has errors

    def __init__(
        self,
        context: FlowContext,
        config: RegistrationFlow,
        hooks: FlowHooks,
        identities: IdentityManager,
        strategies: Sequence[RegistrationStrategy],
    ) -> None:
        super().__init__(context, config.ui_url, config.lifespan, hooks)
        self.config = config
        self.identities = identities
        self.strategies = {strategy.id: strategy for strategy in strategies}
        self.verifier: VerificationEndpoints | None = None  # set when verification is on
        self.hydra: LoginChallenges | None = None  # set when oauth2_provider.url is
        self.two_step = config.two_steps

    def schema(self) -> IdentitySchema:
        """The schema new identities get."""
        return self.identities.schemas.default

    async def init_browser(self, request: Request) -> Response:
        """With Hydra's ``login_challenge`` (a "Sign up" link of an OAuth2 login): the flow keeps it."""
        try:
            challenge = challenge_of(request, self.hydra)
            if challenge is None:
                return await super().init_browser(request)
            assert self.hydra is not None
            token = CURRENT.set(await self.hydra.login_request(challenge))
        except KratosError as error:
            return await self.browser_failure(request, error)
        try:
            return await super().init_browser(request)
        finally:
            CURRENT.reset(token)

    async def prepare(self, request: Request, flow_type: FlowType, session: Session | None) -> dict[str, Any]:
        """Registration may be disabled, and is refused while signed in."""
        if not self.config.enabled:
            raise FlowDisabled()
        if session is not None:
            raise SessionAlreadyAvailable(
                "A valid session was detected and thus registration is not possible."
            )
        return flow_fields()

    async def populate(self, flow: Flow, session: Session | None) -> None:
        """The first screen: traits and "Sign up" (two-step), or traits and every credential (unified)."""
        if self.two_step:
            self._profile_screen(flow, None)
        else:
            self._credentials_screen(flow, None, hidden=False)

    def _profile_screen(self, flow: Flow, traits: Any) -> None:
        flow.ui.nodes = [csrf_node(flow.csrf_token), *trait_nodes(self.schema(), "default", traits)]
        flow.ui.nodes.append(submit_node(PROFILE, PROFILE, 1040001))
        for strategy in self.strategies.values():  # social sign-up needs no traits first
            if isinstance(strategy, OnFirstScreen):
                strategy.populate_registration(flow, self.schema())
        flow.ui.nodes = social_first(flow.ui.nodes)
        flow.internal.pop("traits", None)

    def _credentials_screen(self, flow: Flow, traits: Any, *, hidden: bool) -> None:
        nodes = trait_nodes(self.schema(), "default", traits)
        if hidden:
            for node in nodes:
                node.attributes["type"] = "hidden"
        flow.ui.nodes = [csrf_node(flow.csrf_token), *nodes]
        for strategy in self.strategies.values():
            strategy.populate_registration(flow, self.schema())
        if hidden:
            flow.ui.nodes.append(submit_node(PROFILE, "previous", 1040008, name="screen"))
        flow.ui.nodes = social_first(flow.ui.nodes)

    async def complete(
        self, request: Request, flow: Flow, body: dict[str, Any], session: Session | None
    ) -> Response:
        """Validate traits, create the credential and the identity, then run the after hooks."""
        if session is not None:
            raise SessionAlreadyAvailable(
                "A valid session was detected and thus registration is not possible."
            )
        schema = self.schema()
        traits = coerce_traits(schema, body.get("traits", flow.internal.get("traits")), body)
        if body.get("screen") == "previous":
            self._profile_screen(flow, flow.internal.get("traits"))
            raise ValidationFailed()
        if body.get("screen") == "credential-selection":  # back from a method's next step (a code sent)
            flow.state, flow.active = CHOOSE_METHOD, None
            self._credentials_screen(flow, traits, hidden=True)
            raise ValidationFailed(messages=[message(1040009)])
        method = body.get("method")
        if method == PROFILE and self.two_step:
            self._check_traits(flow, schema, traits)
            self._credentials_screen(flow, traits, hidden=True)
            flow.internal["traits"] = traits
            flow.transient_payload = flow.transient_payload or {}
            raise ValidationFailed(messages=[message(1040009)])
        strategy = chosen(self.strategies, body)
        if strategy is None:
            raise ValidationFailed(messages=[message(4010002)])
        identity = Identity(schema_id=schema.id, traits=traits)
        if not getattr(strategy, "provides_traits", False):  # social sign-in checks them on the way back
            self._check_traits(flow, schema, traits, identity)
        try:
            await strategy.register(flow, body, identity)
            return await self.register_identity(request, flow, strategy.id, identity)
        except TraitsValidationError as exc:  # traits a web hook changed
            self._fill(flow, traits)
            raise ValidationFailed(fields=[(error.name, error.message) for error in exc.errors]) from None
        except ValidationFailed:
            self._fill(flow, traits)
            raise
        except DuplicateIdentifier:
            self._fill(flow, traits)
            raise ValidationFailed(messages=[await self.duplicate_message(identity)]) from None

    async def duplicate_message(self, identity: Identity) -> Message:
        """4000007, or with ``login_hints`` 4000028 saying how the existing account signs in."""
        if not self.config.login_hints:
            return message(4000007)
        pool = self.identities.pool
        return duplicate_message(await hints_for(pool, await find_conflict(pool, identity)))

    async def register_identity(
        self,
        request: Request,
        flow: Flow,
        method: str,
        identity: Identity,
        *,
        provider: str = "",
    ) -> Response:
        """Store the new identity ``method`` made, sign it in (the ``session`` hook) and answer.

        Raises ``DuplicateIdentifier`` when an identifier or address belongs to another identity.
        """
        await self.hooks.pre_persist(method, request, flow, identity)
        await self.identities.create(identity)
        new_session = None
        if self.hooks.enabled(method, "session"):
            completed = AuthenticationMethod(method, "aal1", provider=provider)
            new_session = await start_session(self.context, request, identity, completed, False)
        await self.hooks.post_persist(method, request, flow, identity, new_session)
        outcome = Outcome(identity, new_session)
        if new_session is not None and flow.type == FlowType.API:
            outcome.continue_with.append(
                {"action": "set_ory_session_token", "ory_session_token": new_session.token}
            )
        destination = return_url(self.context, flow, self.config.after, method)
        spa_redirect(request, flow, outcome, destination)
        if self.verifier is not None:
            verify = await self.verifier.start_for(
                request,
                flow.type,
                identity,
                only_pending=False,
                csrf_token=outcome.csrf_token
                if new_session
                else None,  # the answer rotates it with a session
            )
            if verify is not None and self.hooks.enabled(method, "show_verification_ui"):
                outcome.continue_with.append(verify)
                destination = verify["flow"]["url"] or destination
        challenge = flow.extra.get(CHALLENGE)
        if challenge and self.hydra is not None and new_session is not None:  # Hydra asked: accept there
            destination = await accept(self.hydra, challenge, new_session, self.context.sessions)
        flow.state = "passed_challenge"
        flow.active = method
        await self.context.flows.update(flow)
        if (to_app := await handed_over(self.context, flow, outcome)) is not None:
            return to_app
        body_out: dict[str, Any] = {
            "identity": identity.to_json(self.context.schema_url(identity), admin=False)
        }
        return answer(self.context, request, flow, outcome, body_out, destination)

    def _check_traits(
        self, flow: Flow, schema: IdentitySchema, traits: Any, identity: Identity | None = None
    ) -> None:
        try:
            if identity is None:
                schema.validate_traits(traits)
            else:
                self.identities.validate(identity)
        except TraitsValidationError as exc:
            self._fill(flow, traits)
            raise ValidationFailed(fields=[(error.name, error.message) for error in exc.errors]) from None
        except InvalidIdentity as exc:
            self._fill(flow, traits)
            raise ValidationFailed(messages=[message(4000001, str(exc), reason=str(exc))]) from None

    @staticmethod
    def _fill(flow: Flow, traits: Any) -> None:
        """Show the submitted traits in the form again."""
        for node in flow.ui.nodes:
            name = node.name or ""
            if name.startswith("traits."):
                value = lookup(traits, name.split(".")[1:])
                if value is not None:
                    node.attributes["value"] = value
