"""Public URLs of identity schemas: ``<public base>/schemas/<base64url(id) without padding>``."""

from __future__ import annotations

import base64
import binascii


def encode_schema_id(schema_id: str) -> str:
    """URL-safe base64 of the id without padding (upstream ``base64.RawURLEncoding``)."""
    return base64.urlsafe_b64encode(schema_id.encode()).decode().rstrip("=")


def schema_url(public_base_url: str, schema_id: str) -> str:
    """Build an identity's ``schema_url``: the public base URL joined with ``schemas/<encoded id>``."""
    return f"{public_base_url.rstrip('/')}/schemas/{encode_schema_id(schema_id)}"


def decode_schema_id(path_segment: str) -> str:
    """Decode a ``/schemas/{id}`` segment if it is unpadded base64url of printable text; else keep it."""
    if "=" in path_segment or len(path_segment) % 4 == 1:
        return path_segment
    try:
        raw = base64.b64decode(path_segment + "=" * (-len(path_segment) % 4), altchars=b"-_", validate=True)
        decoded = raw.decode()
    except (binascii.Error, ValueError):  # ValueError covers non-ASCII input and undecodable bytes
        return path_segment
    return decoded if decoded and decoded.isprintable() else path_segment
