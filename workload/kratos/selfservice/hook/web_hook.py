"""The ``web_hook`` hook: call an HTTP endpoint with a Jsonnet-built body, and maybe take its answer.

``response.parse`` (or the deprecated ``can_interrupt``) runs the hook before the identity is stored: a 200
answer may change the identity, a 4xx/5xx answer with ``messages`` becomes the form's messages.
``response.ignore`` sends it in the background. Every call has a timeout, so a slow target never hangs a
flow (upstream: 30 s). Building and sending the request is :mod:`kratos.http.outgoing`'s.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

from kratos.config.request import RequestConfig
from kratos.http.errors import KratosError
from kratos.http.outgoing import BodyError, Cancelled, OutgoingRequest
from kratos.identity.model import Identity, RecoveryAddress, State, VerifiableAddress
from kratos.selfservice.strategy.base import ValidationFailed
from kratos.ui.text import Message

log = logging.getLogger(__name__)
MAX_RESPONSE_BYTES = 5 * 1024 * 1024


class ResponseConfig(BaseModel):
    """``response``: ignore the answer (async), or parse it (may change the identity or interrupt)."""

    ignore: bool = False
    parse: bool = False


class WebHookConfig(RequestConfig):
    """A ``web_hook`` hook's ``config``: the request, and what to do with the answer."""

    model_config = ConfigDict(extra="allow")

    method: str = Field(min_length=1)
    response: ResponseConfig = Field(default_factory=ResponseConfig)
    can_interrupt: bool = False

    @model_validator(mode="after")
    def _ignore_xor_parse(self) -> WebHookConfig:
        if self.response.ignore and (self.response.parse or self.can_interrupt):
            raise ValueError("response.ignore cannot be combined with response.parse or can_interrupt")
        return self

    @property
    def parses(self) -> bool:
        """Whether the hook runs before the identity is stored and may change or refuse it."""
        return self.response.parse or self.can_interrupt


class UpstreamError(KratosError):
    """The hook target answered badly (502) or not in time (504)."""

    def __init__(self, status: int, reason: str, error: str) -> None:
        super().__init__(reason, status=status, details={"error": error})


class WebHook:
    """One configured web hook."""

    def __init__(self, config: WebHookConfig, client: httpx.AsyncClient, header_allowlist: list[str]) -> None:
        self.config = config
        self.request = OutgoingRequest(config, client)
        self.allowed_headers = {name.lower() for name in header_allowlist}
        self._background: set[asyncio.Task[None]] = set()

    @property
    def parses(self) -> bool:
        """Whether this hook belongs before the identity is stored."""
        return self.config.parses

    def context(
        self,
        request_headers: dict[str, str],
        request_method: str,
        request_url: str,
        request_cookies: dict[str, str],
        flow: dict[str, Any],
        identity: dict[str, Any] | None = None,
        session: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The Jsonnet ``ctx``: the flow, allow-listed request headers, and identity/session if known."""
        headers: dict[str, list[str]] = {}
        for name, value in request_headers.items():
            if name.lower() in self.allowed_headers:
                headers.setdefault("-".join(part.capitalize() for part in name.split("-")), []).append(value)
        ctx: dict[str, Any] = {
            "flow": flow,
            "request_headers": headers,
            "request_method": request_method,
            "request_url": request_url,
            "request_cookies": request_cookies,
        }
        if identity is not None:
            ctx["identity"] = identity
        if session is not None:
            ctx["session"] = session
        return ctx

    async def call(self, ctx: dict[str, Any], identity: Identity | None = None) -> None:
        """Send the hook; in the background when ``response.ignore``."""
        if self.config.response.ignore:
            task = asyncio.create_task(self._ignored(ctx))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return
        await self._send(ctx, identity)

    async def _ignored(self, ctx: dict[str, Any]) -> None:
        try:
            await self._send(ctx, None)
        except Exception as exc:  # the answer is ignored by configuration; the failure is logged
            log.warning(
                "a web hook whose response is ignored failed: %s", exc, extra={"url": self.config.url}
            )

    async def _send(self, ctx: dict[str, Any], identity: Identity | None) -> None:
        try:
            response = await self.request.send(ctx)
        except Cancelled:
            return
        except BodyError as exc:
            if exc.stage == "load":
                raise UpstreamError(
                    500, f"The web hook body template cannot be loaded: {exc}", exc.detail
                ) from None
            raise UpstreamError(500, "The web hook body template failed.", exc.detail) from None
        except httpx.TimeoutException as exc:
            raise UpstreamError(
                504, "A third-party upstream service could not be reached. Please try again later.", str(exc)
            ) from None
        except httpx.HTTPError as exc:
            raise UpstreamError(
                502, "A third-party upstream service could not be reached. Please try again later.", str(exc)
            ) from None
        content = response.content[:MAX_RESPONSE_BYTES]
        if response.status_code >= 400:
            if self.parses:
                _interrupt(content)
            raise UpstreamError(
                502,
                "A third-party upstream service responded improperly. Please try again later.",
                f"webhook failed with status code {response.status_code}",
            )
        if self.parses and response.status_code == 200 and identity is not None:
            _apply(content, identity)


def _interrupt(content: bytes) -> None:
    """Turn ``{"messages": [{"instance_ptr", "messages": [...]}]}`` into the form's messages."""
    try:
        answer = orjson.loads(content)
        groups = answer["messages"]
        fields: list[tuple[str, Message]] = []
        flow_messages: list[Message] = []
        for group in groups:
            pointer = str(group.get("instance_ptr", "#/"))
            name = ".".join(part for part in pointer.removeprefix("#").split("/") if part)
            for detail in group.get("messages") or ():
                text = Message(
                    int(detail["id"]),
                    str(detail["text"]),
                    "error" if detail.get("type") == "error" else "info",
                    dict(detail.get("context") or {}),
                )
                (fields.append((name, text)) if name else flow_messages.append(text))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return
    if fields or flow_messages:
        raise ValidationFailed(messages=flow_messages, fields=fields)


def _apply(content: bytes, identity: Identity) -> None:
    """Copy what a parsing hook's 200 answer sets onto the identity (before it is validated and stored)."""
    try:
        answer = orjson.loads(content) if content.strip() else {}
    except orjson.JSONDecodeError:
        raise UpstreamError(
            502,
            "A third-party upstream service responded improperly. Please try again later.",
            "webhook response could not be unmarshalled properly from JSON",
        ) from None
    changed = answer.get("identity") if isinstance(answer, dict) else None
    if not isinstance(changed, dict):
        return
    if changed.get("traits"):
        identity.traits = changed["traits"]
    if changed.get("schema_id"):
        identity.schema_id = changed["schema_id"]
    if changed.get("state") in (State.ACTIVE.value, State.INACTIVE.value):
        identity.state = State(changed["state"])
    if changed.get("metadata_public"):
        identity.metadata_public = changed["metadata_public"]
    if changed.get("metadata_admin"):
        identity.metadata_admin = changed["metadata_admin"]
    if "external_id" in changed:
        identity.external_id = changed["external_id"]
    if changed.get("verifiable_addresses"):
        identity.verifiable_addresses = [
            VerifiableAddress(
                value=a["value"],
                via=a.get("via", "email"),
                verified=bool(a.get("verified")),
                status=a.get("status", "pending"),
            )
            for a in changed["verifiable_addresses"]
            if isinstance(a, dict) and "value" in a
        ]
    if changed.get("recovery_addresses"):
        identity.recovery_addresses = [
            RecoveryAddress(value=a["value"], via=a.get("via", "email"))
            for a in changed["recovery_addresses"]
            if isinstance(a, dict) and "value" in a
        ]
