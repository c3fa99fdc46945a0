"""``GET /self-service/errors?id=``: the error a browser was sent to the error UI with."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kratos.http.errors import NotFound
from kratos.selfservice.flow.context import json, parse_flow_id
from kratos.selfservice.flow.pool import FlowPool


def error_routes(flows: FlowPool) -> list[Route]:
    """The stored-error route."""

    async def get_error(request: Request) -> Response:
        error_id = parse_flow_id(request.query_params.get("id"))
        error = await flows.get_error(error_id) if error_id else None
        if error is None:
            raise NotFound()
        return json({"id": str(error_id), "error": error})

    return [Route("/self-service/errors", get_error, methods=["GET"])]
