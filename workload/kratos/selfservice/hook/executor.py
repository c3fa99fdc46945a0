"""The hooks of one flow, as configured: ``before`` web hooks, and ``after`` hooks per method."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError
from starlette.requests import Request

from kratos.config.selfservice import Hook
from kratos.http.errors import BadRequest
from kratos.identity.model import Identity
from kratos.selfservice.flow.model import Flow
from kratos.selfservice.hook.web_hook import WebHook, WebHookConfig
from kratos.selfservice.strategy.base import ValidationFailed
from kratos.session.model import Session


@dataclass(slots=True)
class AfterHooks:
    """One method's after hooks: the names in order, and its web hooks."""

    names: list[str] = field(default_factory=list)
    web_hooks: list[WebHook] = field(default_factory=list)


class FlowHooks:
    """Runs a flow's web hooks at the points upstream runs them and answers which other hooks are on."""

    def __init__(self, before: list[WebHook], after: dict[str, AfterHooks]) -> None:
        self.before = before
        self.after = after

    def _after(self, method: str) -> AfterHooks:
        """A method's own hooks when it has any, else the flow's global ones (key ``""``)."""
        own = self.after.get(method)
        return own if own is not None and own.names else self.after.get("", AfterHooks())

    def enabled(self, method: str, name: str) -> bool:
        """Whether hook ``name`` runs after ``method``."""
        return name in self._after(method).names

    async def run_before(self, request: Request, flow: Flow) -> None:
        """The ``before`` web hooks of a new flow."""
        for hook in self.before:
            try:
                await hook.call(_context(hook, request, flow))
            except ValidationFailed as refused:
                raise BadRequest(str(refused) or "A web hook refused the flow.") from None

    async def pre_persist(self, method: str, request: Request, flow: Flow, identity: Identity) -> None:
        """Parsing web hooks: they may change ``identity`` or refuse it before it is stored."""
        for hook in self._after(method).web_hooks:
            if hook.parses:
                await hook.call(_context(hook, request, flow, identity), identity)

    async def post_persist(
        self, method: str, request: Request, flow: Flow, identity: Identity, session: Session | None = None
    ) -> None:
        """The other web hooks, once the identity is stored."""
        for hook in self._after(method).web_hooks:
            if not hook.parses:
                await hook.call(_context(hook, request, flow, identity, session))


def _context(
    hook: WebHook,
    request: Request,
    flow: Flow,
    identity: Identity | None = None,
    session: Session | None = None,
) -> dict[str, Any]:
    identity_json = identity.to_json("", admin=True) if identity else None
    return hook.context(
        dict(request.headers),
        request.method,
        str(request.url),
        dict(request.cookies),
        flow.to_json(),
        identity=identity_json,
        session=session.to_json(identity_json) if session else None,
    )


def build_hooks(
    path: str,
    before: Sequence[Hook[Any]],
    after: Any,
    methods: Sequence[str],
    client: httpx.AsyncClient,
    header_allowlist: list[str],
) -> FlowHooks:
    """The hooks of the flow at config ``path``; a bad web hook config names its key."""

    def web_hooks(hooks: Sequence[Hook[Any]], where: str) -> list[WebHook]:
        found = []
        for index, hook in enumerate(hooks):
            if hook.hook != "web_hook":
                continue
            try:
                config = WebHookConfig.model_validate(hook.config)
            except ValidationError as exc:
                problem = exc.errors()[0]
                key = ".".join(str(part) for part in problem["loc"])
                raise ValueError(f"{where}.hooks[{index}].config.{key}: {problem['msg']}") from None
            found.append(WebHook(config, client, header_allowlist))
        return found

    after_hooks: dict[str, AfterHooks] = {}
    if after is not None:
        after_hooks[""] = AfterHooks([h.hook for h in after.hooks], web_hooks(after.hooks, f"{path}.after"))
        for method in methods:
            own = getattr(after, method, None)
            if own is not None:
                after_hooks[method] = AfterHooks(
                    [h.hook for h in own.hooks], web_hooks(own.hooks, f"{path}.after.{method}")
                )
    return FlowHooks(web_hooks(before, f"{path}.before"), after_hooks)
