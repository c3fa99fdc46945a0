"""``/sessions/whoami`` as a bare ASGI app: one database round trip, the answer built straight from the row.

The credential is read from the raw headers (``X-Session-Token``, then the session cookie, then
``Authorization: Bearer``), as :meth:`SessionManager.credential` orders them; ``session.whoami.required_aal``
is enforced, and ``?tokenize_as=<template>`` adds the ``tokenized`` JWT.
"""

from __future__ import annotations

import logging
from typing import Any, Literal
from urllib.parse import parse_qsl

import orjson
from starlette.requests import cookie_parser
from starlette.types import Receive, Scope, Send

from kratos.http.errors import BadRequest, InternalError, KratosError, Unauthorized
from kratos.schema import schema_url
from kratos.session.errors import AalNotSatisfied, TokenizeFailed, aal2_login_url
from kratos.session.manager import SessionManager
from kratos.session.tokenizer import Tokenizer
from kratos.session.tokens import token_hash

log = logging.getLogger(__name__)
RequiredAal = Literal["aal1", "highest_available"]
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"})
_HEADERS = {b"x-session-token": "x-session-token", b"authorization": "authorization", b"cookie": "cookie"}
_JSON = (b"content-type", b"application/json; charset=utf-8")
_BARE_JSON = (b"content-type", b"application/json")  # upstream's session_aal2_required has no charset
_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS


def _rendered(error: KratosError) -> tuple[int, bytes]:
    return error.status, orjson.dumps(error.to_dict())


class Whoami:
    """The ASGI app of ``/sessions/whoami`` (every method Kratos answers it on)."""

    def __init__(
        self,
        sessions: SessionManager,
        public_base_url: str,
        required_aal: RequiredAal = "highest_available",
        tokenizer: Tokenizer | None = None,
    ) -> None:
        self.sessions = sessions
        self.pool = sessions.pool
        self.public_base_url = public_base_url
        self.required_aal = required_aal
        self.tokenizer = tokenizer
        self._schema_urls: dict[str, str] = {}
        self._unauthorized = _rendered(Unauthorized("No valid session credentials found in the request."))
        self._aal2_required = _rendered(AalNotSatisfied(aal2_login_url(public_base_url)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer with the session, or Kratos's error JSON."""
        status, body, identity_id = await self.answer(scope)
        headers = [(b"content-length", str(len(body)).encode()), _BARE_JSON if status == 403 else _JSON]
        if identity_id is not None:
            headers.insert(0, (b"x-kratos-authenticated-identity-id", identity_id.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def answer(self, scope: Scope) -> tuple[int, bytes, str | None]:
        """Status, JSON body and (on success) the identity's id."""
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = _HEADERS.get(name)
            if key is not None and key not in headers:  # the first of repeated headers, as Starlette's
                headers[key] = value.decode("latin-1")
        cookie = headers.get("cookie")
        credential = self.sessions.credential(headers, cookie_parser(cookie) if cookie else {})
        if credential is None:
            return (*self._unauthorized, None)
        record = await self.pool.whoami(token_hash(credential.token))
        if record is None or not record.body["active"]:
            return (*self._unauthorized, None)
        session = record.body
        if (
            self.required_aal == "highest_available"
            and session["authenticator_assurance_level"] != "aal2"
            and record.available_aal == "aal2"
        ):
            return (*self._aal2_required, None)
        identity = session["identity"]
        identity["schema_url"] = self._schema_url(identity["schema_id"])
        template = _query_value(scope, "tokenize_as")
        if template:
            session["tokenized"] = await self._tokenize(template, session)
        return 200, orjson.dumps(session, default=str, option=_OPTIONS), str(identity["id"])

    def _schema_url(self, schema_id: str) -> str:
        url = self._schema_urls.get(schema_id)
        if url is None:
            url = self._schema_urls[schema_id] = schema_url(self.public_base_url, schema_id)
        return url

    async def _tokenize(self, template: str, session: dict[str, Any]) -> str:
        if self.tokenizer is None:
            raise BadRequest(f'Unable to find tokenizer template "{template}".')
        try:
            return await self.tokenizer.tokenize(template, session)
        except TokenizeFailed as exc:
            level = logging.INFO if exc.client_error else logging.WARNING
            log.log(level, "could not tokenize a session as %r: %s (%s)", template, exc.reason, exc.debug)
            if exc.client_error:
                raise BadRequest(exc.reason) from None
            raise InternalError(exc.reason) from None


def _query_value(scope: Scope, name: str) -> str | None:
    """The first value of query parameter ``name`` (as upstream's ``Query().Get``), or None."""
    raw: bytes = scope["query_string"]
    if not raw:
        return None
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if key == name:
            return value
    return None
