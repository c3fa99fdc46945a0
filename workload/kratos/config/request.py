"""Outgoing HTTP request configs (upstream's ``request.Config``): web hooks and the courier's HTTP delivery.

``{url, method, headers, body (a Jsonnet URI), auth: {type: api_key | basic_auth, config}}``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

DEFAULT_COURIER_BODY = (
    "base64://ZnVuY3Rpb24oY3R4KSB7CiAgcmVjaXBpZW50OiBjdHgucmVjaXBpZW50LAogIHRlbXBsYXRlX3R5cGU6IGN0eC50ZW1"
    "wbGF0ZV90eXBlLAogIHRvOiBpZiAidGVtcGxhdGVfZGF0YSIgaW4gY3R4ICYmICJ0byIgaW4gY3R4LnRlbXBsYXRlX2RhdGEgdGh"
    "lbiBjdHgudGVtcGxhdGVfZGF0YS50byBlbHNlIG51bGwsCiAgcmVjb3ZlcnlfY29kZTogaWYgInRlbXBsYXRlX2RhdGEiIGluIGN"
    "0eCAmJiAicmVjb3ZlcnlfY29kZSIgaW4gY3R4LnRlbXBsYXRlX2RhdGEgdGhlbiBjdHgudGVtcGxhdGVfZGF0YS5yZWNvdmVyeV9"
    "jb2RlIGVsc2UgbnVsbCwKICByZWNvdmVyeV91cmw6IGlmICJ0ZW1wbGF0ZV9kYXRhIiBpbiBjdHggJiYgInJlY292ZXJ5X3VybCI"
    "gaW4gY3R4LnRlbXBsYXRlX2RhdGEgdGhlbiBjdHgudGVtcGxhdGVfZGF0YS5yZWNvdmVyeV91cmwgZWxzZSBudWxsLAogIHZlcml"
    "maWNhdGlvbl91cmw6IGlmICJ0ZW1wbGF0ZV9kYXRhIiBpbiBjdHggJiYgInZlcmlmaWNhdGlvbl91cmwiIGluIGN0eC50ZW1wbGF"
    "0ZV9kYXRhIHRoZW4gY3R4LnRlbXBsYXRlX2RhdGEudmVyaWZpY2F0aW9uX3VybCBlbHNlIG51bGwsCiAgdmVyaWZpY2F0aW9uX2N"
    "vZGU6IGlmICJ0ZW1wbGF0ZV9kYXRhIiBpbiBjdHggJiYgInZlcmlmaWNhdGlvbl9jb2RlIiBpbiBjdHgudGVtcGxhdGVfZGF0YSB"
    "0aGVuIGN0eC50ZW1wbGF0ZV9kYXRhLnZlcmlmaWNhdGlvbl9jb2RlIGVsc2UgbnVsbCwKICBzdWJqZWN0OiBjdHguc3ViamVjdCw"
    "KICBib2R5OiBjdHguYm9keQp9Cg=="
)
"""Upstream's default ``courier.http.request_config.body`` (its schema's default): a JSON object of
``recipient, template_type, subject, body`` and the template data's ``to``, ``recovery_*`` and
``verification_*``."""


def _prefixed(pattern: str, what: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str | None) -> str | None:
        if value is not None and not compiled.match(value):
            raise ValueError(f"must be {what}")
        return value

    return AfterValidator(check)


def _header_safe(headers: dict[str, str]) -> dict[str, str]:
    for name, value in headers.items():
        if not _HEADER_NAME.match(name):
            raise ValueError(f"{name!r} is not a valid header name")
        if "\r" in value or "\n" in value:
            raise ValueError(f"the value of {name} must not contain line breaks")
    return headers


Headers = Annotated[dict[str, str], AfterValidator(_header_safe)]
"""Header names and values that cannot smuggle extra header lines."""


class AuthConfig(BaseModel):
    """``auth.config``: ``name``, ``value``, ``in`` for api_key; ``user``, ``password`` for basic_auth."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    value: str | None = None
    in_: Literal["header", "cookie"] = Field(default="header", alias="in")
    user: str | None = None
    password: str | None = None


class RequestAuth(BaseModel):
    """``{type: api_key, config: {name, value, in}}`` or ``{type: basic_auth, config: {user, password}}``."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["api_key", "basic_auth"]
    config: AuthConfig

    @model_validator(mode="after")
    def _complete(self) -> RequestAuth:
        needed = ("name", "value") if self.type == "api_key" else ("user", "password")
        for key in needed:
            if getattr(self.config, key) is None:
                raise ValueError(f"config.{key}: is required for {self.type}")
        return self


class RequestConfig(BaseModel):
    """An outgoing request: where, how, the Jsonnet body template and the credentials.

    Without ``body`` the Jsonnet context itself is sent as JSON.
    """

    model_config = ConfigDict(extra="ignore")

    url: str = Field(min_length=1)
    method: str = Field(default="POST", min_length=1)
    headers: Headers = Field(default_factory=dict)
    body: str | None = None
    auth: RequestAuth | None = None


class HttpRequestConfig(RequestConfig):
    """``courier.http.request_config`` and ``courier.channels[].request_config`` (upstream's schema)."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, _prefixed(r"^https?://", "an http:// or https:// URL")]
    body: Annotated[
        str | None,
        _prefixed(r"^(http|https|file|base64)://", "a file://, base64://, http:// or https:// URI"),
    ] = DEFAULT_COURIER_BODY
