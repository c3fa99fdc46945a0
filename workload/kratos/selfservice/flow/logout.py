"""Logout for browsers (a logout URL, then the redirect) and for apps (``DELETE`` with the token)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kratos.http.body import read_submission
from kratos.http.errors import BadRequest, Forbidden
from kratos.selfservice.flow.context import FlowContext, json, redirect, wants_json
from kratos.selfservice.flow.errors import SessionInactive
from kratos.session.tokens import token_hash


class LogoutEndpoints:
    """``/self-service/logout/browser``, ``/self-service/logout`` and ``/self-service/logout/api``."""

    def __init__(self, context: FlowContext, return_url: str | None) -> None:
        self.context = context
        self.return_url = return_url or context.default_return_url

    def routes(self) -> list[Route]:
        """The logout routes."""
        return [
            Route("/self-service/logout/browser", self.create_browser, methods=["GET"]),
            Route("/self-service/logout", self.logout, methods=["GET"]),
            Route("/self-service/logout/api", self.logout_api, methods=["DELETE"]),
        ]

    async def create_browser(self, request: Request) -> Response:
        """``{logout_url, logout_token}`` for the browser's session."""
        session = await self.context.sessions.optional(request.headers, request.cookies)
        if session is None:
            raise SessionInactive()
        return_to = self.context.checked_return_to(request.query_params.get("return_to"))
        token = self.context.sessions.logout_token(session)
        query = {"token": token, **({"return_to": return_to} if return_to else {})}
        return json({"logout_url": self.context.url("/self-service/logout", **query), "logout_token": token})

    async def logout(self, request: Request) -> Response:
        """End the session the logout token names; 303 to ``return_to`` (204 for JSON clients)."""
        try:
            return_to = self.context.checked_return_to(request.query_params.get("return_to"))
            token = request.query_params.get("token") or ""
            session = await self.context.sessions.pool.by_logout_token(token_hash(token)) if token else None
            if session is None or self.context.sessions.logout_token(session) != token:
                raise Forbidden(
                    "Unable to log out because the logout token in the URL query does not match the "
                    "session cookie."
                )
        except (BadRequest, Forbidden) as error:
            if wants_json(request):
                raise
            return await self.context.browser_error(error)
        await self.context.sessions.pool.revoke(session.id)
        response = (
            Response(status_code=204) if wants_json(request) else redirect(return_to or self.return_url)
        )
        self.context.clear_session_cookie(response)
        return response

    async def logout_api(self, request: Request) -> Response:
        """``DELETE /self-service/logout/api`` with ``{session_token}``: 204."""
        body = await read_submission(request)
        token = body.get("session_token")
        if not isinstance(token, str) or not token:
            raise BadRequest("The session_token is missing from the request body.")
        session = await self.context.sessions.pool.by_token(token_hash(token))
        if session is None or not session.is_active():
            raise Forbidden(
                "The provided Ory Session Token could not be found, is invalid, or otherwise malformed."
            )
        await self.context.sessions.pool.revoke(session.id)
        return Response(status_code=204)
