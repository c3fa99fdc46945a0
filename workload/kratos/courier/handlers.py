"""The courier's admin API: ``GET /admin/courier/messages`` and ``GET /admin/courier/messages/{id}``."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kratos.courier.model import Message, MessageStatus
from kratos.courier.pool import MessagePool, MessageQuery
from kratos.http.errors import BadRequest, NotFound
from kratos.http.keyset import (
    DESCENDING,
    Column,
    InvalidPageToken,
    PageTokens,
    first_set,
    go_atoi,
    go_unescape,
    link_header,
)
from kratos.http.responses import JSONResponse

DEFAULT_PAGE_SIZE = 10  # upstream's persister sets it (the API's documented 250 is not what it does)
MAX_PAGE_SIZE = 500
REDACTED = "<redacted-unless-dev-mode>"
LIST_PATH = "/admin/courier/messages"
# The first page: upstream's default token (created_at 2200-12-31T23:59:59Z, the nil id).
_TEMPLATE = (
    Column("created_at", datetime(2200, 12, 31, 23, 59, 59, tzinfo=UTC), DESCENDING),
    Column("id", uuid.UUID(int=0)),
)
_HEX = re.compile(r"^[0-9a-fA-F]{32}$")


class CourierAdminAPI:
    """Lists and shows queued and sent messages; bodies and subjects only in dev mode, as upstream."""

    def __init__(self, pool: MessagePool, tokens: PageTokens, *, dev: bool) -> None:
        self.pool = pool
        self.tokens = tokens
        self.dev = dev

    def routes(self) -> list[Route]:
        """The admin routes (also under ``/admin``, by the admin app's prefix handling)."""
        return [
            Route("/courier/messages", self.list_messages, methods=["GET"]),
            Route("/courier/messages/{message_id}", self.get_message, methods=["GET"]),
        ]

    async def list_messages(self, request: Request) -> Response:
        """``listCourierMessages``: newest first, filtered by ``status`` and ``recipient``, keyset paged."""
        params = request.query_params
        status = None
        if "status" in params:
            try:
                status = MessageStatus(params["status"])
            except ValueError:
                raise BadRequest("Message status is not valid") from None
        after, size = self._page(request)
        query = MessageQuery(size, status, params.get("recipient") or None, after)
        messages, last = await self.pool.list(query)
        following = None
        if last is not None:
            following = self.tokens.seal(
                [Column("created_at", last.created_at, DESCENDING), Column("id", last.id)]
            )
        link = link_header(LIST_PATH, params, size, self.tokens.seal(_TEMPLATE), following)
        return JSONResponse([self._shown(message) for message in messages], headers={"Link": link})

    def _page(self, request: Request) -> tuple[tuple[datetime, uuid.UUID] | None, int]:
        """``page_token`` and ``page_size`` read as ``keysetpagination_v2.ParseQueryParams`` does."""
        params = request.query_params
        after = None
        try:
            if token := first_set(params, "page_token"):
                created_at, last_id = self.tokens.open(go_unescape(token), _TEMPLATE)
                if isinstance(created_at.value, datetime) and isinstance(last_id.value, uuid.UUID):
                    after = (created_at.value, last_id.value)
                else:
                    raise InvalidPageToken("invalid pagination token")
            raw_size = first_set(params, "page_size")
            size = go_atoi(raw_size) if raw_size else 0
        except ValueError as exc:
            raise BadRequest(message=str(exc)) from None
        return after, min(size if size > 0 else DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)

    async def get_message(self, request: Request) -> Response:
        """``getCourierMessage``: one message with its dispatches, newest first."""
        raw = request.path_params["message_id"]
        message = await self.pool.get(_go_uuid(raw))
        if message is None:
            raise NotFound()
        return JSONResponse(self._shown(message))

    def _shown(self, message: Message) -> dict[str, Any]:
        out = message.to_json()
        if not self.dev:
            out["body"] = out["subject"] = REDACTED
        return out


def _go_uuid(raw: str) -> uuid.UUID:
    """A path id as gofrs/uuid's ``FromString`` reads it, its error text in a 400 otherwise."""
    text = raw
    if len(text) in (38, 34) and text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    elif len(text) in (45, 41) and text.lower().startswith("urn:uuid:"):
        text = text[9:]
    if len(text) not in (32, 36):
        raise BadRequest(message=f'uuid: incorrect UUID length {len(raw)} in string "{raw}"')
    try:
        dashes = len(text) == 36 and all(text[i] == "-" for i in (8, 13, 18, 23))
        if not _HEX.match(text.replace("-", "") if dashes else text):
            raise ValueError(text)
        return uuid.UUID(text)
    except ValueError:
        raise BadRequest(message=f'uuid: incorrect UUID format in string "{raw}"') from None
