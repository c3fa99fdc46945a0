"""How identity errors reach admin API clients: Kratos's error JSON."""

from __future__ import annotations

from pydantic import ValidationError

from kratos.http.errors import BadRequest, Conflict, KratosError, NotFound
from kratos.identity.errors import DuplicateIdentifier, IdentityError, IdentityNotFound
from kratos.schema import TraitsValidationError


def http_error(error: BaseException) -> KratosError:
    """The admin API's answer to a domain error (400 unless it is a missing or conflicting identity)."""
    if isinstance(error, KratosError):
        return error
    if isinstance(error, IdentityNotFound):
        return not_found()
    if isinstance(error, DuplicateIdentifier):
        return Conflict(str(error))
    if isinstance(error, TraitsValidationError):
        return BadRequest(error.reason())
    if isinstance(error, ValidationError):
        return BadRequest(f"The request body is invalid: {error.errors()[0]['msg']}")
    return BadRequest(str(error))


HANDLED: tuple[type[Exception], ...] = (IdentityError, TraitsValidationError)


def not_found() -> NotFound:
    """Upstream's answer to a missing row: its text as the message, no reason."""
    return NotFound("", message="Unable to locate the resource")


def unique_violation() -> Conflict:
    """Upstream's answer to a taken identifier where it does not say more (batch entries, updates)."""
    return Conflict(
        "", message="Unable to insert or update resource because a resource with that value exists already"
    )
