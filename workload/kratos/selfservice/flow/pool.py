"""What flow storage must offer; ``persistence`` implements it."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from kratos.selfservice.flow.model import Flow, Kind


class FlowPool(Protocol):
    """Storage of flows and of the errors browsers are sent to."""

    async def create(self, flow: Flow) -> None:
        """Store a new flow."""
        ...

    async def get(self, kind: Kind, flow_id: uuid.UUID) -> Flow | None:
        """A flow of this kind by id."""
        ...

    async def update(self, flow: Flow) -> None:
        """Store a flow's new state."""
        ...

    async def save_error(self, error: dict[str, Any]) -> uuid.UUID:
        """Keep an error for ``/self-service/errors?id=``; its id."""
        ...

    async def get_error(self, error_id: uuid.UUID) -> dict[str, Any] | None:
        """A stored error."""
        ...
