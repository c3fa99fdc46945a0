"""Fast JSON responses and request body decoding with Kratos's errors."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from kratos.http.errors import BadRequest, KratosError, UnsupportedMediaType

JSON_MEDIA_TYPES = frozenset({"application/json"})
MAX_JSON_DEPTH = 64


class JSONResponse(Response):
    """A JSON response serialised with orjson."""

    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        """Serialise ``content``; datetimes become RFC 3339, UUIDs (also asyncpg's) strings."""
        return orjson.dumps(content, default=str, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


class ErrorResponse(JSONResponse):
    """Kratos's error JSON, typed ``application/json`` without a charset, as upstream sends errors."""

    media_type = "application/json"


def error_response(error: KratosError, headers: dict[str, str] | None = None) -> JSONResponse:
    """Render ``error`` as Kratos's error JSON."""
    return ErrorResponse(error.to_dict(), status_code=error.status, headers=headers)


def media_type(request: Request) -> str:
    """The request's content type without parameters, lower-cased."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_json(request: Request, accepted: frozenset[str] = JSON_MEDIA_TYPES) -> Any:
    """Decode the JSON body; 415 for another content type, 400 for malformed JSON."""
    kind = media_type(request)
    if kind and kind not in accepted:
        raise UnsupportedMediaType(
            f"Unable to decode the request body: content type {kind!r} is not supported, "
            f"use {' or '.join(sorted(accepted))}."
        )
    body = await request.body()
    if not body.strip():
        raise BadRequest("Unable to decode the request body: the body is empty.")
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Unable to decode the request body as JSON: {exc}") from None
    problem = unstorable(decoded)
    if problem:
        raise BadRequest(f"Unable to decode the request body: {problem}")
    return decoded


def unstorable(document: Any) -> str | None:
    """What in a decoded body no response or database could hold: deep nesting or NUL characters."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return "strings must not contain NUL (\\u0000) characters."
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"JSON nesting deeper than {MAX_JSON_DEPTH} levels is not supported."
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return None


async def read_json_object(request: Request, accepted: frozenset[str] = JSON_MEDIA_TYPES) -> dict[str, Any]:
    """Decode a JSON object body; anything else is a 400."""
    body = await read_json(request, accepted)
    if not isinstance(body, dict):
        raise BadRequest("Unable to decode the request body: expected a JSON object.")
    return body
