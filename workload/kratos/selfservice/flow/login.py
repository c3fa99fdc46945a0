"""The login flow: ``unified`` (every method at once) or ``identifier_first`` (identifier, then methods)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from kratos.config.selfservice import LoginFlow
from kratos.http.errors import BadRequest, KratosError
from kratos.identity.factors import AalPolicy
from kratos.identity.model import CredentialsType, Identity, State, utcnow
from kratos.identity.pool import IdentityPool
from kratos.identity.social import SocialLink, add_link, owns_identifier
from kratos.schema import SchemaRegistry
from kratos.selfservice.flow.context import FlowContext, device, error_json, json, redirect, wants_json
from kratos.selfservice.flow.endpoints import FlowEndpoints
from kratos.selfservice.flow.errors import (
    BrowserLocationChangeRequired,
    IdentityDisabled,
    SessionAal1Required,
    SessionAlreadyAvailable,
)
from kratos.selfservice.flow.model import Flow, FlowType, Kind
from kratos.selfservice.flow.oauth2 import (
    CHALLENGE,
    CURRENT,
    LoginChallenges,
    accept,
    challenge_of,
    flow_fields,
    with_query,
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
from kratos.selfservice.strategy.base import (
    LoginStrategy,
    OnFirstScreen,
    SecondFactorStrategy,
    ValidationFailed,
    chosen,
)
from kratos.selfservice.strategy.profile.nodes import identifier_label
from kratos.session.errors import aal2_login_url
from kratos.session.manager import satisfies
from kratos.session.model import AuthenticationMethod, Session
from kratos.ui.node import Node, csrf_node, input_node, social_first, submit_node
from kratos.ui.text import message

IDENTIFIER_FIRST = "identifier_first"
PENDING_LINK = "pending_social_link"  # flow.internal: the account to link once the user has signed in
AAL1, AAL2 = "aal1", "aal2"
_ALREADY = (
    "A valid session was detected and thus login is not possible. Did you forget to set `?refresh=true`?"
)
# First factors whose credentials carry the identifier a user types (passkeys are found by their key).
_NAMED_BY_IDENTIFIER = ("password", "code", "webauthn")


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
        second_factors: Sequence[SecondFactorStrategy] = (),
        required_aal: str = "highest_available",
        aal_policy: AalPolicy | None = None,
        mitigate_enumeration: bool = False,
    ) -> None:
        super().__init__(context, config.ui_url, config.lifespan, hooks)
        self.config = config
        self.schemas = schemas
        self.identities = identities
        self.mitigate_enumeration = mitigate_enumeration
        self.strategies = {strategy.id: strategy for strategy in strategies}
        self.second_factors = {strategy.id: strategy for strategy in second_factors}
        self.required_aal = required_aal  # what whoami will ask of the session (session.whoami.required_aal)
        self.aal_policy = aal_policy or AalPolicy()
        self.verifier: VerificationEndpoints | None = None  # set when verification is on
        self.hydra: LoginChallenges | None = None  # set when oauth2_provider.url is
        self.override_return_to = False  # oauth2_provider.override_return_to

    async def init_browser(self, request: Request) -> Response:
        """With Hydra's ``login_challenge``: skip the form when Hydra and a session allow, else refresh."""
        try:
            challenge = challenge_of(request, self.hydra)
            if challenge is None:
                return await super().init_browser(request)
            assert self.hydra is not None
            login_request = await self.hydra.login_request(challenge)
            session = await self.context.sessions.optional(request.headers, request.cookies)
            if login_request.skip and session is not None:
                destination = await accept(self.hydra, challenge, session, self.context.sessions)
                return _completed(request, destination)
            params = {} if login_request.skip else {"refresh": "true"}
            if self.override_return_to and login_request.request_url:
                params["return_to"] = login_request.request_url
            token = CURRENT.set(login_request)
            try:
                return await super().init_browser(with_query(request, **params))
            finally:
                CURRENT.reset(token)
        except KratosError as error:
            return await self.browser_failure(request, error)

    async def prepare(self, request: Request, flow_type: FlowType, session: Session | None) -> dict[str, Any]:
        """A second login needs ``refresh=true``; ``aal=aal2`` steps an aal1 session up."""
        refresh = request.query_params.get("refresh", "").lower() == "true"
        aal = request.query_params.get("aal") or AAL1
        if aal not in (AAL1, AAL2):
            raise BadRequest(
                "Unable to parse AuthenticationMethod Assurance Level (AAL): "
                f"expected one of [{AAL1}, {AAL2}] but got {aal}"
            )
        if aal == AAL2 and session is None:
            raise SessionAal1Required()
        if session is not None and not refresh and (aal == AAL1 or session.aal == AAL2):
            raise SessionAlreadyAvailable(_ALREADY)
        return {"refresh": refresh and session is not None, "requested_aal": aal, **flow_fields()}

    async def populate(self, flow: Flow, session: Session | None) -> None:
        """The methods' nodes, or the identifier alone first; second factors for ``aal=aal2``."""
        if flow.extra.get("requested_aal") == AAL2:
            assert session is not None
            await self._second_factors(flow, session)
            return
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

    async def _second_factors(self, flow: Flow, session: Session) -> None:
        """The forms of the second factors the identity has set up."""
        identity = await self.identities.get(session.identity_id)
        flow.ui.nodes = []
        for strategy in self.second_factors.values():
            if identity is not None:
                strategy.populate_second_factor(flow, identity)
        if flow.ui.nodes or flow.type == FlowType.BROWSER:
            flow.ui.nodes.insert(0, csrf_node(flow.csrf_token))
        if session.aal != AAL2:
            flow.ui.messages.append(message(1010004))

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
        ]
        for strategy in self.strategies.values():  # social sign-in buttons are on the first screen too
            if isinstance(strategy, OnFirstScreen):
                strategy.populate_login(flow, self.schemas.default)
        flow.ui.nodes.append(csrf_node(flow.csrf_token))  # last, as upstream orders this screen

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
        flow.ui.nodes = social_first(flow.ui.nodes)

    async def _identify(self, flow: Flow, identifier: Any) -> None:
        """Go on to the methods, or say the account is unknown (unless enumeration is mitigated)."""
        identifier = identifier.strip() if isinstance(identifier, str) else ""
        if not identifier:
            self._identification(flow, "")
            missing = message(4000002, "Property identifier is missing.", property="identifier")
            raise ValidationFailed(fields=[("identifier", missing)])
        identity = None
        if not self.mitigate_enumeration:
            kinds = [kind for kind in _NAMED_BY_IDENTIFIER if kind in self.strategies]
            identity = await self.identities.find_by_identifier(kinds, identifier.lower())
            if identity is None:
                self._identification(flow, identifier)
                raise ValidationFailed(fields=[("identifier", message(4000037))])
        self._methods(flow, identifier)
        if identity is not None:  # the second screen: only the providers this account is linked to
            for strategy in self.strategies.values():
                if isinstance(strategy, OnFirstScreen):
                    strategy.keep_linked(flow, identity)

    async def complete(
        self, request: Request, flow: Flow, body: dict[str, Any], session: Session | None
    ) -> Response:
        """Authenticate with the submitted method, then run the after hooks."""
        method = body.get("method")
        refresh = bool(flow.extra.get("refresh"))
        if flow.extra.get("requested_aal") == AAL2:
            return await self._complete_second_factor(request, flow, body, session)
        if session is not None and not refresh:
            raise SessionAlreadyAvailable(_ALREADY)
        if method == IDENTIFIER_FIRST and self.config.style == IDENTIFIER_FIRST:
            await self._identify(flow, body.get("identifier"))
            flow.active = IDENTIFIER_FIRST
            flow.transient_payload = body.get("transient_payload") or {}
            raise ValidationFailed()
        strategy = chosen(self.strategies, body)
        if strategy is None:
            raise ValidationFailed(messages=[message(4010002)])
        identity = await strategy.login(flow, body, session if refresh else None)
        return await self.sign_in(request, flow, strategy.id, identity, session)

    async def sign_in(
        self,
        request: Request,
        flow: Flow,
        method: str,
        identity: Identity,
        session: Session | None,
        *,
        provider: str = "",
    ) -> Response:
        """Finish a first-factor login of ``identity`` (a refresh of ``session`` if the flow asks one)."""
        if identity.state != State.ACTIVE:
            raise IdentityDisabled()
        if self.hooks.enabled(method, "require_verified_address") and not any(
            address.verified for address in identity.verifiable_addresses
        ):
            raise ValidationFailed(messages=[message(4000010)])
        if flow.extra.get("refresh") and session is not None:
            await self.context.sessions.add_method(
                session, method, AAL1, device=device(request), provider=provider
            )
            session.identity = identity
            return await self._finish(request, flow, method, identity, session, new_session=False)
        await self._refresh_available_aal(identity)
        revoke = self.hooks.enabled(method, "revoke_active_sessions")
        signed_in = await start_session(
            self.context, request, identity, AuthenticationMethod(method, AAL1, provider=provider), revoke
        )
        await self._link_pending(flow, identity, signed_in)
        return await self._finish(request, flow, method, identity, signed_in, new_session=True)

    async def _link_pending(self, flow: Flow, identity: Identity, session: Session) -> None:
        """Add the social sign-in account that led to this "sign in and link" flow, as upstream.

        Only to the identity that owns the identifier the account clashed with (else 4010009), and only once
        the session has the AAL whoami will require.
        """
        pending = flow.internal.get(PENDING_LINK)
        if not pending or not satisfies(session, self.required_aal):
            return
        if not owns_identifier(identity, pending["duplicate_identifier"]):
            await self.context.sessions.pool.revoke(session.id)
            raise ValidationFailed(messages=[message(4010009)])
        link = SocialLink.from_config(pending["link"])
        add_link(identity, link)
        identity.updated_at = utcnow()
        await self.identities.update(identity)
        await self.context.sessions.add_method(
            session, CredentialsType.OIDC, AAL1, reauthenticated=False, provider=link.provider
        )
        del flow.internal[PENDING_LINK]

    async def _refresh_available_aal(self, identity: Identity) -> None:
        """Count the identity's second factors again (methods may have been turned on or off), as upstream.

        Only with its credentials loaded: an identity read without them would look like one without factors.
        """
        if not identity.credentials:
            return
        available = self.aal_policy.available(identity.credentials)
        if available != identity.available_aal:
            identity.available_aal = available
            await self.identities.update_available_aal(identity.id, available)

    async def _complete_second_factor(
        self, request: Request, flow: Flow, body: dict[str, Any], session: Session | None
    ) -> Response:
        """Step the flow's session up to aal2 with the submitted second factor."""
        if session is None:
            raise SessionAal1Required()
        if session.aal == AAL2 and not flow.extra.get("refresh"):
            raise SessionAlreadyAvailable(_ALREADY)
        strategy = chosen(self.second_factors, body)
        if strategy is None:
            raise ValidationFailed(messages=[message(4010002)])
        identity = await self.identities.get(session.identity_id)
        if identity is None or identity.state != State.ACTIVE:
            raise IdentityDisabled()
        await strategy.verify_second_factor(flow, body, identity)
        await self.context.sessions.add_method(session, strategy.id, AAL2, device=device(request))
        session.identity = identity
        return await self._finish(request, flow, strategy.id, identity, session, new_session=False)

    async def _finish(
        self,
        request: Request,
        flow: Flow,
        method: str,
        identity: Identity,
        signed_in: Session,
        *,
        new_session: bool,
    ) -> Response:
        """After hooks, the flow's end, verification, and the answer (or the way on to a second factor)."""
        try:
            await self.hooks.post_persist(method, request, flow, identity, signed_in)
        except BaseException:
            if new_session:  # a web hook refused the login: the new session must not stay usable
                await self.context.sessions.pool.revoke(signed_in.id)
            raise
        flow.state = "passed_challenge"
        flow.active = method
        await self.context.flows.update(flow)
        destination = return_url(self.context, flow, self.config.after, method)
        outcome = Outcome(identity, signed_in)
        spa_redirect(request, flow, outcome, destination)
        if self.verifier is not None and self.hooks.enabled(method, "verification"):
            verify = await self.verifier.start_for(
                request, flow.type, identity, only_pending=False, csrf_token=outcome.csrf_token
            )
            if verify is not None and self.hooks.enabled(method, "show_verification_ui"):
                outcome.continue_with.append(verify)
                destination = verify["flow"]["url"] or destination
        if not satisfies(signed_in, self.required_aal):
            return self._second_factor_required(request, flow, outcome)
        challenge = flow.extra.get(CHALLENGE)
        if challenge and self.hydra is not None:  # Hydra asked for this login: accept it, go back there
            destination = await accept(self.hydra, challenge, signed_in, self.context.sessions)
            outcome.continue_with = [
                item for item in outcome.continue_with if item.get("action") != "redirect_browser_to"
            ]
            spa_redirect(request, flow, outcome, destination)
        if (to_app := await handed_over(self.context, flow, outcome)) is not None:
            return to_app
        return answer(self.context, request, flow, outcome, {}, destination)

    def _second_factor_required(self, request: Request, flow: Flow, outcome: Outcome) -> Response:
        """The session is aal1 but whoami will ask for aal2: send browsers on to the second factor.

        Apps get their session without its identity, as upstream answers.
        """
        login = aal2_login_url(self.context.public_base_url, _passed_on(flow.request_url))
        if flow.type == FlowType.API:
            outcome.hide_identity = True
            return answer(self.context, request, flow, outcome, {}, login)
        if wants_json(request):
            response = error_json(BrowserLocationChangeRequired(login))
            assert outcome.session is not None
            self.context.set_session_cookie(response, outcome.session)
            self.context.set_csrf_cookie(response, outcome.csrf_token)
            return response
        return answer(self.context, request, flow, outcome, {}, login)


def _passed_on(request_url: str) -> str | None:
    """The ``return_to`` a first-factor login passes on to its second factor, as upstream does."""
    values = parse_qs(urlsplit(request_url).query).get("return_to")
    return values[0] if values else None


def _completed(request: Request, destination: str) -> Response:
    """A login Hydra let skip: the browser goes on (SPAs get ``redirect_browser_to``), as upstream."""
    if wants_json(request):
        return json({"redirect_browser_to": destination})
    return redirect(destination)
