"""A real SMTP server in-process (aiosmtpd on its own thread) that records what it receives."""

from __future__ import annotations

import email
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from netutil import free_port


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    ehlo_name: str | None
    tls: bool
    login: str | None
    peer_cert: dict[str, Any] | None


@dataclass
class SmtpSink:
    """An SMTP server on 127.0.0.1.

    ``starttls``: a context to offer STARTTLS with; ``implicit_tls``: a context for TLS from the first byte;
    ``users``: accepted logins (then AUTH is required); ``refuse``: recipient -> reply (e.g. ``"550 no"``);
    ``idle_timeout``: seconds after which the server drops a quiet client; ``host``: where it listens.
    """

    starttls: ssl.SSLContext | None = None
    implicit_tls: ssl.SSLContext | None = None
    users: dict[str, str] = field(default_factory=dict)
    refuse: dict[str, str] = field(default_factory=dict)
    idle_timeout: float = 300.0
    host: str = "127.0.0.1"
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    sni: list[str | None] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def start(self) -> SmtpSink:
        self.port = self.port or free_port()  # a preset port: a server that comes back where it was
        for context in (self.starttls, self.implicit_tls):
            if context is not None:
                context.sni_callback = self._sni
        kwargs: dict[str, Any] = {"timeout": self.idle_timeout}
        if self.starttls is not None:
            kwargs["tls_context"] = self.starttls
        if self.users:
            kwargs.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=False)
        self._controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            ssl_context=self.implicit_tls,
            **kwargs,
        )
        self._controller.start()
        with self._lock:  # the controller's own readiness probe is not a client of ours
            self.connections = 0
            self.sni.clear()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def wait_for(self, to: str, count: int = 1, timeout: float = 15.0) -> list[EmailMessage]:
        """The messages ``to`` received, once there are ``count`` of them (oldest first)."""
        deadline = time.monotonic() + timeout
        found: list[EmailMessage] = []
        while time.monotonic() < deadline:
            found = [r.message for r in list(self.received) if to in r.rcpt_tos]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{to} received {len(found)} messages, expected {count}")

    def _sni(self, sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        with self._lock:
            self.sni.append(name)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(login) == password:
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        if session.host_name is None and session.ssl is None:
            with self.sink._lock:
                self.sink.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        answer = self.sink.refuse.get(address)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        transport = server.transport
        assert transport is not None
        content = envelope.original_content or b""
        received = Received(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            message=cast(EmailMessage, email.message_from_bytes(content, policy=default_policy)),
            ehlo_name=session.host_name,
            tls=transport.get_extra_info("ssl_object") is not None,
            login=session.auth_data if isinstance(session.auth_data, str) else None,
            peer_cert=transport.get_extra_info("peercert"),
        )
        with self.sink._lock:
            self.sink.received.append(received)
        return "250 Message accepted for delivery"


def plain_text(message: EmailMessage) -> str:
    """The plain-text body of a received email."""
    part = message.get_body(("plain",))
    assert part is not None, message
    return cast(EmailMessage, part).get_content()
