"""Domain errors of sessions."""

from __future__ import annotations


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
