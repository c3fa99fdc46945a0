"""``GET /admin/identities``: its query parameters and ``Link`` header, read and written as upstream does."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from starlette.datastructures import QueryParams

from kratos.http.errors import BadRequest
from kratos.http.keyset import first_set, go_atoi, go_unescape, link_header
from kratos.identity.model import CredentialsType
from kratos.identity.pool import ListQuery

DEFAULT_PAGE_SIZE = 250
MAX_PAGE_SIZE = 500
MAX_IDS = 500
LEGACY_MAX_ITEMS = 1000
NIL_TOKEN = str(uuid.UUID(int=0))
_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT64 = 2**63


@dataclass(frozen=True, slots=True)
class ListParams:
    """A parsed listing: the query, what to show, and how to page (``legacy``: page numbers)."""

    query: ListQuery
    declassify: frozenset[str]
    legacy: bool


def parse_list_params(params: QueryParams) -> ListParams:
    """Read the filters and paging of a listing, refusing what upstream refuses with its words."""
    filters = 0
    ids = None
    if raw_ids := params.getlist("ids"):
        filters += 1
        ids = [_uuid(value, "Invalid UUID value `{}` for parameter `ids`.") for value in raw_ids]
        if len(ids) > MAX_IDS:
            raise BadRequest(f"The number of ids to filter must not exceed {MAX_IDS}.")
    organization = None
    if raw := _first(params, "organization_id"):
        filters += 1
        organization = _uuid(raw, "Invalid UUID value `{}` for parameter `organization_id`.")
    identifier = _first(params, "credentials_identifier") or None
    similar = _first(params, "preview_credentials_identifier_similar") or None
    filters += bool(identifier) + bool(similar)
    declassify = params.getlist("include_credential")
    for value in declassify:
        if value not in CredentialsType.__members__.values():
            raise BadRequest(f"Invalid value `{value}` for parameter `include_credential`.")
    if filters > 1:
        raise BadRequest("You cannot combine multiple filters in this API")
    legacy = "page" in params and "page_token" not in params and "page_size" not in params
    if legacy:
        page, page_size = _legacy_page(params)
        after, offset = None, page * page_size
    else:
        after, page_size = _keyset_page(params)
        offset = 0
    query = ListQuery(
        page_size=page_size,
        after=after,
        ids=ids,
        credentials_identifier=identifier,
        identifier_similar=similar,
        organization_id=organization,
        offset=offset,
        credentials=bool(declassify),
    )
    return ListParams(query, frozenset(declassify), legacy)


def show_credentials(listing: ListParams) -> bool:
    """Whether the listing shows credentials: asked for, or found by identifier (upstream's expansion)."""
    query = listing.query
    return (
        query.credentials or query.credentials_identifier is not None or query.identifier_similar is not None
    )


def keyset_link(params: QueryParams, page_size: int, next_after: uuid.UUID | None) -> str:
    """The ``Link`` header of a keyset page: relative, its query sorted, ``first`` from the nil token."""
    dropped = (
        ("page_token", "page_size", "per_page") if _per_page_is_size(params) else ("page_token", "page_size")
    )
    following = str(next_after) if next_after is not None else None
    return link_header("/admin/identities", params, page_size, NIL_TOKEN, following, dropped)


def _per_page_is_size(params: QueryParams) -> bool:
    """Whether the deprecated ``per_page`` stands for ``page_size``: given alone, without a page token."""
    return "per_page" in params and "page_size" not in params and "page_token" not in params


def _first(params: QueryParams, name: str) -> str:
    """The first value of ``name`` (Go's ``Query().Get``), or ""."""
    values = params.getlist(name)
    return values[0] if values else ""


def _uuid(raw: str, reason: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise BadRequest(reason.format(raw)) from None


def _keyset_page(params: QueryParams) -> tuple[uuid.UUID | None, int]:
    """``page_token`` and ``page_size`` (or the deprecated ``per_page`` alone).

    A size that is no integer is a 400; 0 or less means the default, more than the maximum the maximum.
    """
    raw_size = first_set(params, "per_page" if _per_page_is_size(params) else "page_size")
    token = first_set(params, "page_token")
    after = None
    if token:
        try:
            unescaped = go_unescape(token)  # Go unescapes the token once more
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        try:
            after = uuid.UUID(unescaped)
        except ValueError:
            raise BadRequest("The page token is invalid, do not craft your own page tokens") from None
    size = _go_atoi(raw_size) if raw_size else 0
    if size <= 0:
        size = DEFAULT_PAGE_SIZE
    return (None if after == uuid.UUID(int=0) else after), min(size, MAX_PAGE_SIZE)


def _legacy_page(params: QueryParams) -> tuple[int, int]:
    """``page`` and ``per_page``: unparsable values fall back to 0 and 250, sizes are kept within 1..500."""
    page = _lenient_int(_first(params, "page"), 0)
    per_page = _lenient_int(_first(params, "per_page"), DEFAULT_PAGE_SIZE)
    page, per_page = max(page, 0), min(max(per_page, 1), MAX_PAGE_SIZE)
    if page * per_page > LEGACY_MAX_ITEMS:
        raise BadRequest(
            f"Legacy pagination is not supported for enumerating over {LEGACY_MAX_ITEMS} items. "
            "Please switch to using page_token and page_size."
        )
    return page, per_page


def _go_atoi(raw: str) -> int:
    """Go's ``strconv.Atoi``, with its error as the reason."""
    try:
        return go_atoi(raw)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def _lenient_int(raw: str, default: int) -> int:
    if not raw or not _GO_INT.fullmatch(raw) or not -_INT64 <= int(raw) < _INT64:
        return default
    return int(raw)
