"""The errors of self-service flows, as upstream names them (``error.id``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kratos.http.errors import BadRequest, Forbidden, Gone, KratosError, Unauthorized, Unprocessable
from kratos.identity.model import utcnow


class SessionAlreadyAvailable(BadRequest):
    """A login or registration while signed in."""

    error_id = "session_already_available"

    def __init__(self, reason: str) -> None:
        super().__init__(reason, message="you are already logged in")


class SessionInactive(Unauthorized):
    """A flow that needs a session, without one."""

    error_id = "session_inactive"

    def __init__(self) -> None:
        super().__init__(
            "No active session was found in this request.",
            message="request does not have a valid authentication session",
        )


class SessionAal1Required(Unauthorized):
    """``aal=aal2`` asked for without a session to step up."""

    error_id = "session_aal1_required"

    def __init__(self) -> None:
        super().__init__(
            "You can not requested a higher AAL (AAL2/AAL3) without an active session.",
            message="aal2 and aal3 can only be requested if a session exists already",
        )


class ReturnToForbidden(BadRequest):
    """``return_to`` is not an allowed return URL."""

    error_id = "self_service_flow_return_to_forbidden"

    def __init__(self) -> None:
        super().__init__(
            "Requested return_to URL is not allowed.", message="the return_to address is not allowed"
        )


class CsrfViolation(Forbidden):
    """A browser submission whose CSRF token does not match its cookie."""

    error_id = "security_csrf_violation"

    def __init__(self, reject_reason: str) -> None:
        super().__init__(
            "Please retry the flow and optionally clear your cookies. The request was rejected to protect "
            "you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal "
            "information, and other serious security issues.",
            message="the request was rejected to protect you from Cross-Site-Request-Forgery",
            details={
                "docs": "https://www.ory.com/docs/troubleshooting/csrf",
                "hint": "We detected a regular browser or server-side call. To debug browser calls check "
                "your Browser's Network Tab to see what cookies are included or excluded. If you are calling "
                "from a server ensure that the appropriate cookies are being forwarded and that the SDK "
                "method is called correctly.",
                "reject_reason": reject_reason,
            },
        )


class FlowExpired(Gone):
    """A flow past its lifespan; ``use_flow_id`` names the new one to use."""

    error_id = "self_service_flow_expired"

    def __init__(self, expired_at: datetime, use_flow_id: str | None = None) -> None:
        super().__init__("The self-service flow has expired", message="self-service flow expired")
        self.expired_at = expired_at
        self.use_flow_id = use_flow_id

    def to_dict(self) -> dict[str, Any]:
        """The error plus ``expired_at``, ``since`` (nanoseconds) and ``use_flow_id``."""
        body = super().to_dict()
        body["expired_at"] = self.expired_at
        body["since"] = int((utcnow() - self.expired_at).total_seconds() * 1e9)
        if self.use_flow_id:
            body["use_flow_id"] = self.use_flow_id
        return body


class BrowserLocationChangeRequired(Unprocessable):
    """A JSON browser client must navigate to ``redirect_browser_to``."""

    error_id = "browser_location_change_required"

    def __init__(self, redirect_browser_to: str) -> None:
        super().__init__(
            f"In order to complete this flow please redirect the browser to: {redirect_browser_to}",
            message="browser location change required",
        )
        self.redirect_browser_to = redirect_browser_to

    def to_dict(self) -> dict[str, Any]:
        """The error plus ``redirect_browser_to``."""
        return {**super().to_dict(), "redirect_browser_to": self.redirect_browser_to}


class RefreshRequired(Forbidden):
    """A settings change outside ``privileged_session_max_age``."""

    error_id = "session_refresh_required"

    def __init__(self, redirect_browser_to: str) -> None:
        super().__init__(
            "The login session is too old and thus not allowed to update these fields. "
            "Please re-authenticate.",
            message="The login session is too old and thus not allowed to update these fields. "
            "Please re-authenticate.",
        )
        self.redirect_browser_to = redirect_browser_to

    def to_dict(self) -> dict[str, Any]:
        """The error plus ``redirect_browser_to``."""
        return {**super().to_dict(), "redirect_browser_to": self.redirect_browser_to}


class FlowDisabled(BadRequest):
    """Registration turned off."""

    error_id = "self_service_flow_disabled"

    def __init__(self) -> None:
        super().__init__(
            "Registration is not allowed because it was disabled.", message="registration flow disabled"
        )


class IdentityDisabled(BadRequest):
    """A login of an inactive identity."""

    error_id = "identity_disabled"

    def __init__(self) -> None:
        super().__init__("This account was disabled.", message="identity is disabled")


class NoFlow(BadRequest):
    """The ``flow`` parameter is missing or not a flow id."""

    def __init__(self) -> None:
        super().__init__("The flow query parameter is missing or malformed.")


__all__ = ["KratosError"]
