"""``/self-service/methods/oidc/callback/<provider>``: where the provider sends the browser back.

The state, the continuity cookie and the flow must agree before the code is redeemed; a callback that
cannot be tied to a flow goes to the error UI, and a provider's refusal or failure is shown in the flow
(message 4000001), as upstream.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from kratos.http.errors import BadRequest, KratosError
from kratos.selfservice.flow.context import FlowContext, redirect
from kratos.selfservice.flow.errors import FlowExpired
from kratos.selfservice.flow.exchange import IN_BROWSER
from kratos.selfservice.flow.model import Flow, FlowType, Kind
from kratos.selfservice.strategy.base import ValidationFailed, refusal
from kratos.selfservice.strategy.oidc.completion import SocialSignIn
from kratos.selfservice.strategy.oidc.provider import ProviderError
from kratos.selfservice.strategy.oidc.providers import CALLBACK_PATH
from kratos.selfservice.strategy.oidc.state import (
    CONTINUITY_COOKIE,
    FLOW_KEY,
    REFUSAL_PREFIX,
    CallbackRefused,
    PendingSignIn,
    StateSealer,
    invalid_state,
    missing_state,
)
from kratos.selfservice.strategy.oidc.strategy import OidcStrategy


class OidcCallback:
    """The callback endpoint of every provider."""

    def __init__(self, context: FlowContext, strategy: OidcStrategy, completion: SocialSignIn) -> None:
        self.context = context
        self.strategy = strategy
        self.sealer: StateSealer = strategy.sealer
        self.completion = completion

    def routes(self) -> list[Route]:
        """The callback with and without the provider id (``pkce: force``), by GET and form POST."""
        return [
            Route(f"{CALLBACK_PATH}/{{provider}}", self.callback, methods=["GET", "POST"]),
            Route(CALLBACK_PATH, self.callback, methods=["GET", "POST"]),
        ]

    async def callback(self, request: Request) -> Response:
        """Redeem the code and finish the flow; a form POST (Apple) becomes a GET first, as upstream."""
        if request.method == "POST":
            form = await request.form()
            query = {**request.query_params, **{k: v for k, v in form.items() if isinstance(v, str)}}
            return RedirectResponse(f"{request.url.path}?{urlencode(query)}", status_code=302)
        try:
            flow, pending = await self._flow(request)
        except KratosError as error:
            return await self.context.browser_error(error)
        endpoints = self.completion.endpoints(flow.kind)
        assert endpoints is not None
        try:
            return await self._finish(request, flow, pending)
        except ValidationFailed as failure:
            return await endpoints.show_again(request, flow, failure)
        except KratosError as error:
            return await endpoints.browser_failure(request, error)

    async def _flow(self, request: Request) -> tuple[Flow, PendingSignIn]:
        """The flow the state names, once the browser's cookie and the flow vouch for the state."""
        state_param = request.query_params.get("state")
        if not state_param:
            raise missing_state()
        state = self.sealer.open(state_param)
        in_url = request.path_params.get("provider")
        if in_url and in_url != state.provider:
            raise CallbackRefused(
                "Unable to complete OpenID Connect flow: provider mismatch between internal state and URL."
            )
        if state.kind not in (Kind.LOGIN, Kind.REGISTRATION, Kind.SETTINGS):
            raise invalid_state()
        flow = await self.context.flows.get(state.kind, state.flow_id)
        if flow is None:
            raise BadRequest(
                "The session cookie contains invalid values and the flow could not be executed. "
                "Please try again."
            )
        pending = PendingSignIn.of(flow)
        exchange = self.context.exchange
        for_app = flow.type == FlowType.API and exchange is not None and exchange.started_for(flow)
        cookie = request.cookies.get(CONTINUITY_COOKIE)
        self.sealer.check(state_param, state, pending, cookie, cookie_required=not for_app)
        assert pending is not None
        if flow.is_expired():
            raise FlowExpired(flow.expires_at)
        return flow, pending

    async def _finish(self, request: Request, flow: Flow, pending: PendingSignIn) -> Response:
        """Use the state up (a replayed callback finds nothing), redeem the code, complete the flow."""
        query = request.query_params
        flow.internal.pop(FLOW_KEY, None)
        flow.ui.clear_messages()
        flow.transient_payload = pending.transient_payload
        await self.context.flows.update(flow)
        if query.get("error"):
            raise refusal(
                f'{REFUSAL_PREFIX}the OpenID Provider returned error "{query["error"]}": '
                f"{query.get('error_description', '')}"
            )
        code = query.get("code") or query.get("authCode")
        if not code:
            raise refusal(REFUSAL_PREFIX + "the OpenID Provider did not return the code query parameter.")
        session = await self.context.sessions.optional(request.headers, request.cookies)
        if session is not None and flow.kind != Kind.SETTINGS and not flow.extra.get("refresh"):
            return redirect(flow.return_to or self.context.default_return_url)
        provider = self.strategy.providers.get(pending.provider)
        if provider is None:
            raise refusal(
                f'OpenID Connect Provider "{pending.provider}" is unknown or has not been configured'
            )
        try:
            tokens = await provider.exchange_code(code, code_verifier=pending.code_verifier)
            claims = await provider.claims(tokens, nonce=pending.nonce, query=dict(query))
        except ProviderError as exc:
            raise refusal(exc.reason) from None
        flow.active = "oidc"
        in_browser = IN_BROWSER.set(True)
        try:
            return await self.completion.complete(request, flow, provider, claims, tokens, pending.traits)
        finally:
            IN_BROWSER.reset(in_browser)
