"""Top-level configuration sections other than ``selfservice``: serve, courier, secrets, hashers, ..."""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PrivateAttr, model_validator

from kratos.config.request import Headers, HttpRequestConfig
from kratos.config.smtp import SmtpUri, parse_smtp_uri
from kratos.config.types import ByteSize, Duration, Open, RequiredAal, SameSite, Strict

logger = logging.getLogger(__name__)


def matching(pattern: str, what: str) -> AfterValidator:
    """Require ``pattern`` to match; fail with ``must be <what>`` (never echoing the value)."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"must be {what}")
        return value

    return AfterValidator(check)


def _exact_length(length: int) -> Callable[[str], str]:
    """Require ``length`` characters that are also ``length`` bytes in UTF-8 (the secret is the key)."""

    def check(value: str) -> str:
        if len(value) != length:
            raise ValueError(f"must be exactly {length} characters long, got {len(value)}")
        if len(value.encode()) != length:
            raise ValueError(f"must be {length} bytes long in UTF-8: use ASCII characters only")
        return value

    return check


Port = Annotated[int, Field(ge=1, le=65535)]
SigningSecret = Annotated[str, Field(min_length=16)]
CipherSecret = Annotated[str, AfterValidator(_exact_length(32))]
HttpMethod = Literal["POST", "GET", "PUT", "PATCH", "DELETE", "CONNECT", "HEAD", "OPTIONS", "TRACE"]
LogLevel = Literal["trace", "debug", "info", "warning", "error", "fatal", "panic"]
_VERSION = (
    r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$|^$"
)
Email = Annotated[str, matching(r"^[^@\s]+@[^@\s]+$", "an email address")]
Version = Annotated[str, matching(_VERSION, "a version such as v1.2.3")]

# --- serve ---------------------------------------------------------------------------------------


class TlsSource(Strict):
    """A PEM file given by path or inline as base64."""

    path: str | None = None
    base64: str | None = None


class Tls(Strict):
    """``serve.*.tls``: TLS is on when a key or a certificate is configured."""

    key: TlsSource | None = None
    cert: TlsSource | None = None

    @property
    def enabled(self) -> bool:
        """Whether any TLS material is configured."""
        return any(src is not None and (src.path or src.base64) for src in (self.key, self.cert))


class Socket(Strict):
    """``serve.*.socket``: unix socket permissions."""

    owner: str = ""
    group: str = ""
    mode: int = Field(default=0o755, ge=0, le=0o777)


class RequestLog(Strict):
    """``serve.*.request_log``."""

    disable_for_health: bool = False


class Cors(Strict):
    """``serve.public.cors``."""

    enabled: bool = False
    allowed_origins: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=lambda: ["*"])
    allowed_methods: list[HttpMethod] = Field(
        default_factory=lambda: ["POST", "GET", "PUT", "PATCH", "DELETE"]
    )
    allowed_headers: list[str] = Field(
        default_factory=lambda: [
            "Authorization",
            "Content-Type",
            "Max-Age",
            "X-Session-Token",
            "X-XSRF-TOKEN",
            "X-CSRF-TOKEN",
        ]
    )
    exposed_headers: list[str] = Field(default_factory=lambda: ["Content-Type"])
    allow_credentials: bool = True
    options_passthrough: bool = False
    max_age: int = Field(default=0, ge=0)
    debug: bool = False


class _Endpoint(Strict):
    """Settings shared by the public and admin listeners. ``base_url`` is always set after loading."""

    base_url: str = ""
    host: str = ""
    port: Port
    socket: Socket | None = None
    tls: Tls = Field(default_factory=Tls)
    request_log: RequestLog = Field(default_factory=RequestLog)

    @model_validator(mode="after")
    def _default_base_url(self) -> _Endpoint:
        if not self.base_url:
            host = self.host
            if host in ("", "0.0.0.0", "::") or host.startswith("unix:"):  # noqa: S104 - a comparison
                host = "127.0.0.1"
            elif ":" in host:
                host = f"[{host}]"
            self.base_url = f"http://{host}:{self.port}/"
        return self

    @property
    def uses_socket(self) -> bool:
        """Whether this listener is configured for a unix socket."""
        return self.socket is not None or self.host.startswith("unix:")


class PublicEndpoint(_Endpoint):
    """``serve.public``."""

    port: Port = 4433
    cors: Cors = Field(default_factory=Cors)


class AdminEndpoint(_Endpoint):
    """``serve.admin``."""

    port: Port = 4434


class Serve(Strict):
    """``serve``."""

    public: PublicEndpoint = Field(default_factory=PublicEndpoint)
    admin: AdminEndpoint = Field(default_factory=AdminEndpoint)


# --- courier -------------------------------------------------------------------------------------


def _smtp_uri(value: str) -> str:
    parse_smtp_uri(value)
    return value


def _ehlo_name(value: str) -> str:
    if not value.strip() or any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValueError("must be a host name without spaces or control characters")
    return value


def _one_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must not contain line breaks")
    return value


class Smtp(Strict):
    """``courier.smtp``; ``uri`` is the parsed ``connection_uri``."""

    connection_uri: Annotated[str, AfterValidator(_smtp_uri)] | None = None
    client_cert_path: str = ""
    client_key_path: str = ""
    from_address: Email = "no-reply@ory.kratos.sh"
    from_name: Annotated[str, AfterValidator(_one_line)] | None = None
    headers: Headers = Field(default_factory=dict)
    local_name: Annotated[str, AfterValidator(_ehlo_name)] = "localhost"

    @property
    def uri(self) -> SmtpUri | None:
        """The parsed ``connection_uri`` (validated at load), or ``None`` when it is not set."""
        return parse_smtp_uri(self.connection_uri) if self.connection_uri else None


class CourierWorker(Open):
    """``courier.worker``."""

    pull_count: int = Field(default=10, ge=1)
    pull_wait: Duration = timedelta(seconds=1)


class CourierHttp(Strict):
    """``courier.http``: where ``delivery_strategy: http`` sends emails."""

    request_config: HttpRequestConfig | None = None


def _sms_only(value: str) -> str:
    if value != "sms":
        raise ValueError(
            "must be sms (the only channel upstream's schema allows; to send emails over HTTP set "
            "courier.delivery_strategy to http and courier.http.request_config)"
        )
    return value


class CourierChannel(Strict):
    """One entry of ``courier.channels``: an HTTP endpoint that delivers the ``id`` channel's messages."""

    id: Annotated[str, AfterValidator(_sms_only)]
    type: Literal["http"] = "http"
    request_config: HttpRequestConfig


class EmailBodyTemplateUrls(Strict):
    """``...email.body``: where the HTML and the plain-text body templates are."""

    html: str | None = None
    plaintext: str | None = None


class EmailTemplateUrls(Strict):
    """``courier.templates.<type>...email``: ``file://``, ``base64://`` or ``http(s)://`` URLs."""

    subject: str | None = None
    body: EmailBodyTemplateUrls = Field(default_factory=EmailBodyTemplateUrls)


class SmsBodyTemplateUrls(Strict):
    """``...sms.body``."""

    plaintext: str | None = None


class SmsTemplateUrls(Strict):
    """``courier.templates.<type>...sms``."""

    body: SmsBodyTemplateUrls = Field(default_factory=SmsBodyTemplateUrls)


class EmailTemplates(Strict):
    """Templates of a message that only goes out by email (``invalid``)."""

    email: EmailTemplateUrls


class MessageTemplates(Strict):
    """Templates of a message that can go out by email or SMS."""

    email: EmailTemplateUrls
    sms: SmsTemplateUrls | None = None


class ValidInvalidTemplates(Strict):
    """``courier.templates.<recovery|verification>[_code]``: both outcomes."""

    valid: MessageTemplates | None = None
    invalid: EmailTemplates | None = None


class ValidTemplates(Strict):
    """``courier.templates.<login_code|registration_code>``: only the valid outcome exists."""

    valid: MessageTemplates | None = None


class NotificationTemplates(Strict):
    """``courier.templates.<verifiable_address_changed|authenticator_key_added>``."""

    email: EmailTemplateUrls | None = None
    sms: SmsTemplateUrls | None = None


class CourierTemplates(Strict):
    """``courier.templates``: per message type, URLs of templates that replace the built-in ones."""

    recovery: ValidInvalidTemplates | None = None
    recovery_code: ValidInvalidTemplates | None = None
    verification: ValidInvalidTemplates | None = None
    verification_code: ValidInvalidTemplates | None = None
    login_code: ValidTemplates | None = None
    registration_code: ValidTemplates | None = None
    verifiable_address_changed: NotificationTemplates | None = None
    authenticator_key_added: NotificationTemplates | None = None


class Courier(Strict):
    """``courier``."""

    templates: CourierTemplates = Field(default_factory=CourierTemplates)
    template_override_path: str | None = None
    message_retries: int = 5
    worker: CourierWorker = Field(default_factory=CourierWorker)
    delivery_strategy: Literal["smtp", "http"] = "smtp"
    http: CourierHttp = Field(default_factory=CourierHttp)
    smtp: Smtp = Field(default_factory=Smtp)
    channels: list[CourierChannel] = Field(default_factory=list)

    @model_validator(mode="after")
    def _http_needs_request_config(self) -> Courier:
        if self.delivery_strategy == "http" and self.http.request_config is None:
            raise ValueError("http.request_config: is required when courier.delivery_strategy is http")
        return self


# --- identity, secrets, hashing ------------------------------------------------------------------


class IdentitySchemaRef(Open):
    """One entry of ``identity.schemas``."""

    id: str
    url: str
    selfservice_selectable: bool = False


class Identity(Strict):
    """``identity``."""

    default_schema_id: str = "default"
    schemas: list[IdentitySchemaRef] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_exists(self) -> Identity:
        ids = [schema.id for schema in self.schemas]
        if self.default_schema_id not in ids:
            known = ", ".join(ids)
            raise ValueError(
                f'default_schema_id: "{self.default_schema_id}" is not among the schema ids ({known})'
            )
        return self


class Secrets(Strict):
    """``secrets``: the first entry of each list signs/encrypts, the others only verify/decrypt."""

    default: list[SigningSecret] = Field(default_factory=list)
    cookie: list[SigningSecret] = Field(default_factory=list)
    pagination: list[SigningSecret] = Field(default_factory=list)
    cipher: list[CipherSecret] = Field(default_factory=list)
    _generated: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _generate_default(self) -> Secrets:
        if not self.default:
            self._generated = [secrets.token_urlsafe(32)]
            if not self.cookie:
                logger.warning(
                    "secrets.default and secrets.cookie are not set: using a random secret generated at "
                    "start-up; sessions will not survive a restart nor work across replicas"
                )
        return self

    def default_secrets(self) -> list[str]:
        """``secrets.default``, or the secret generated at load time when none is configured."""
        return self.default or self._generated

    def cookie_secrets(self) -> list[str]:
        """Secrets for cookies: ``secrets.cookie``, else ``secrets.default``, else the generated one."""
        return self.cookie or self.default_secrets()

    def pagination_secrets(self) -> list[str]:
        """Secrets for pagination tokens: ``secrets.pagination``, else the default secrets."""
        return self.pagination or self.default_secrets()


class Argon2(Strict):
    """``hashers.argon2`` (``memory`` and ``dedicated_memory`` in bytes)."""

    memory: ByteSize = 128 * 1024**2
    iterations: int = Field(default=1, ge=1)
    parallelism: int = Field(default_factory=lambda: 2 * (os.cpu_count() or 1), ge=1)
    salt_length: int = Field(default=16, ge=16)
    key_length: int = Field(default=32, ge=16)
    expected_duration: Duration = timedelta(milliseconds=500)
    expected_deviation: Duration = timedelta(milliseconds=500)
    dedicated_memory: ByteSize = 1024**3


class Bcrypt(Strict):
    """``hashers.bcrypt``."""

    cost: int = Field(default=12, ge=4, le=31)


class Hashers(Strict):
    """``hashers``."""

    algorithm: Literal["bcrypt", "argon2"] = "bcrypt"
    argon2: Argon2 = Field(default_factory=Argon2)
    bcrypt: Bcrypt = Field(default_factory=Bcrypt)


class Ciphers(Open):
    """``ciphers``."""

    algorithm: Literal["noop", "aes", "xchacha20-poly1305"] = "noop"


# --- cookies, sessions ---------------------------------------------------------------------------


class Cookies(Strict):
    """``cookies``: defaults for the CSRF and session cookies (``secure`` defaults to not-dev)."""

    domain: str | None = None
    path: str = "/"
    secure: bool | None = None
    same_site: SameSite = "Lax"


class SessionCookie(Strict):
    """``session.cookie``; unset domain/path/same_site/secure are filled from ``cookies`` at load."""

    domain: str | None = None
    name: str = "ory_kratos_session"
    persistent: bool = True
    path: str | None = None
    secure: bool | None = None
    same_site: SameSite | None = None


class TokenizerTemplate(Open):
    """``session.whoami.tokenizer.templates.<name>``: how ``?tokenize_as=<name>`` signs a session as a JWT."""

    jwks_url: str
    claims_mapper_url: str | None = None
    ttl: Duration = timedelta(minutes=1)
    subject_source: Literal["id", "external_id"] = "id"


class Tokenizer(Open):
    """``session.whoami.tokenizer``."""

    templates: dict[str, TokenizerTemplate] = Field(default_factory=dict)


class Whoami(Strict):
    """``session.whoami``."""

    required_aal: RequiredAal = "highest_available"
    tokenizer: Tokenizer = Field(default_factory=Tokenizer)


class Session(Strict):
    """``session``."""

    whoami: Whoami = Field(default_factory=Whoami)
    lifespan: Duration = timedelta(hours=24)
    cookie: SessionCookie = Field(default_factory=SessionCookie)
    earliest_possible_extend: Duration | None = None


# --- everything else -----------------------------------------------------------------------------


class Log(Strict):
    """``log``."""

    level: LogLevel = "info"
    format: Literal["json", "text"] = "text"
    leak_sensitive_values: bool = False
    redaction_text: str | None = None


class CleanupSleep(Open):
    """``database.cleanup.sleep``."""

    tables: Duration = timedelta(minutes=1)


class Cleanup(Open):
    """``database.cleanup``."""

    batch_size: int = Field(default=100, ge=1)
    sleep: CleanupSleep = Field(default_factory=CleanupSleep)
    older_than: Duration = timedelta(0)


class Database(Strict):
    """``database``."""

    cleanup: Cleanup = Field(default_factory=Cleanup)


class OAuth2Provider(Strict):
    """``oauth2_provider``: Ory Hydra integration."""

    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    override_return_to: bool = False


class Preview(Open):
    """``preview``."""

    default_read_consistency_level: Literal["strong", "eventual"] = "strong"


class Tracing(Open):
    """``tracing`` (upstream's shared tracing schema; kept loose)."""

    provider: str = ""
    service_name: str | None = None
    deployment_environment: str | None = None
    providers: dict[str, Any] = Field(default_factory=dict)


class HttpClients(Open):
    """``clients.http``."""

    disallow_private_ip_ranges: bool = False
    private_ip_exception_urls: list[str] = Field(default_factory=list)


class SmtpClients(Open):
    """``clients.smtp``."""

    disallow_private_ip_ranges: bool = False


_WEBHOOK_HEADERS = [
    *("Accept", "Accept-Encoding", "Accept-Language", "Content-Length", "Content-Type", "Origin", "Priority"),
    *("Referer", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform", "Sec-Fetch-Dest", "Sec-Fetch-Mode"),
    *("Sec-Fetch-Site", "Sec-Fetch-User", "True-Client-Ip", "User-Agent"),
]


class WebHookClients(Open):
    """``clients.web_hook``."""

    header_allowlist: list[str] = Field(default_factory=lambda: list(_WEBHOOK_HEADERS))


class Clients(Open):
    """``clients``: outgoing network settings."""

    http: HttpClients = Field(default_factory=HttpClients)
    smtp: SmtpClients = Field(default_factory=SmtpClients)
    web_hook: WebHookClients = Field(default_factory=WebHookClients)


class AccountEnumeration(Open):
    """``security.account_enumeration``."""

    mitigate: bool = False


class Security(Open):
    """``security``."""

    account_enumeration: AccountEnumeration = Field(default_factory=AccountEnumeration)
    disallow_ref_in_identity_schemas: bool = False


class FeatureFlags(Strict):
    """``feature_flags``."""

    cacheable_sessions: bool = False
    cacheable_sessions_max_age: Duration | None = None
    use_continue_with_transitions: bool = False
    choose_recovery_address: bool = False
    legacy_continue_with_verification_ui: bool = False
    legacy_require_verified_login_error: bool = False
    faster_session_extend: bool = False
    password_profile_registration_node_group: Literal["password", "default"] = "default"  # noqa: S105
    legacy_oidc_registration_node_group: bool = False
    legacy_allow_insecure_origins: bool = False
    refresh_login_choose_address: bool = False


class Enterprise(Strict):
    """``enterprise``."""

    identity_schema_fallback_url_template: str | None = None
