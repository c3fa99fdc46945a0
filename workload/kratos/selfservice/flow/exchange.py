"""The session token exchange: a native app signs in through a browser and then collects its session token.

An API login or registration flow started with ``return_session_token_exchange_code=true`` answers with
``session_token_exchange_code`` (the init code, known only to the app). When a browser completes the flow
(social sign-in), it is sent to ``return_to`` with ``code`` (the return-to code); the app exchanges both at
``GET /sessions/token-exchange`` for the session token, as upstream. Only digests of the codes are stored,
and the token is sealed with the cipher.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kratos.hash.cipher import Cipher, CipherError
from kratos.http.errors import BadRequest, NotFound
from kratos.http.responses import JSONResponse
from kratos.schema import schema_url
from kratos.selfservice.flow.model import Flow
from kratos.session.model import Session
from kratos.session.pool import SessionPool

RETURN_TO_CODE = "exchange_return_to_code"  # flow.internal: the code the browser brings back to the app
IN_BROWSER: ContextVar[bool] = ContextVar("completed_in_a_browser", default=False)  # a callback completes


@dataclass(slots=True)
class Exchange:
    """One flow's exchange: which session its browser got, once it has one."""

    flow_id: uuid.UUID
    session_id: uuid.UUID | None = None
    sealed_token: str | None = None


class ExchangePool(Protocol):
    """Storage of exchanges (``persistence`` implements it)."""

    async def create(self, flow_id: uuid.UUID, init_digest: str, return_to_digest: str) -> None:
        """A new exchange for ``flow_id``."""
        ...

    async def attach(self, flow_id: uuid.UUID, session_id: uuid.UUID, sealed_token: str) -> None:
        """Record the session the flow's browser signed in to."""
        ...

    async def move(self, old_flow_id: uuid.UUID, new_flow_id: uuid.UUID) -> None:
        """The flow continued as another (a login that became a registration)."""
        ...

    async def by_codes(self, init_digest: str, return_to_digest: str) -> Exchange | None:
        """The exchange both codes belong to."""
        ...


def digest(code: str) -> str:
    """How codes are stored."""
    return hashlib.sha256(code.encode()).hexdigest()


class SessionTokenExchange:
    """Issues the codes, hands the session over, and answers ``/sessions/token-exchange``."""

    def __init__(
        self, pool: ExchangePool, sessions: SessionPool, cipher: Cipher, public_base_url: str
    ) -> None:
        self.pool = pool
        self.sessions = sessions
        self.cipher = cipher
        self.public_base_url = public_base_url

    async def start(self, flow: Flow) -> str:
        """Codes for a new, stored API flow; the init code, for the app.

        The flow keeps the return-to code: store it again.
        """
        init_code, return_to_code = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        flow.internal[RETURN_TO_CODE] = return_to_code
        await self.pool.create(flow.id, digest(init_code), digest(return_to_code))
        return init_code

    @staticmethod
    def started_for(flow: Flow) -> bool:
        """Whether the flow was started for an exchange (its browser needs no continuity cookie)."""
        return bool(flow.internal.get(RETURN_TO_CODE))

    async def hand_over(self, flow: Flow, session: Session, fallback_url: str) -> str | None:
        """Keep the new session for the app; where the browser goes (``return_to`` with ``code``).

        Only for an API flow a browser completed (the social sign-in callback); apps that submit themselves
        get their token in the answer.
        """
        return_to_code = flow.internal.get(RETURN_TO_CODE)
        if not return_to_code or not session.token or not IN_BROWSER.get():
            return None
        await self.pool.attach(flow.id, session.id, self.cipher.encrypt(session.token.encode()))
        target = flow.return_to or fallback_url
        separator = "&" if urlsplit(target).query else "?"
        return f"{target}{separator}{urlencode({'code': return_to_code})}"

    async def move(self, old: Flow, new: Flow) -> None:
        """The exchange follows the flow into its successor."""
        if RETURN_TO_CODE in old.internal:
            new.internal[RETURN_TO_CODE] = old.internal[RETURN_TO_CODE]
            await self.pool.move(old.id, new.id)

    def routes(self) -> list[Route]:
        """``GET /sessions/token-exchange``."""
        return [Route("/sessions/token-exchange", self.exchange, methods=["GET"])]

    async def exchange(self, request: Request) -> Response:
        """The session token and session for both codes (as often as asked, as upstream)."""
        init_code = request.query_params.get("init_code", "")
        return_to_code = request.query_params.get("return_to_code", "")
        if not init_code or not return_to_code:
            raise BadRequest('"init_code" and "return_to_code" query params must be set')
        found = await self.pool.by_codes(digest(init_code), digest(return_to_code))
        if found is None or found.session_id is None or not found.sealed_token:
            raise NotFound('no session yet for this "code"')
        session = await self.sessions.get(found.session_id, with_identity=True, with_devices=True)
        if session is None:
            raise NotFound('no session yet for this "code"')
        try:
            token = self.cipher.decrypt(found.sealed_token).decode()
        except CipherError:
            raise NotFound('no session yet for this "code"') from None
        identity = session.identity
        shown = (
            identity.to_json(schema_url(self.public_base_url, identity.schema_id), admin=False)
            if identity is not None
            else None
        )
        return JSONResponse({"session_token": token, "session": session.to_json(shown)})
