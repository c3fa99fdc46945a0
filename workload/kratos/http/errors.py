"""The error hierarchy, rendered as Kratos's (herodot) error JSON."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class KratosError(Exception):
    """An error with an HTTP status, rendered as ``{"error": {...}}``."""

    status: int = 500
    error_id: str | None = None
    default_reason: str = ""

    def __init__(
        self,
        reason: str | None = None,
        *,
        message: str | None = None,
        details: dict[str, Any] | None = None,
        error_id: str | None = None,
        status: int | None = None,
    ) -> None:
        if status is not None:
            self.status = status
        if error_id is not None:
            self.error_id = error_id
        self.reason = reason if reason is not None else self.default_reason
        self.message = message or _status_message(self.status)
        self.details = details or {}
        super().__init__(self.reason or self.message)

    def to_dict(self) -> dict[str, Any]:
        """The wire form of the error body."""
        body: dict[str, Any] = {
            "code": self.status,
            "status": HTTPStatus(self.status).phrase,
            "message": self.message,
        }
        if self.error_id:
            body["id"] = self.error_id
        if self.reason:
            body["reason"] = self.reason
        if self.details:
            body["details"] = self.details
        return {"error": body}


def _status_message(status: int) -> str:
    """Herodot's default messages for the common statuses."""
    return {
        400: "The request was malformed or contained invalid parameters",
        401: "The request could not be authorized",
        403: "The requested action was forbidden",
        404: "The requested resource could not be found",
        405: "The requested method is not allowed",
        409: "The resource could not be created due to a conflict",
        410: "The requested resource is no longer available",
        413: "The request entity is too large",
        415: "The request is using an unknown content type",
        422: "The request was well-formed but was unable to be followed due to semantic errors",
        500: "An internal server error occurred, please contact the system administrator",
        503: "The service is unavailable",
    }.get(status, HTTPStatus(status).phrase)


class BadRequest(KratosError):
    """400."""

    status = 400


class Unauthorized(KratosError):
    """401."""

    status = 401


class Forbidden(KratosError):
    """403."""

    status = 403


class NotFound(KratosError):
    """404."""

    status = 404
    default_reason = "Unable to locate the resource"


class MethodNotAllowed(KratosError):
    """405."""

    status = 405


class Conflict(KratosError):
    """409."""

    status = 409


class Gone(KratosError):
    """410."""

    status = 410


class PayloadTooLarge(KratosError):
    """A body over the limit: a 400 in Go's words (its ``MaxBytesReader``), as upstream answers, never a 413.

    The message is upstream's and there is no reason, whatever the caller gives.
    """

    status = 400

    def __init__(self, reason: str | None = None, **_: Any) -> None:
        super().__init__("", message="http: request body too large")


class UriTooLong(KratosError):
    """414."""

    status = 414


class UnsupportedMediaType(KratosError):
    """415."""

    status = 415


class Unprocessable(KratosError):
    """422."""

    status = 422


class ServiceUnavailable(KratosError):
    """503."""

    status = 503


class InternalError(KratosError):
    """500: never for bad input."""

    status = 500
