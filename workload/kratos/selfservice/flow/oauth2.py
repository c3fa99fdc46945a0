"""Ory Hydra's login challenges in login and registration flows (``?login_challenge=``), as upstream.

The flow keeps the challenge and Hydra's login request (``oauth2_login_challenge``, ``oauth2_login_request``);
a login Hydra may skip, with a session, is accepted at once; otherwise the login is a forced refresh. Once the
flow signs someone in, the login is accepted with the session's subject, id and methods, and the browser goes
to Hydra's ``redirect_to``.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Protocol
from urllib.parse import urlencode

from starlette.requests import Request

from kratos.http.errors import BadRequest, KratosError
from kratos.session.manager import SessionManager
from kratos.session.model import Session

CHALLENGE, LOGIN_REQUEST = "oauth2_login_challenge", "oauth2_login_request"


class HydraLoginRequest(Protocol):
    """What the flows read of Hydra's login request."""

    @property
    def challenge(self) -> str:
        """The login challenge."""
        ...

    @property
    def skip(self) -> bool:
        """Whether Hydra remembers the user and the form may be skipped."""
        ...

    @property
    def request_url(self) -> str:
        """The OAuth2 client's authorization request."""
        ...

    @property
    def raw(self) -> dict[str, Any]:
        """The request as Hydra sent it."""
        ...


class LoginChallenges(Protocol):
    """Hydra's admin API as the flows use it (``kratos.hydra.HydraClient``)."""

    async def login_request(self, challenge: str) -> HydraLoginRequest:
        """Hydra's login request for ``challenge``."""
        ...

    async def accept_login(
        self,
        challenge: str,
        *,
        subject: str,
        session_id: str | None,
        remember: bool,
        remember_for: int,
        amr: list[str],
        acr: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> str:
        """Accept the login; where Hydra sends the browser next."""
        ...


def challenge_of(request: Request, hydra: LoginChallenges | None) -> str | None:
    """The request's ``login_challenge``; refused when Hydra is not configured or it is empty."""
    if "login_challenge" not in request.query_params:
        return None
    if hydra is None:
        raise KratosError(
            "refusing to parse login_challenge query parameter because oauth2_provider.url is invalid "
            "or unset",
            message="invalid configuration",
            error_id="invalid_configuration",
            status=500,
        )
    challenge = request.query_params["login_challenge"]
    if not challenge:
        raise BadRequest("the login_challenge parameter is present but empty")
    return challenge


def with_query(request: Request, **params: str) -> Request:
    """The same request with query parameters set (``refresh``, ``return_to``)."""
    query = {**request.query_params, **params}
    scope = {**request.scope, "query_string": urlencode(query).encode()}
    return Request(scope, request.receive)


CURRENT: ContextVar[HydraLoginRequest] = ContextVar("hydra_login_request")  # of the request being served


def flow_fields() -> dict[str, Any]:
    """The new flow's fields for the Hydra login request it is started with (its wire form, as upstream)."""
    login_request = CURRENT.get(None)
    if login_request is None:
        return {}
    return {CHALLENGE: login_request.challenge, LOGIN_REQUEST: login_request.raw}


async def accept(hydra: LoginChallenges, challenge: str, session: Session, sessions: SessionManager) -> str:
    """Accept Hydra's login for the session's identity; Hydra's ``redirect_to``.

    Remembered as the session cookie is (persistent, for the session lifespan). The ACR is the session's AAL
    (``aal1``/``aal2``), so OAuth2 clients can ask for a second factor.
    """
    return await hydra.accept_login(
        challenge,
        subject=str(session.identity_id),
        session_id=str(session.id),
        remember=sessions.cookie.persistent,
        remember_for=int(sessions.lifespan.total_seconds()),
        amr=[method.method for method in session.authentication_methods],
        acr=session.aal,  # the session's assurance level (upstream sends none)
    )
