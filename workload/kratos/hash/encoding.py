"""Strict decoders for the fields of encoded hashes."""

from __future__ import annotations

import base64
import binascii
import re

from .errors import UnknownHashFormatError

_PLACEHOLDER = re.compile(rb"\{SALT\}|\{PASSWORD\}")


def b64decode_strict(value: str, *, padded: bool = True, field: str = "field") -> bytes:
    """Decode standard base64 (``padded`` or raw), rejecting non-canonical input as Go's ``Strict()``."""
    data = value if padded else value + "=" * (-len(value) % 4)
    try:
        decoded = base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise UnknownHashFormatError(f"the {field} is not valid base64") from exc
    canonical = base64.b64encode(decoded).decode("ascii")
    if (canonical if padded else canonical.rstrip("=")) != value:
        raise UnknownHashFormatError(f"the {field} is not canonical base64")
    return decoded


def b64decode_lenient(value: str, *, field: str = "field") -> bytes:
    """Decode padded standard base64, tolerating non-zero trailing bits (Go's non-strict decoder)."""
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise UnknownHashFormatError(f"the {field} is not valid base64") from exc


def apply_salting_format(pattern: bytes, salt: bytes, password: bytes) -> bytes:
    """Fill ``{SALT}`` and ``{PASSWORD}`` in a salting format in one pass (as Go's strings.Replacer)."""
    return _PLACEHOLDER.sub(lambda m: salt if m.group(0) == b"{SALT}" else password, pattern)


def parse_params(text: str, pattern: re.Pattern[str], field: str) -> tuple[int, ...]:
    """Match ``text`` fully against ``pattern`` and return its groups as integers."""
    match = pattern.fullmatch(text)
    if match is None:
        raise UnknownHashFormatError(f"the {field} are malformed: {text!r}")
    return tuple(int(group) for group in match.groups())
