"""``POST /admin/recovery/code`` and ``/admin/recovery/link``: administrators open recovery for someone.

The code is handed to the administrator (to pass on by another channel) with a link to the recovery UI;
the link method's URL submits its token directly. Neither sends anything.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kratos.config.types import parse_duration
from kratos.http.body import read_json_object
from kratos.http.errors import BadRequest, NotFound
from kratos.identity.manager import IdentityManager
from kratos.selfservice.flow.context import json
from kratos.selfservice.flow.model import FlowType
from kratos.selfservice.flow.recovery import RecoveryEndpoints
from kratos.selfservice.flow.sender import Challenge

_DEFAULT_EXPIRY = timedelta(hours=1)


class RecoveryAdmin:
    """The admin side of recovery: one endpoint per method, each using that method's secrets."""

    def __init__(
        self, recovery: RecoveryEndpoints, identities: IdentityManager, code: Challenge, link: Challenge
    ) -> None:
        self.recovery = recovery
        self.identities = identities
        self.code = code
        self.link = link

    def routes(self) -> list[Route]:
        """The two admin endpoints."""
        return [
            Route("/recovery/code", self.create_code, methods=["POST"]),
            Route("/recovery/link", self.create_link, methods=["POST"]),
        ]

    async def _read(self, request: Request) -> tuple[Any, timedelta, dict[str, Any]]:
        body = await read_json_object(request)
        raw_id = body.get("identity_id")
        try:
            identity_id = uuid.UUID(str(raw_id)) if raw_id is not None else None
        except ValueError:
            raise BadRequest(
                f"Unable to decode JSON payload: identity_id: {raw_id!r} is not a UUID"
            ) from None
        expires_in = _DEFAULT_EXPIRY
        if body.get("expires_in") not in (None, ""):
            try:
                expires_in = parse_duration(body["expires_in"])
            except ValueError:
                raise BadRequest(
                    f'Unable to parse "expires_in" as a duration string (e.g. "1h", "1m30s", "500ms"): '
                    f"{body['expires_in']}"
                ) from None
            if expires_in <= timedelta(0):
                raise BadRequest('"expires_in" must be a positive duration')
        if identity_id is None:
            raise NotFound("could not find identity", message="Unable to locate the resource")
        found = await self.identities.pool.get(identity_id, credentials=False)
        if found is None:
            raise NotFound("could not find identity", message="Unable to locate the resource")
        return found, expires_in, body

    async def create_code(self, request: Request) -> Response:
        """A recovery code and the UI link of its flow (201)."""
        identity, expires_in, body = await self._read(request)
        flow_type = FlowType.API if body.get("flow_type") == "api" else FlowType.BROWSER
        flow, code = await self.recovery.admin_flow(request, identity, expires_in, flow_type, self.code)
        return json(
            {
                "recovery_link": self.recovery.ui_location(flow),
                "recovery_code": code,
                "expires_at": flow.expires_at,
            },
            201,
        )

    async def create_link(self, request: Request) -> Response:
        """A link that recovers the identity when opened (200)."""
        identity, expires_in, _ = await self._read(request)
        flow, token = await self.recovery.admin_flow(
            request, identity, expires_in, FlowType.BROWSER, self.link
        )
        return json(
            {
                "recovery_link": self.recovery.sender.submit_url(flow, self.link, token),
                "expires_at": flow.expires_at,
            }
        )
