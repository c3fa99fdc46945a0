"""Identifier normalisation, as upstream's ``x/normalize.go``.

Emails and other identifiers are trimmed and lower-cased; phone numbers become E.164.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException

# The messages of the Go phone number library upstream uses, by parse error type.
_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "invalid country code",
    NumberParseException.NOT_A_NUMBER: "the phone number supplied is not a number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "the string supplied is too short to be a phone number",
    NumberParseException.TOO_SHORT_NSN: "the string supplied is too short to be a phone number",
    NumberParseException.TOO_LONG: "the string supplied is too long to be a phone number",
}
INVALID_PHONE = "the provided number is not a valid phone number"


class IdentifierError(ValueError):
    """An identifier that cannot be normalised for its channel (an invalid phone number)."""


def parse_phone(value: str) -> phonenumbers.PhoneNumber:
    """Parse an international phone number (``+<country code>...``) and check that it is valid."""
    try:
        number = phonenumbers.parse(value, None)
    except NumberParseException as exc:
        raise IdentifierError(_PARSE_ERRORS.get(exc.error_type, INVALID_PHONE)) from None
    if not phonenumbers.is_valid_number(number):
        raise IdentifierError(INVALID_PHONE)
    return number


def is_phone(value: str) -> bool:
    """Whether ``value`` is a valid international phone number (format ``tel``)."""
    try:
        parse_phone(value)
    except IdentifierError:
        return False
    return True


def normalize_phone(value: str) -> str:
    """E.164 form of a valid phone number; raises :class:`IdentifierError` otherwise."""
    return phonenumbers.format_number(parse_phone(value), phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: str) -> str:
    """Trim and lower-case ``value`` if it looks like an email address (contains ``@``)."""
    return value.lower().strip() if "@" in value else value


def normalize_other(value: str) -> str:
    """Trim and lower-case a username or other identifier."""
    return value.lower().strip()


def graceful_normalization(value: str) -> str:
    """Normalise by guessing the kind: a valid phone number, an email, else a username."""
    try:
        return normalize_phone(value)
    except IdentifierError:
        pass
    return normalize_email(value) if "@" in value else normalize_other(value)


def normalize_identifier(value: str, kind: str) -> str:
    """Normalise for ``kind`` (``email``, ``sms`` or anything else for usernames).

    Raises :class:`IdentifierError` for an ``sms`` value that is not a valid phone number.
    """
    if kind == "email":
        return normalize_email(value)
    if kind == "sms":
        return normalize_phone(value)
    return normalize_other(value)
