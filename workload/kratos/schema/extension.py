"""The ``ory.sh/kratos`` schema extension: credential identifiers and addresses found in traits.

Like upstream, the extension runs as a keyword while the traits are validated, on every value whose
schema carries it (nested objects and array items included). Its checks (an unusable phone number,
a verification address without format, ...) are reported as validation errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from jsonschema import ValidationError
from jsonschema.protocols import Validator

from kratos.schema.formats import is_email
from kratos.schema.gofmt import go_quote, go_string
from kratos.schema.normalize import (
    IdentifierError,
    graceful_normalization,
    normalize_email,
    normalize_identifier,
)
from kratos.schema.translate import EXTENSION

NO_FORMAT = (
    "no format specified. A format is required if verification is enabled. "
    'If this was intentional, please set "format" to "no-validate"'
)


@dataclass
class TraitsExtension:
    """What the extension found in one set of traits (values normalised as upstream stores them).

    ``credential_identifiers`` maps ``password``, ``webauthn`` and ``code`` to identifiers in
    document order; ``code_addresses`` are the code credential's ``(via, address)`` pairs sorted as
    upstream stores them in its config. Addresses are ``(via, value)`` pairs without duplicates.
    """

    credential_identifiers: dict[str, list[str]] = field(default_factory=dict)
    code_addresses: list[tuple[str, str]] = field(default_factory=list)
    passkey_display_name: str | None = None
    totp_account_name: str | None = None
    verifiable_addresses: list[tuple[str, str]] = field(default_factory=list)
    recovery_addresses: list[tuple[str, str]] = field(default_factory=list)

    def add_identifier(self, kind: str, value: str) -> None:
        """Record a credential identifier once."""
        found = self.credential_identifiers.setdefault(kind, [])
        if value not in found:
            found.append(value)

    def add_code_address(self, via: str, address: str) -> None:
        """Record a code credential address and its identifier."""
        self.add_identifier("code", address)
        if (via, address) not in self.code_addresses:
            self.code_addresses.append((via, address))
            self.code_addresses.sort(key=lambda pair: (pair[1], pair[0]))

    def add_verifiable(self, via: str, value: str) -> None:
        """Record a verifiable address once."""
        if (via, value) not in self.verifiable_addresses:
            self.verifiable_addresses.append((via, value))

    def add_recovery(self, via: str, value: str) -> None:
        """Record a recovery address once (compared after graceful normalisation)."""
        key = graceful_normalization(value)
        if all(v != via or graceful_normalization(a) != key for v, a in self.recovery_addresses):
            self.recovery_addresses.append((via, value))


_FOUND: ContextVar[TraitsExtension] = ContextVar("kratos_traits_extension")


def collecting() -> tuple[TraitsExtension, Any]:
    """Start collecting for one validation run: the result object and the token to reset."""
    found = TraitsExtension()
    return found, _FOUND.set(found)


def stop_collecting(token: Any) -> None:
    """End the collection started by :func:`collecting`."""
    _FOUND.reset(token)


def _error(text: str, *pointer: str) -> ValidationError:
    """Build an extension error; ``pointer`` is its Go schema pointer suffix (kept verbatim)."""
    return ValidationError(text, validator=EXTENSION, schema_path=list(pointer))  # type: ignore[arg-type]


def _credentials(
    config: dict[str, Any], schema: dict[str, Any], value: str, found: TraitsExtension
) -> ValidationError | None:
    for kind in ("password", "webauthn"):
        if config.get(kind, {}).get("identifier"):
            found.add_identifier(kind, graceful_normalization(value))
    code = config.get("code", {})
    if code.get("identifier"):
        via = code.get("via", "")
        if via not in ("email", "sms"):
            return _error(
                f"channel type {go_quote(via)} must be one of email, sms",
                "ory.sh~/kratos/credentials/code/via",
            )
        fmt = schema.get("format", "")
        if via == "email" and fmt not in ("", "email"):
            address = graceful_normalization(value)
        else:
            try:
                address = normalize_identifier(value, via)
            except IdentifierError as exc:
                return _error(str(exc))
        found.add_code_address(via, address)
    if config.get("passkey", {}).get("display_name"):
        found.passkey_display_name = value
    if config.get("totp", {}).get("account_name"):
        found.totp_account_name = value
    return None


def _verification(
    via: str, schema: dict[str, Any], value: str, found: TraitsExtension
) -> ValidationError | None:
    fmt = schema.get("format", "")
    if not via or not isinstance(fmt, str):
        return None
    if not fmt:
        if via != "email":
            return _error(NO_FORMAT, "format")
        fmt = "email"
        if not is_email(value):
            return _error(f'{go_quote(value)} is not valid "email"', "format")
    found.add_verifiable(via, value.strip().lower() if fmt == "email" else value.strip())
    return None


def _recovery(via: str, value: str, found: TraitsExtension) -> ValidationError | None:
    if via == "email":
        if not is_email(value):
            return _error(f'{go_quote(value)} is not valid "email"', "format")
        found.add_recovery(via, normalize_email(value))
    elif via == "sms":
        try:
            found.add_recovery(via, normalize_identifier(value, "sms"))
        except IdentifierError:
            return _error(f'{go_quote(value)} is not valid "tel" for {go_quote(via)}', "format")
    elif via:
        return _error(f"recovery.via has unknown value {go_quote(via)}")
    return None


def kratos_keyword(
    validator: Validator, config: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """Run the ``ory.sh/kratos`` keyword: collect what the config marks, report its first problem."""
    if not isinstance(config, dict):
        return
    types = schema.get("type")
    allowed = [types] if isinstance(types, str) else types or []
    if allowed and not any(validator.is_type(instance, t) for t in allowed):
        return
    found = _FOUND.get(None) or TraitsExtension()
    value = go_string(instance)
    error = (
        _credentials(config.get("credentials", {}), schema, value, found)
        or _verification(config.get("verification", {}).get("via", ""), schema, value, found)
        or _recovery(config.get("recovery", {}).get("via", ""), value, found)
    )
    if error is not None:
        yield error
