"""``GET /schemas`` and ``GET /schemas/{id}`` on both ports."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kratos.http.errors import BadRequest, NotFound
from kratos.http.responses import JSONResponse
from kratos.schema.model import SchemaRegistry


def schema_routes(schemas: SchemaRegistry) -> list[Route]:
    """The identity schema routes."""

    async def list_schemas(request: Request) -> Response:
        every = schemas.all()
        raw_size = request.query_params.get("page_size") or request.query_params.get("per_page") or "250"
        try:
            page_size = int(raw_size)
            start = int(request.query_params.get("page_token") or request.query_params.get("page") or 0)
        except ValueError:
            raise BadRequest("page_size and page_token must be integers.") from None
        if not 1 <= page_size <= 1000 or start < 0:
            raise BadRequest("page_size must be between 1 and 1000 and page_token must not be negative.")
        page = every[start : start + page_size]
        return JSONResponse([{"id": schema.id, "schema": schema.raw} for schema in page])

    async def get_schema(request: Request) -> Response:
        schema = schemas.find(request.path_params["id"])
        if schema is None:
            raise NotFound("Unable to locate the resource")
        return Response(schema.raw_bytes, media_type="application/json")

    return [
        Route("/schemas", list_schemas, methods=["GET"]),
        Route("/schemas/{id}", get_schema, methods=["GET"]),
    ]
