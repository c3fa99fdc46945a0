"""Self-service submissions: a JSON object or an HTML form, decoded to the same nested document."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from kratos.http.errors import BadRequest
from kratos.http.responses import media_type, read_json_object

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_MAX_FIELDS = 1000


class FormSubmission(dict[str, Any]):
    """A submission decoded from an HTML form: every value is text."""


async def read_submission(request: Request) -> dict[str, Any]:
    """The submitted fields; form names with dots (``traits.email``) become nested objects."""
    if media_type(request) in FORM_TYPES:
        form = await request.form(max_files=0, max_fields=_MAX_FIELDS)
        document = FormSubmission()
        for name, value in form.multi_items():
            if not isinstance(value, str):
                raise BadRequest("File uploads are not accepted here.")
            if "\x00" in name or "\x00" in value:
                raise BadRequest("Unable to decode the request body: fields must not contain NUL characters.")
            _place(document, name, value)
        return document
    return await read_json_object(request)


def _place(document: dict[str, Any], name: str, value: str) -> None:
    parts = name.split(".")
    target = document
    for part in parts[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        target = child
    target[parts[-1]] = value
