"""Domain errors of identity management; handlers decide how each one reaches a client."""

from __future__ import annotations


class IdentityError(Exception):
    """Base class: something about an identity that its caller must fix or hear about."""


class IdentityNotFound(IdentityError):
    """No identity has the requested id or external id."""

    def __init__(self) -> None:
        super().__init__("Unable to locate the resource")


class DuplicateIdentifier(IdentityError):
    """An identifier, address or external id of the identity belongs to another identity."""

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__("This identity conflicts with another identity that already exists.")


class UnknownSchema(IdentityError):
    """The identity names a schema that is not configured."""

    def __init__(self, schema_id: str) -> None:
        self.schema_id = schema_id
        super().__init__(f"Unable to find JSON Schema ID: {schema_id}")


class InvalidIdentity(IdentityError):
    """The identity cannot be stored as it is (an over-long identifier, an unusable credential, ...)."""
