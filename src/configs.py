"""Charm config -> typed settings, and the rendered kratos.yaml and workload environment."""

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import jinja2
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from constants import CA_BUNDLE_FILE, DEFAULT_SCHEMA_ID, TEMPLATES_DIR
from integrations.identity import LOGIN_UI_KEYS
from integrations.webhooks import Webhooks

LogLevel = Literal["trace", "debug", "info", "warning", "error", "fatal", "panic"]
_CPU = re.compile(r"^(\d+m|\d+(\.\d+)?)$")
_MEMORY = re.compile(r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidConfigError(Exception):
    """A charm config option has an invalid value; the message names the option."""


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def builtin_identity_schemas(
    directory: Path = TEMPLATES_DIR / "identity_schemas",
) -> dict[str, dict[str, Any]]:
    """Return the charm's identity schemas by id (file name without `.json`)."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


class CharmConfig(BaseModel):
    """The validated charm config (config.yaml)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    log_level: LogLevel = "info"
    dev: bool = False
    enable_local_idp: bool = True
    enforce_mfa: bool = True
    enable_verification: bool = False
    enable_passwordless_login_method: bool = False
    enable_oidc_webauthn_sequencing: bool = False
    identity_schemas: dict[str, dict[str, Any]] | None = None
    default_identity_schema_id: str | None = None
    sender_email: str = "identity@canonical.com"
    sender_name: str = "Canonical Identity Platform"
    recovery_email_template: str | None = None
    http_proxy: str = ""
    https_proxy: str = ""
    no_proxy: str = ""
    cpu: str | None = None
    memory: str | None = None

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("default_identity_schema_id", "recovery_email_template", "cpu", "memory", mode="before")
    @classmethod
    def _optional(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("identity_schemas", mode="before")
    @classmethod
    def _parse_schemas(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if not isinstance(value, str):
            return value
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as e:
            raise ValueError(f"must be a JSON object of schema id to schema ({e.msg})") from None
        if not isinstance(parsed, dict):
            raise ValueError("must be a JSON object of schema id to schema")
        schemas = {}
        for schema_id, schema in parsed.items():
            if isinstance(schema, str):
                try:
                    schema = json.loads(schema)
                except json.JSONDecodeError:
                    raise ValueError(f"schema {schema_id!r} is not valid JSON") from None
            if not isinstance(schema, dict) or not schema_id.strip():
                raise ValueError(f"schema {schema_id!r} must be a JSON object with a non-empty id")
            schemas[schema_id] = schema
        return schemas

    @field_validator("sender_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"must be an email address, got {value!r}")
        return value

    @field_validator("http_proxy", "https_proxy")
    @classmethod
    def _proxy(cls, value: str) -> str:
        value = value.strip()
        if value and (urlparse(value).scheme not in ("http", "https") or not urlparse(value).hostname):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: str | None) -> str | None:
        if value is not None and not _CPU.match(value.strip()):
            raise ValueError(f"must be a Kubernetes CPU quantity such as 500m or 2, got {value!r}")
        return value.strip() if value else value

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        if value is not None and not _MEMORY.match(value.strip()):
            raise ValueError(f"must be a Kubernetes memory quantity such as 512Mi or 1Gi, got {value!r}")
        return value.strip() if value else value

    @model_validator(mode="after")
    def _consistent(self) -> "CharmConfig":
        if self.enable_passwordless_login_method and self.enable_oidc_webauthn_sequencing:
            raise ValueError(
                "enable_passwordless_login_method and enable_oidc_webauthn_sequencing cannot both be true; "
                "set one of them to false"
            )
        if self.default_identity_schema_id and self.default_identity_schema_id not in self.schemas:
            known = ", ".join(sorted(self.schemas))
            raise ValueError(
                f"default_identity_schema_id {self.default_identity_schema_id!r} names no identity schema "
                f"(known: {known}); add it to identity_schemas or choose a known one"
            )
        return self

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> "CharmConfig":
        """Validate the Juju config; raise InvalidConfigError naming the first bad option."""
        try:
            return cls.model_validate(dict(config))
        except ValidationError as e:
            error = e.errors()[0]
            option = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            if option:
                raise InvalidConfigError(f"Invalid config option {option}: {message}") from None
            raise InvalidConfigError(f"Invalid config: {message}") from None

    @cached_property
    def schemas(self) -> dict[str, dict[str, Any]]:
        """The built-in identity schemas overlaid with `identity_schemas`."""
        return {**builtin_identity_schemas(), **(self.identity_schemas or {})}

    @property
    def default_schema_id(self) -> str:
        """The schema self-service registration uses."""
        return self.default_identity_schema_id or DEFAULT_SCHEMA_ID

    @property
    def webauthn_requested(self) -> bool:
        """Whether a setting needs the WebAuthn method (and so a public URL)."""
        return self.enable_passwordless_login_method or self.enable_oidc_webauthn_sequencing


def base64_url(content: str | bytes) -> str:
    """Return a `base64://` URL of `content`, which the workload reads as a file (survives pod restarts)."""
    raw = content.encode() if isinstance(content, str) else content
    return "base64://" + base64.b64encode(raw).decode()


def _origin(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


@dataclass(frozen=True)
class RenderInputs:
    """Everything kratos.yaml depends on: the charm config and the relations' data."""

    config: CharmConfig
    public_url: str | None = None
    admin_url: str | None = None
    fallback_public_url: str = "http://127.0.0.1:4433"
    login_ui: Mapping[str, str] = field(default_factory=dict)
    oauth2_provider_url: str | None = None
    oidc_providers: list[dict[str, Any]] = field(default_factory=list)
    tracing_endpoint: str | None = None
    webhooks: Webhooks = field(default_factory=Webhooks)
    verification_email_template: str | None = None

    @property
    def public_base_url(self) -> str:
        """The public API base URL, with a trailing slash."""
        return (self.public_url or self.fallback_public_url).rstrip("/") + "/"

    def allowed_return_urls(self) -> list[str]:
        """Our public URL and the login UI's origin."""
        urls = [self.public_base_url] if self.public_url else []
        urls += sorted({_origin(url) + "/" for url in self.login_ui.values()})
        return list(dict.fromkeys(urls))

    @property
    def webauthn_enabled(self) -> bool:
        """WebAuthn is on with a public URL (its origin) when a setting needs it or MFA is enforced."""
        config = self.config
        return bool(self.public_url) and (config.webauthn_requested or config.enforce_mfa)

    def registration_methods(self) -> list[str]:
        """The methods users can register with (each gets its own after hooks)."""
        methods = (["password"] if self.config.enable_local_idp else []) + (
            ["oidc"] if self.oidc_providers else []
        )
        return methods + (["webauthn"] if self.webauthn_enabled else [])

    def login_methods(self) -> list[str]:
        """The methods a login can complete with, first or second factor."""
        methods = self.registration_methods()
        return methods + (["totp", "lookup_secret"] if self.config.enforce_mfa else [])

    def feature_flags(self) -> tuple[str, ...]:
        """What kratos-info announces: the enabled methods and account linking (external IdPs)."""
        enabled = {
            "password": self.config.enable_local_idp,
            "webauthn": self.webauthn_enabled,
            "totp": self.config.enforce_mfa,
            "backup_codes": self.config.enforce_mfa,
            "account_linking": bool(self.oidc_providers),
        }
        return tuple(flag for flag, on in enabled.items() if on)

    def context(self) -> dict[str, Any]:
        """Return the template's variables."""
        config = self.config
        methods = self.registration_methods()
        recovery_body = (
            config.recovery_email_template
            or (TEMPLATES_DIR / "courier" / "recovery_code_valid.html.gotmpl").read_text()
        )
        tracing = urlparse(self.tracing_endpoint) if self.tracing_endpoint else None
        return {
            "log_level": config.log_level,
            "public_base_url": self.public_base_url,
            "admin_base_url": (self.admin_url or "http://127.0.0.1:4434").rstrip("/") + "/",
            "required_aal": "highest_available" if config.enforce_mfa else "aal1",
            "default_schema_id": config.default_schema_id,
            "identity_schemas": [
                {"id": schema_id, "url": base64_url(json.dumps(schema))}
                for schema_id, schema in sorted(config.schemas.items())
            ],
            "recovery_email_body": base64_url(recovery_body),
            "verification_email_body": (
                base64_url(self.verification_email_template) if self.verification_email_template else None
            ),
            "oauth2_provider_url": self.oauth2_provider_url,
            "tracing_server_url": tracing.netloc if tracing else None,
            "tracing_insecure": tracing is not None and tracing.scheme != "https",
            "default_browser_return_url": self.login_ui.get("settings_url")
            or self.login_ui.get("login_url")
            or self.public_base_url,
            "allowed_return_urls": self.allowed_return_urls(),
            "enable_local_idp": config.enable_local_idp,
            "enforce_mfa": config.enforce_mfa,
            "enable_verification": config.enable_verification,
            "webauthn_enabled": self.webauthn_enabled,
            "passwordless": config.enable_passwordless_login_method,
            "webauthn_rp_id": urlparse(self.public_url).hostname if self.public_url else None,
            "webauthn_origins": [_origin(self.public_url)] if self.public_url else [],
            "oidc_providers": self.oidc_providers,
            "ui": {key: self.login_ui.get(key) for key in LOGIN_UI_KEYS},
            "registration_methods": methods,
            "registration_before_hooks": self.webhooks.registration.before(),
            "registration_after_hooks": {m: self.webhooks.registration.after(m) for m in methods},
            "login_before_hooks": self.webhooks.login.before(),
            "login_after_hooks": self.webhooks.login.after_by_method(self.login_methods()),
        }


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - renders YAML, not HTML; values go through `tojson`.
        keep_trailing_newline=True,
    )


def render_kratos_config(inputs: RenderInputs) -> str:
    """Render templates/kratos.yaml.j2."""
    return _environment().get_template("kratos.yaml.j2").render(**inputs.context())


@dataclass(frozen=True)
class WorkloadSecrets:
    """The values the workload must never find in a file."""

    dsn: str
    cookie_secret: str
    cipher_secret: str
    smtp_connection_uri: str


def workload_environment(
    config: CharmConfig,
    secrets: WorkloadSecrets,
    *,
    public_base_url: str,
    sender_email: str | None = None,
    custom_ca: bool = False,
) -> dict[str, str]:
    """Return the `kratos` service's environment: secrets, DSN, base URL, SMTP, proxies, dev mode."""
    env = {
        "DSN": secrets.dsn,
        "SECRETS_COOKIE": json.dumps([secrets.cookie_secret]),
        "SECRETS_CIPHER": json.dumps([secrets.cipher_secret]),
        "SERVE_PUBLIC_BASE_URL": public_base_url,
        "COURIER_SMTP_CONNECTION_URI": secrets.smtp_connection_uri,
        "COURIER_SMTP_FROM_ADDRESS": sender_email or config.sender_email,
        "COURIER_SMTP_FROM_NAME": config.sender_name,
        "LOG_LEVEL": config.log_level,
        "LOG_FORMAT": "json",
        "DEV": json.dumps(config.dev),
        "SERVE_PUBLIC_CORS_ENABLED": "true",
    }
    proxies = {
        "HTTP_PROXY": config.http_proxy,
        "HTTPS_PROXY": config.https_proxy,
        "NO_PROXY": config.no_proxy,
    }
    for name, value in proxies.items():
        if value:
            env[name] = env[name.lower()] = value
    if custom_ca:
        env["SSL_CERT_FILE"] = str(CA_BUNDLE_FILE)
        env["REQUESTS_CA_BUNDLE"] = str(CA_BUNDLE_FILE)
    return env
