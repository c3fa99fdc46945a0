"""Domain errors of sessions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from kratos.http.errors import Forbidden


class SessionError(Exception):
    """Base class of session errors."""


class NoActiveSession(SessionError):
    """The request carries no session credential, or one that is unknown, expired or revoked."""

    def __init__(self, reason: str = "No valid session credentials found in the request.") -> None:
        super().__init__(reason)


class SessionNotFound(SessionError):
    """No session has the requested id (or it belongs to another identity)."""


class TokenizeFailed(SessionError):
    """The session cannot be tokenized as asked; ``client_error``: the request or its template is at fault."""

    def __init__(self, reason: str, *, client_error: bool = True, debug: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.client_error = client_error
        self.debug = debug


class AalNotSatisfied(Forbidden):
    """403 ``session_aal2_required``: the session must be stepped up with a second factor."""

    error_id = "session_aal2_required"

    def __init__(self, redirect_browser_to: str) -> None:
        super().__init__(
            "An active session was found but it does not fulfill the requested Authenticator Assurance "
            "Level. Please verify yourself with a second factor to resolve this issue.",
            message="Session does not fulfill the requested Authenticator Assurance Level",
            details={"redirect_browser_to": redirect_browser_to},
        )
        self.redirect_browser_to = redirect_browser_to

    def to_dict(self) -> dict[str, Any]:
        """The error plus ``redirect_browser_to``, as upstream."""
        return {**super().to_dict(), "redirect_browser_to": self.redirect_browser_to}


def aal2_login_url(public_base_url: str, return_to: str | None = None) -> str:
    """The browser login that steps a session up to aal2 (then back to ``return_to``)."""
    query = {"aal": "aal2", **({"return_to": return_to} if return_to else {})}
    return f"{public_base_url.rstrip('/')}/self-service/login/browser?{urlencode(query)}"
