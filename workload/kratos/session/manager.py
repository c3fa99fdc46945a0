"""Issuing sessions and finding the session a request carries (token header, cookie or bearer)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from kratos.identity.model import Identity, utcnow
from kratos.session.cookie import CookieCodec
from kratos.session.errors import NoActiveSession
from kratos.session.model import AuthenticationMethod, Device, Session
from kratos.session.pool import SessionPool
from kratos.session.tokens import SESSION_PREFIX, logout_token, new_token, token_hash


@dataclass(frozen=True, slots=True)
class CookieSettings:
    """The session cookie as ``session.cookie`` and ``cookies`` configure it."""

    name: str
    path: str
    domain: str | None
    same_site: str
    secure: bool
    persistent: bool


@dataclass(frozen=True, slots=True)
class Credential:
    """Where a request's session token came from."""

    token: str
    from_cookie: bool


class SessionManager:
    """Creates sessions with fresh tokens and resolves them from requests."""

    def __init__(
        self,
        pool: SessionPool,
        codec: CookieCodec,
        cookie: CookieSettings,
        lifespan: timedelta,
        logout_secret: str,
    ) -> None:
        self.pool = pool
        self.logout_secret = logout_secret
        self.codec = codec
        self.cookie = cookie
        self.lifespan = lifespan

    async def issue(self, identity: Identity, methods: list[AuthenticationMethod], device: Device) -> Session:
        """Store a new session for ``identity``; the result carries its (only) plain tokens."""
        now = utcnow()
        session = Session(
            identity_id=identity.id,
            identity=identity,
            expires_at=now + self.lifespan,
            authentication_methods=methods,
            aal=aal_of(methods),
            authenticated_at=now,
            issued_at=now,
            devices=[device],
        )
        token, logout = new_token(SESSION_PREFIX), self.logout_token(session)
        session.token, session.logout_token = token, logout
        await self.pool.create(session, token_hash(token), token_hash(logout))
        return session

    async def add_method(
        self,
        session: Session,
        method: str,
        aal: str,
        *,
        reauthenticated: bool = True,
        device: Device | None = None,
        provider: str = "",
    ) -> None:
        """Record ``method`` completed at ``aal`` on an existing session (a refresh, a step-up).

        A login (``reauthenticated``) counts as authenticating now and starts the lifespan again, as
        upstream; a second factor set up in settings only adds the method. A login's ``device`` joins the
        session's devices, as upstream records one per authentication.
        """
        completed = AuthenticationMethod(method, aal, provider=provider)
        session.authentication_methods.append(completed)
        session.aal = aal_of(session.authentication_methods)
        if reauthenticated:
            session.authenticated_at = completed.completed_at
            session.expires_at = completed.completed_at + self.lifespan
        if device is not None:
            session.devices.append(device)
        await self.pool.add_method(session, device)

    def logout_token(self, session: Session) -> str:
        """The token that ends ``session`` from ``/self-service/logout``."""
        return logout_token(self.logout_secret, session.id)

    def credential(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> Credential | None:
        """The session token of a request: ``X-Session-Token``, then the cookie, then a bearer token."""
        token = headers.get("x-session-token")
        if token:
            return Credential(token, from_cookie=False)
        sealed = cookies.get(self.cookie.name)
        if sealed:
            opened = self.codec.open(sealed)
            if opened:
                return Credential(opened, from_cookie=True)
        authorization = headers.get("authorization", "")
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return Credential(value.strip(), from_cookie=False)
        return None

    async def active(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> Session:
        """The request's active session, with identity and devices; :class:`NoActiveSession` otherwise."""
        credential = self.credential(headers, cookies)
        if credential is None:
            raise NoActiveSession()
        session = await self.pool.by_token(token_hash(credential.token))
        if session is None or not session.is_active():
            raise NoActiveSession()
        session.token = credential.token
        return session

    async def optional(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> Session | None:
        """The request's active session, or None."""
        try:
            return await self.active(headers, cookies)
        except NoActiveSession:
            return None

    def cookie_value(self, session: Session) -> str:
        """The sealed cookie value carrying the session's token."""
        assert session.token, "only a session read from a request or just issued has its token"
        return self.codec.seal(session.token)

    def cookie_max_age(self, session: Session) -> int | None:
        """Seconds until expiry for a persistent cookie, else None (a browser-session cookie)."""
        if not self.cookie.persistent:
            return None
        return max(0, int((session.expires_at - utcnow()).total_seconds()))


def aal_of(methods: list[AuthenticationMethod]) -> str:
    """``aal2`` when the methods include a first and a second factor, else ``aal1``."""
    levels = {method.aal for method in methods}
    return "aal2" if {"aal1", "aal2"} <= levels else "aal1"


def satisfies(session: Session, required_aal: str) -> bool:
    """Whether ``session`` meets ``required_aal`` (``aal1`` or ``highest_available``).

    ``highest_available`` asks for aal2 from identities that have a second factor (their stored
    ``available_aal``), so the session's identity must be loaded.
    """
    if session.aal == "aal2" or required_aal == "aal1":
        return True
    return session.identity is None or session.identity.available_aal != "aal2"
