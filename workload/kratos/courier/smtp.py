"""The email channel over SMTP (upstream's ``courier/smtp.go`` and ``smtp_channel.go``).

``courier.smtp.connection_uri`` decides the transport (:mod:`kratos.config.smtp`): ``smtp://`` insists on
STARTTLS unless ``?disable_starttls=true``, ``smtps://`` is TLS from the first byte. Certificates are checked
against the system's CAs (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` add others) for ``server_name`` unless
``skip_ssl_verify``. Up to ``connections`` connections (4) carry a batch's messages side by side; each is
kept open between messages and opened again when it was lost or sat idle. A recipient that is not an email
address, and any 5xx answer, abandon the message (as upstream); connection failures, timeouts and 4xx
answers are retried.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address
from typing import Any

import aiosmtplib

from kratos.config.errors import ConfigError
from kratos.config.sections import Smtp
from kratos.config.smtp import SmtpUri
from kratos.courier.channel import DeliveryError
from kratos.courier.mime import Email, compose
from kratos.courier.model import Message

log = logging.getLogger(__name__)

TIMEOUT = 10.0
"""Seconds for connecting and for each SMTP command (upstream: 10 s)."""
IDLE = 30.0
"""Seconds a kept connection may sit unused before the next message opens a new one."""
CONNECTIONS = 4
"""Connections one worker keeps to the server: a batch goes out over them side by side."""
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def is_email_address(value: str) -> bool:
    """Whether ``value`` is one bare address (``local@domain``) that is safe in an SMTP command and header."""
    if not value or value != value.strip() or "@" not in value:
        return False
    ascii_form = "".join(char if char.isascii() else "a" for char in value)  # RFC 6532 allows UTF-8
    try:
        address = Address(addr_spec=ascii_form)
    except Exception:  # the email parser raises several unrelated error types
        return False
    return bool(address.username and address.domain)


def tls_context(smtp: Smtp, uri: SmtpUri) -> ssl.SSLContext:
    """The TLS settings for ``uri``: TLS 1.2 or later, the client certificate when one is configured."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if uri.skip_ssl_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if bool(smtp.client_cert_path) != bool(smtp.client_key_path):
        missing = "client_key_path" if smtp.client_cert_path else "client_cert_path"
        raise ConfigError(
            [f"courier.smtp.{missing}: is required when the other half of the client pair is set"]
        )
    if smtp.client_cert_path:
        try:
            context.load_cert_chain(smtp.client_cert_path, smtp.client_key_path)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                [f"courier.smtp.client_cert_path: the client certificate and key cannot be loaded: {exc}"]
            ) from None
    return context


def _private(host: str) -> bool:
    address = ipaddress.ip_address(host.split("%")[0])
    return not address.is_global or address.is_multicast


@dataclass(slots=True)
class _Session:
    """One kept connection and when it last carried a message."""

    client: aiosmtplib.SMTP | None = None
    used_at: float = 0.0


class SmtpChannel:
    """Sends ``email`` messages through the configured SMTP server over a few kept connections."""

    id = "email"

    def __init__(
        self,
        smtp: Smtp,
        render_html: Callable[[Message], str | None],
        *,
        disallow_private_ip_ranges: bool = False,
        timeout: float = TIMEOUT,
        idle: float = IDLE,
        connections: int = CONNECTIONS,
    ) -> None:
        self.smtp = smtp
        self.uri = smtp.uri
        self.render_html = render_html
        self.disallow_private_ip_ranges = disallow_private_ip_ranges
        self.timeout = timeout
        self.idle = idle
        self._tls = tls_context(smtp, self.uri) if self.uri is not None else None
        # Last in, first out: messages sent one after another keep to one connection.
        self._sessions: asyncio.LifoQueue[_Session] = asyncio.LifoQueue()
        self._count = max(1, connections)
        for _ in range(self._count):
            self._sessions.put_nowait(_Session())

    async def dispatch(self, message: Message) -> None:
        """Send ``message``; raises :class:`DeliveryError` (``permanent`` for a bad recipient or a 5xx)."""
        if self.uri is None:
            raise DeliveryError(
                "Courier tried to deliver an email but courier.smtp.connection_uri is not set"
            )
        if not is_email_address(message.recipient):
            raise DeliveryError(
                f"courier: email recipient for message {message.id} is not a valid email address",
                permanent=True,
            )
        email = self.build(message)
        session = await self._sessions.get()
        try:
            await self._send(session, email, self.uri)
        finally:
            self._sessions.put_nowait(session)

    async def close(self) -> None:
        """Say QUIT on every kept connection (waiting for those in use)."""
        sessions = [await self._sessions.get() for _ in range(self._count)]
        for session in sessions:
            client, session.client = session.client, None
            if client is not None and client.is_connected:
                try:
                    await client.quit(timeout=2.0)
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
            self._sessions.put_nowait(session)

    def build(self, message: Message) -> Email:
        """The email: From (with its name), To, Subject, the configured headers, the text and HTML bodies."""
        return compose(
            from_address=self.smtp.from_address,
            from_name=self.smtp.from_name,
            to=message.recipient,
            subject=message.subject,
            headers=self.smtp.headers,
            text=message.body,
            html=self._html(message),
        )

    def _html(self, message: Message) -> str | None:
        try:
            return self.render_html(message)
        except Exception:  # upstream sends the text alone when the HTML cannot be rendered
            log.exception("unable to render the HTML body of message %s; sending the text alone", message.id)
            return None

    async def _send(self, session: _Session, email: Email, uri: SmtpUri) -> None:
        details: dict[str, Any] = {"smtp_server": uri.address}
        utf8 = not all(address.isascii() for address in (email.sender, *email.recipients))
        for attempt in (1, 2):
            reused = session.client is not None
            client = await self._connection(session, uri)
            try:
                await client.sendmail(
                    email.sender, email.recipients, email.data, mail_options=["SMTPUTF8"] if utf8 else None
                )
            except aiosmtplib.SMTPRecipientsRefused as exc:
                refused = exc.recipients[0]
                raise self._refused(refused.code, refused.message, details) from None
            except aiosmtplib.SMTPResponseException as exc:
                if not client.is_connected:
                    session.client = None
                raise self._refused(exc.code, exc.message, details) from None
            except aiosmtplib.SMTPServerDisconnected as exc:
                self._drop(session)
                if reused and attempt == 1:  # the server closed the idle connection: open a new one
                    continue
                raise DeliveryError(f"failed to send email via smtp: {exc}", details=details) from None
            except aiosmtplib.SMTPNotSupported as exc:
                raise DeliveryError(
                    f"failed to send email via smtp: {exc}", permanent=True, details=details
                ) from None
            except (aiosmtplib.SMTPException, OSError) as exc:
                self._drop(session)
                raise DeliveryError(f"failed to send email via smtp: {exc}", details=details) from None
            session.used_at = time.monotonic()
            return

    @staticmethod
    def _refused(code: int, text: str, details: dict[str, Any]) -> DeliveryError:
        """An SMTP error answer: 5xx is final (upstream abandons the message), 4xx is tried again."""
        return DeliveryError(
            f"failed to send email via smtp: the server answered {code} {text}",
            permanent=code >= 500,
            details={**details, "smtp_code": code, "smtp_message": text},
        )

    @staticmethod
    def _drop(session: _Session) -> None:
        if session.client is not None:
            session.client.close()
            session.client = None

    async def _connection(self, session: _Session, uri: SmtpUri) -> aiosmtplib.SMTP:
        """The session's kept connection, or a new one when there is none, it was lost, or it sat idle."""
        client = session.client
        if client is not None and client.is_connected and time.monotonic() - session.used_at < self.idle:
            return client
        self._drop(session)
        details: dict[str, Any] = {"smtp_server": uri.address}
        try:
            client = await self._connect(uri)
        except DeliveryError:
            raise
        except aiosmtplib.SMTPResponseException as exc:
            raise self._refused(exc.code, exc.message, details) from None
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise DeliveryError(f"unable to connect to the SMTP server: {exc}", details=details) from None
        session.client = client
        session.used_at = time.monotonic()
        return client

    async def _connect(self, uri: SmtpUri) -> aiosmtplib.SMTP:
        sock = await self._socket(uri)
        client = aiosmtplib.SMTP(
            sock=sock,
            hostname=uri.server_name,
            use_tls=uri.implicit_tls,
            start_tls=False,
            tls_context=self._tls if uri.implicit_tls else None,
            local_hostname=self.smtp.local_name,
            timeout=self.timeout,
        )
        await client.connect()
        try:
            await client.ehlo()
            if uri.starttls:
                if not client.supports_extension("starttls"):
                    raise DeliveryError(
                        "the SMTP server does not offer STARTTLS, which smtp:// requires; use smtps://, or "
                        "add ?disable_starttls=true to the connection URI to send in cleartext",
                        details={"smtp_server": uri.address},
                    )
                await client.starttls(server_hostname=uri.server_name, tls_context=self._tls)
                await client.ehlo()
            if uri.username and client.supports_extension("auth"):
                encrypted = uri.implicit_tls or uri.starttls
                if not encrypted and uri.host not in _LOOPBACK:
                    raise DeliveryError(
                        "refusing to send the SMTP password over a cleartext connection; "
                        "use smtps:// or STARTTLS",
                        details={"smtp_server": uri.address},
                    )
                await client.login(uri.username, uri.password)
        except BaseException:
            client.close()
            raise
        return client

    async def _socket(self, uri: SmtpUri) -> socket.socket:
        """A TCP connection to the server (its first reachable address), within the timeout."""
        loop = asyncio.get_running_loop()
        details = {"smtp_server": uri.address}
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(uri.host, uri.port, type=socket.SOCK_STREAM), self.timeout
            )
        except (OSError, TimeoutError) as exc:
            raise DeliveryError(f"unable to resolve the SMTP server's host: {exc}", details=details) from None
        problem = "no address"
        for family, kind, proto, _, address in infos:
            if self.disallow_private_ip_ranges and _private(str(address[0])):
                problem = f"{address[0]} is in a private range (clients.smtp.disallow_private_ip_ranges)"
                continue
            sock = socket.socket(family, kind, proto)
            sock.setblocking(False)
            try:
                await asyncio.wait_for(loop.sock_connect(sock, address), self.timeout)
            except TimeoutError:
                sock.close()
                problem = f"timed out connecting to {address[0]}"
            except OSError as exc:
                sock.close()
                problem = exc.strerror or str(exc)
            else:
                return sock
        raise DeliveryError(f"unable to connect to the SMTP server: {problem}", details=details)
