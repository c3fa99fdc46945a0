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
