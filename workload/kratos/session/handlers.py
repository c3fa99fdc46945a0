"""A user's own sessions (``/sessions``, whoami in :mod:`kratos.session.whoami`) and the admin session API."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kratos.http.errors import BadRequest, NotFound, Unauthorized
from kratos.http.responses import JSONResponse
from kratos.identity.model import Identity, utcnow
from kratos.schema import schema_url
from kratos.session.errors import NoActiveSession
from kratos.session.manager import SessionManager
from kratos.session.model import Session
from kratos.session.pool import SessionQuery
from kratos.session.whoami import Whoami

_UNAUTHORIZED = Unauthorized("No valid session credentials found in the request.")


class SessionHandlers:
    """Handlers over the session manager; ``public_base_url`` builds identities' schema URLs."""

    def __init__(
        self,
        sessions: SessionManager,
        whoami: Whoami,
        public_base_url: str,
        admin_base_url: str,
        earliest_possible_extend: timedelta | None = None,
    ) -> None:
        self.sessions = sessions
        # ``session.earliest_possible_extend``: by default the lifespan, so every extension extends.
        self.earliest_possible_extend = earliest_possible_extend or sessions.lifespan
        self.pool = sessions.pool
        self.whoami = whoami
        self.public_base_url = public_base_url
        self.admin_base_url = admin_base_url.rstrip("/")

    def public_routes(self) -> list[Route]:
        """Routes of the public port (whoami's is also served ahead of the router: ``driver.app``)."""
        return [
            Route("/sessions/whoami", self.whoami, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
            Route("/sessions", self.list_mine, methods=["GET"]),
            Route("/sessions", self.revoke_others, methods=["DELETE"]),
            Route("/sessions/{id}", self.revoke_mine, methods=["DELETE"]),
        ]

    def admin_routes(self) -> list[Route]:
        """Routes of the admin port."""
        return [
            Route("/sessions", self.admin_list, methods=["GET"]),
            Route("/sessions/{id}", self.admin_get, methods=["GET"]),
            Route("/sessions/{id}", self.admin_disable, methods=["DELETE"]),
            Route("/sessions/{id}/extend", self.admin_extend, methods=["PATCH"]),
            Route("/identities/{id}/sessions", self.admin_identity_sessions, methods=["GET"]),
            Route("/identities/{id}/sessions", self.admin_delete_identity_sessions, methods=["DELETE"]),
        ]

    def _identity(self, identity: Identity | None, *, admin: bool) -> dict[str, Any] | None:
        if identity is None:
            return None
        return identity.to_json(schema_url(self.public_base_url, identity.schema_id), admin=admin)

    def render(self, session: Session, *, admin: bool = False, devices: bool = True) -> dict[str, Any]:
        """A session's wire form."""
        return session.to_json(self._identity(session.identity, admin=admin), devices=devices)

    async def _mine(self, request: Request) -> Session:
        try:
            return await self.sessions.active(request.headers, request.cookies)
        except NoActiveSession:
            raise _UNAUTHORIZED from None

    async def list_mine(self, request: Request) -> Response:
        """The caller's other sessions."""
        session = await self._mine(request)
        found, _ = await self.pool.list(
            SessionQuery(identity_id=session.identity_id, active=True, with_identity=True, with_devices=True)
        )
        return JSONResponse([self.render(s) for s in found if s.id != session.id])

    async def revoke_others(self, request: Request) -> Response:
        """End every other session of the caller: ``{count}``."""
        session = await self._mine(request)
        count = await self.pool.revoke_all(session.identity_id, except_id=session.id)
        return JSONResponse({"count": count})

    async def revoke_mine(self, request: Request) -> Response:
        """End one of the caller's other sessions."""
        session = await self._mine(request)
        target = _uuid(request.path_params["id"])
        if target == session.id:
            raise BadRequest("You can not revoke the session you are currently using. Use logout instead.")
        if not await self.pool.revoke(target, identity_id=session.identity_id):
            raise NotFound()
        return Response(status_code=204)

    async def admin_list(self, request: Request) -> Response:
        """``GET /admin/sessions``: ``active``, ``expand=identity|devices``, keyset pages."""
        return await self._admin_page(request, None)

    async def admin_identity_sessions(self, request: Request) -> Response:
        """``GET /admin/identities/{id}/sessions``."""
        return await self._admin_page(request, _uuid(request.path_params["id"]))

    async def _admin_page(self, request: Request, identity_id: uuid.UUID | None) -> Response:
        query = request.query_params
        expand = set(query.getlist("expand"))
        if expand - {"identity", "devices"}:
            raise BadRequest("expand accepts identity and devices.")
        active = query.get("active")
        if active not in (None, "", "true", "false"):
            raise BadRequest("active must be true or false.")
        size = _page_size(query.get("page_size"))
        token = query.get("page_token")
        found, after = await self.pool.list(
            SessionQuery(
                page_size=size,
                after=_uuid(token, BadRequest("The page_token is invalid.")) if token else None,
                identity_id=identity_id,
                active=None if not active else active == "true",
                with_identity=identity_id is None and "identity" in expand,
                with_devices="devices" in expand or identity_id is not None,
            )
        )
        headers = {}
        if after is not None:
            path = f"/admin/identities/{identity_id}/sessions" if identity_id else "/admin/sessions"
            headers["Link"] = f'<{self.admin_base_url}{path}?page_size={size}&page_token={after}>; rel="next"'
        rendered = [
            self.render(s, admin=True, devices="devices" in expand or identity_id is not None) for s in found
        ]
        return JSONResponse(rendered, headers=headers)

    async def admin_get(self, request: Request) -> Response:
        """``GET /admin/sessions/{id}``."""
        expand = set(request.query_params.getlist("expand"))
        session = await self.pool.get(
            _uuid(request.path_params["id"]),
            with_identity="identity" in expand,
            with_devices="devices" in expand,
        )
        if session is None:
            raise NotFound()
        return JSONResponse(self.render(session, admin=True, devices="devices" in expand))

    async def admin_disable(self, request: Request) -> Response:
        """``DELETE /admin/sessions/{id}``: deactivate."""
        if not await self.pool.revoke(_uuid(request.path_params["id"])):
            raise NotFound()
        return Response(status_code=204)

    async def admin_extend(self, request: Request) -> Response:
        """``PATCH /admin/sessions/{id}/extend``: ``expires_at`` = now + lifespan.

        Only once the session is within ``session.earliest_possible_extend`` of its expiry; before that
        it is answered unchanged.
        """
        session_id = _uuid(request.path_params["id"])
        session = await self.pool.get(session_id, with_identity=False, with_devices=False)
        if session is None:
            raise NotFound()
        now = utcnow()
        if session.expires_at - self.earliest_possible_extend <= now:
            session = await self.pool.extend(session_id, now + self.sessions.lifespan)
            if session is None:
                raise NotFound()
        return JSONResponse(self.render(session, admin=True, devices=False))

    async def admin_delete_identity_sessions(self, request: Request) -> Response:
        """``DELETE /admin/identities/{id}/sessions``."""
        if not await self.pool.delete_all(_uuid(request.path_params["id"])):
            raise NotFound()
        return Response(status_code=204)


def _uuid(value: str, error: Exception | None = None) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise (error or NotFound()) from None


def _page_size(raw: str | None) -> int:
    if not raw:
        return 250
    try:
        size = int(raw)
    except ValueError:
        raise BadRequest(f"The page_size parameter must be an integer, got {raw!r}.") from None
    return 250 if size <= 0 else min(size, 1000)
