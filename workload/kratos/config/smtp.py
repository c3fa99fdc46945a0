"""``courier.smtp.connection_uri`` as upstream reads it (``courier/smtp.go``).

``smtp://user:pass@host:port/`` requires STARTTLS unless ``?disable_starttls=true`` (cleartext);
``smtps://`` is implicit TLS. ``?skip_ssl_verify=true`` accepts any certificate; ``?server_name=`` is the
name sent in SNI and checked in the certificate (default: the host). Messages never echo the URI: it
holds a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


@dataclass(frozen=True, slots=True)
class SmtpUri:
    """A parsed SMTP connection URI."""

    host: str
    port: int
    username: str
    password: str
    implicit_tls: bool
    starttls: bool
    skip_ssl_verify: bool
    server_name: str

    @property
    def address(self) -> str:
        """``host:port`` (IPv6 hosts in brackets), for logs and errors."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _flag(query: dict[str, list[str]], name: str) -> bool:
    values = query.get(name)
    if not values:
        return False
    if values[0] in _TRUE:
        return True
    if values[0] in _FALSE:
        return False
    raise ValueError(f"the query parameter {name} must be true or false")


def parse_smtp_uri(uri: str) -> SmtpUri:
    """Parse ``uri``; raises ``ValueError`` saying what is wrong, never quoting the URI."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        raise ValueError("is not a valid URI (check the port and any brackets)") from None
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("must be an smtp:// or smtps:// URI")
    if not parts.hostname:
        raise ValueError("must name the SMTP server's host, as in smtp://user:password@host:587/")
    if port is None:
        raise ValueError(
            "must name the SMTP server's port, as in smtp://user:password@host:587/ "
            "(upstream Kratos has no default port either)"
        )
    if port == 0:
        raise ValueError("must name a port between 1 and 65535")
    query = parse_qs(parts.query, keep_blank_values=True)
    implicit = parts.scheme == "smtps"
    disable_starttls = _flag(query, "disable_starttls")
    skip_verify = _flag(query, "skip_ssl_verify")
    server_name = (query.get("server_name") or [""])[0] or parts.hostname
    return SmtpUri(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        implicit_tls=implicit,
        starttls=not implicit and not disable_starttls,
        skip_ssl_verify=skip_verify,
        server_name=server_name,
    )
