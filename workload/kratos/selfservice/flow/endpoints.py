"""The endpoints every flow has: init (browser and API), get, and submit, with CSRF and expiry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kratos.http import csrf
from kratos.http.body import read_submission
from kratos.http.errors import KratosError, NotFound
from kratos.identity.model import utcnow
from kratos.selfservice.flow.context import FlowContext, error_json, json, parse_flow_id, redirect, wants_json
from kratos.selfservice.flow.errors import (
    BrowserLocationChangeRequired,
    CsrfViolation,
    FlowExpired,
    NoFlow,
    SessionAlreadyAvailable,
)
from kratos.selfservice.flow.model import Flow, FlowType, Kind
from kratos.selfservice.hook.executor import FlowHooks
from kratos.selfservice.strategy.base import ContinueInUi, Handover, NextStep, ValidationFailed
from kratos.session.model import Session
from kratos.ui.node import Container, csrf_node
from kratos.ui.text import message

_API_COOKIE_REASON = (
    'The HTTP Request Header included the "Cookie" key, indicating that this request was made by a Browser. '
    "The flow however was initiated as an API request. To prevent potential misuse and mitigate several "
    "attack vectors including CSRF, the request has been blocked. Please consult the documentation."
)


class FlowEndpoints:
    """Shared handling; each flow kind fills in :meth:`prepare`, :meth:`populate` and :meth:`complete`."""

    kind: Kind
    error_redirect_status = 303

    def __init__(self, context: FlowContext, ui_url: str, lifespan: timedelta, hooks: FlowHooks) -> None:
        self.context = context
        self.ui_url = ui_url
        self.lifespan = lifespan
        self.hooks = hooks

    def routes(self) -> list[Route]:
        """``/self-service/<kind>/{browser,api,flows}`` and the submission endpoint."""
        base = f"/self-service/{self.kind.value}"
        return [
            Route(f"{base}/browser", self.init_browser, methods=["GET"]),
            Route(f"{base}/api", self.init_api, methods=["GET"]),
            Route(f"{base}/flows", self.get_flow, methods=["GET"]),
            Route(base, self.submit, methods=["GET", "POST"]),
        ]

    # what each kind provides

    async def prepare(self, request: Request, flow_type: FlowType, session: Session | None) -> dict[str, Any]:
        """Check the request may start a flow; the kind's extra wire fields."""
        return {}

    async def populate(self, flow: Flow, session: Session | None) -> None:
        """Add the methods' nodes to a new flow."""

    async def complete(
        self, request: Request, flow: Flow, body: dict[str, Any], session: Session | None
    ) -> Response:
        """Handle a submission; raise :class:`ValidationFailed` to show the form again."""
        raise NotImplementedError

    def needs_session(self) -> bool:
        """Whether the flow belongs to a signed-in identity (settings)."""
        return False

    # init

    async def init_browser(self, request: Request) -> Response:
        """Start a browser flow: 303 to the UI, or the flow as JSON for SPAs."""
        try:
            flow, token, fresh = await self._new(request, FlowType.BROWSER)
        except SessionAlreadyAvailable as error:
            if wants_json(request):
                return error_json(error)
            try:
                return_to = self.context.checked_return_to(request.query_params.get("return_to"))
            except KratosError as forbidden:
                return await self.context.browser_error(forbidden)
            return redirect(return_to or self.context.default_return_url)
        except KratosError as error:
            return await self.browser_failure(request, error)
        response = json(flow.to_json()) if wants_json(request) else redirect(self.ui_location(flow))
        if fresh:
            self.context.set_csrf_cookie(response, token)
        return response

    async def init_api(self, request: Request) -> Response:
        """Start a flow for an app: no cookies, no CSRF (``return_session_token_exchange_code``: its code)."""
        flow, _, _ = await self._new(request, FlowType.API)
        body = flow.to_json()
        exchange = self.context.exchange
        wanted = request.query_params.get("return_session_token_exchange_code", "").lower() == "true"
        if wanted and exchange is not None and self.kind in (Kind.LOGIN, Kind.REGISTRATION):
            body["session_token_exchange_code"] = await exchange.start(flow)
            await self.context.flows.update(flow)
        return json(body)

    async def _new(self, request: Request, flow_type: FlowType) -> tuple[Flow, str, bool]:
        session = await self.context.sessions.optional(request.headers, request.cookies)
        flow = await self.new_flow(request, flow_type, session)
        token, fresh = "", False
        if flow_type == FlowType.BROWSER:
            token, fresh = self.context.csrf_token(request)
            flow.csrf_token = csrf.mask(token)
            flow.ui.set_value("csrf_token", flow.csrf_token)
        await self.context.flows.create(flow)
        return flow, token, fresh

    async def new_flow(self, request: Request, flow_type: FlowType, session: Session | None) -> Flow:
        """A populated, unsaved flow (also used to replace an expired one)."""
        extra = await self.prepare(request, flow_type, session)
        return_to = self.context.checked_return_to(request.query_params.get("return_to"))
        now = utcnow()
        flow = Flow(
            kind=self.kind,
            type=flow_type,
            request_url=str(request.url),
            issued_at=now,
            updated_at=now,
            expires_at=now + self.lifespan,
            return_to=return_to,
            ui=Container(action=""),
            identity_id=session.identity_id if session and self.needs_session() else None,
            extra=extra,
        )
        flow.ui.action = self.context.url(f"/self-service/{self.kind.value}", flow=str(flow.id))
        flow.ui.nodes.append(csrf_node(""))
        await self.populate(flow, session)
        await self.hooks.run_before(request, flow)
        return flow

    def ui_location(self, flow: Flow) -> str:
        """The UI page that renders ``flow``."""
        separator = "&" if "?" in self.ui_url else "?"
        return f"{self.ui_url}{separator}flow={flow.id}"

    # get

    async def get_flow(self, request: Request) -> Response:
        """``GET /self-service/<kind>/flows?id=``."""
        flow = await self._load(request.query_params.get("id"), NotFound("Unable to locate the resource"))
        if (
            flow.type == FlowType.BROWSER
            and not flow.internal.get("skip_csrf")  # opened by an administrator, for any browser
            and not csrf.matches(flow.csrf_token, request.cookies.get(self.context.csrf_cookie))
        ):
            raise CsrfViolation(
                "The HTTP Cookie Header was set and a CSRF token was sent but they do not match. "
                "We recommend deleting all cookies for this domain and retrying the flow."
            )
        if flow.is_expired():
            raise FlowExpired(flow.expires_at)
        await self.authorize_get(request, flow)
        return json(flow.to_json())

    async def authorize_get(self, request: Request, flow: Flow) -> None:
        """Refuse to show a flow to someone it does not belong to (settings)."""

    async def _load(self, raw_id: str | None, missing: KratosError) -> Flow:
        flow_id = parse_flow_id(raw_id)
        if flow_id is None:
            raise missing
        flow = await self.context.flows.get(self.kind, flow_id)
        if flow is None:
            raise missing
        return flow

    # submit

    async def submit(self, request: Request) -> Response:
        """``POST /self-service/<kind>?flow=``: JSON or form bodies."""
        flow_id = request.query_params.get("flow")
        try:
            flow = await self._load(flow_id, NoFlow() if parse_flow_id(flow_id) is None else NotFound())
        except KratosError as error:
            return await self.browser_failure(request, error)
        browser = flow.type == FlowType.BROWSER
        try:
            body = await self.read_body(request)
            if flow.is_expired():
                raise await self._expired(request, flow)
            if browser and self.needs_csrf(request, flow):
                self._check_csrf(request, flow, body)
            session = await self.context.sessions.optional(request.headers, request.cookies)
            flow.ui.clear_messages()
            if not browser and _has_browser_cookies(request):
                raise ValidationFailed(
                    messages=[message(4000001, _API_COOKIE_REASON, reason=_API_COOKIE_REASON)]
                )
            flow.transient_payload = body.get("transient_payload")  # each submission brings its own
            try:
                return await self.complete(request, flow, body, session)
            except Handover as handover:  # its answer's failures are answered as the flow's own, below
                flow.updated_at = utcnow()
                await self.context.flows.update(flow)
                return await handover.respond(request, flow)
        except ValidationFailed as failure:
            return await self.show_again(request, flow, failure)
        except KratosError as error:
            if browser:
                return await self.browser_failure(request, error)
            raise

    async def read_body(self, request: Request) -> dict[str, Any]:
        """The submitted fields (links clicked in emails submit by ``GET`` in recovery and verification)."""
        return await read_submission(request)

    def needs_csrf(self, request: Request, flow: Flow) -> bool:
        """Whether this browser submission must carry the CSRF token."""
        return True

    def _check_csrf(self, request: Request, flow: Flow, body: dict[str, Any]) -> None:
        submitted = body.get("csrf_token") or request.headers.get("x-csrf-token")
        cookie = request.cookies.get(self.context.csrf_cookie)
        if not cookie:
            reason = "The CSRF cookie is missing. Make sure the browser sends the cookies of this flow."
        elif not submitted:
            reason = "The CSRF token is missing from the request body or the X-CSRF-Token header."
        else:
            reason = (
                "The HTTP Cookie Header was set and a CSRF token was sent but they do not match. "
                "We recommend deleting all cookies for this domain and retrying the flow."
            )
        if not (isinstance(submitted, str) and csrf.matches(submitted, cookie)):
            raise CsrfViolation(reason)

    async def _expired(self, request: Request, flow: Flow) -> FlowExpired:
        session = await self.context.sessions.optional(request.headers, request.cookies)
        replacement = await self.new_flow(request, flow.type, session)
        replacement.request_url = flow.request_url
        replacement.return_to = flow.return_to
        replacement.csrf_token = flow.csrf_token
        replacement.ui.set_value("csrf_token", flow.csrf_token)
        await self.context.flows.create(replacement)
        return FlowExpired(flow.expires_at, use_flow_id=str(replacement.id))

    async def show_again(self, request: Request, flow: Flow, failure: ValidationFailed) -> Response:
        """Store the flow with the failure's messages and show it again (the UI, or the flow as JSON)."""
        flow.ui.messages.extend(failure.messages)
        for name, text in failure.fields:
            flow.ui.add_field_message(name, text)
        flow.updated_at = utcnow()
        await self.context.flows.update(flow)
        if isinstance(failure, ContinueInUi):
            if not wants_json(request):
                return redirect(self.ui_location(flow))
            return error_json(BrowserLocationChangeRequired(self.ui_location(flow)))
        if flow.type == FlowType.BROWSER and not wants_json(request):
            status = 303 if isinstance(failure, NextStep) else self.error_redirect_status
            return redirect(self.ui_location(flow), status)
        return json(flow.to_json(), 400)

    async def browser_failure(self, request: Request, error: KratosError) -> Response:
        """An error for a browser: the error JSON for SPAs, else the error UI (or the redirect it names)."""
        if wants_json(request):
            return error_json(error)
        location = getattr(error, "redirect_browser_to", None)
        return redirect(location) if location else await self.context.browser_error(error)


def _has_browser_cookies(request: Request) -> bool:
    """Cookies other than Cloudflare's mark a browser calling an API flow."""
    return any(not name.startswith(("__cf", "cf_")) for name in request.cookies)
