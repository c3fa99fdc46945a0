"""What login and registration share once an identity is known: the session, hooks and the answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kratos.config.selfservice import AfterMethod
from kratos.http import csrf
from kratos.identity.model import Identity
from kratos.selfservice.flow.context import FlowContext, device, json, redirect, wants_json
from kratos.selfservice.flow.model import Flow, FlowType
from kratos.session.model import AuthenticationMethod, Session
from kratos.session.pool import SessionPool


@dataclass(slots=True)
class Outcome:
    """The result of a completed login or registration."""

    identity: Identity
    session: Session | None
    continue_with: list[dict[str, Any]] = field(default_factory=list)
    hide_identity: bool = False  # an aal1 session that still needs its second factor
    # The browser's new CSRF token (the identity changed); flows started on the way carry it already.
    csrf_token: str = field(default_factory=csrf.new_token)


def return_url(context: FlowContext, flow: Flow, after: Any, method: str) -> str:
    """Where a browser goes when the flow succeeds."""
    specific: AfterMethod[Any] | None = getattr(after, method, None)
    return (
        flow.return_to
        or (specific.default_browser_return_url if specific else None)
        or after.default_browser_return_url
        or context.default_return_url
    )


def spa_redirect(request: Request, flow: Flow, outcome: Outcome, return_to: str) -> None:
    """Tell a single-page app where the browser goes next (``continue_with`` ``redirect_browser_to``)."""
    if flow.type == FlowType.BROWSER and wants_json(request):
        outcome.continue_with.append({"action": "redirect_browser_to", "redirect_browser_to": return_to})


async def start_session(
    context: FlowContext,
    request: Request,
    identity: Identity,
    method: str | AuthenticationMethod,
    revoke_others: bool,
) -> Session:
    """Issue a session for ``identity`` after ``method``; ``revoke_others`` ends its other sessions."""
    completed = method if isinstance(method, AuthenticationMethod) else AuthenticationMethod(method, "aal1")
    session = await context.sessions.issue(identity, [completed], device(request))
    if revoke_others:
        pool: SessionPool = context.sessions.pool
        await pool.revoke_all(identity.id, except_id=session.id)
    return session


async def handed_over(context: FlowContext, flow: Flow, outcome: Outcome) -> Response | None:
    """A browser that completed an app's flow goes back to the app, which collects the session by code."""
    if flow.type != FlowType.API or context.exchange is None or outcome.session is None:
        return None
    target = await context.exchange.hand_over(flow, outcome.session, context.default_return_url)
    return redirect(target) if target else None


def answer(
    context: FlowContext,
    request: Request,
    flow: Flow,
    outcome: Outcome,
    body: dict[str, Any],
    destination: str,
) -> Response:
    """The success answer: tokens for apps, cookies and a redirect (or JSON) for browsers."""
    session = outcome.session
    if flow.type == FlowType.API:
        if session is not None:
            body["session"] = session.to_json(_public_identity(context, outcome))
            body["session_token"] = session.token
        body["continue_with"] = outcome.continue_with or None
        return json(body)
    if wants_json(request):
        if session is not None:
            body["session"] = session.to_json(_public_identity(context, outcome))
        body["continue_with"] = outcome.continue_with or None
        response = json(body)
    else:
        response = redirect(destination)
    if session is not None:
        context.set_session_cookie(response, session)
        context.set_csrf_cookie(response, outcome.csrf_token)  # a new identity, a new CSRF token
    return response


def _public_identity(context: FlowContext, outcome: Outcome) -> dict[str, Any] | None:
    if outcome.hide_identity:
        return None
    return outcome.identity.to_json(context.schema_url(outcome.identity), admin=False)
