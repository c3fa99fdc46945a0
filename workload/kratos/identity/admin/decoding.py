"""Reading the identity admin API's bodies as upstream reads each of them, refusing them in its words."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from kratos.http.errors import BadRequest
from kratos.http.gojson import GoJSONError, GoType, check_shape, decode_all, decode_first, known_fields
from kratos.http.responses import media_type, unstorable
from kratos.identity.admin.gotypes import JSON_PATCH, UPDATE


async def read_strict(request: Request, go_type: GoType) -> Any:
    """A create or batch body: any content type, its first JSON value, no unknown field.

    Go's error text is the message.
    """
    try:
        document = decode_first(await request.body())
        check_shape(document, go_type)
    except GoJSONError as exc:
        raise BadRequest("", message=str(exc)) from None
    return _storable(document) if document is not None else {}


async def read_update(request: Request) -> Any:
    """A ``PUT`` body: JSON only, unknown fields ignored; Go's error text in the reason."""
    kind = request.headers.get("content-type", "")
    if media_type(request) != "application/json":
        raise BadRequest(
            f'HTTP PUT Request used unknown HTTP Header "Content-Type: {kind}", only [application/json] are '
            "supported."
        )
    body = await request.body()
    if not body:
        raise BadRequest(
            'Unable to decode HTTP Request Body because its HTTP Header "Content-Length" is zero.'
        )
    try:
        document = decode_first(body)
        check_shape(document, UPDATE, strict=False)
    except GoJSONError as exc:
        raise BadRequest(f"Unable to decode JSON payload: {exc}") from None
    return _storable(known_fields(document, UPDATE)) if document is not None else {}


async def read_json_patch(request: Request) -> list[Any]:
    """A JSON Patch body: the whole body, an array."""
    try:
        document = decode_all(await request.body())
        check_shape(document, JSON_PATCH, strict=False)
    except GoJSONError as exc:
        raise BadRequest("failed to unmarshal JSON patch", message=str(exc)) from None
    return _storable(document) if document is not None else []


def _storable(document: Any) -> Any:
    problem = unstorable(document)
    if problem:
        raise BadRequest(f"Unable to decode the request body: {problem}")
    return document
