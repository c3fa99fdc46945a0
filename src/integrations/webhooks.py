"""kratos-registration-webhook and kratos-login-webhook: web hooks other charms ask Kratos to call.

Each provider application writes one hook into its application databag (all values strings):
`url`, `body` (a Jsonnet URL), `method`, `mode` (before|after), `methods` (JSON list; empty: every
method), `weight` (lower runs first), `response_ignore`, `response_parse`, and optionally `auth_type`
(api_key|basic_auth), `auth_config_name`, `auth_config_value_secret` (a Juju secret id whose key
`auth-config-value` holds the key or password) and `auth_config_in` (header|cookie).
"""

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import ops
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

logger = logging.getLogger(__name__)

REGISTRATION_METHODS = ("password", "oidc", "code", "passkey", "webauthn")
LOGIN_METHODS = (*REGISTRATION_METHODS, "totp", "lookup_secret")
SECRET_KEY = "auth-config-value"  # noqa: S105 - the key's name, not a secret
_BODY_SCHEMES = ("http://", "https://", "file://", "base64://")
_METHOD = re.compile(r"^[A-Z]+$")


class WebhookError(Exception):
    """A provider's web hook cannot be used; the message names the relation, the key and what to do."""


class WebhookData(BaseModel):
    """One provider's application data; `allowed_methods` (per flow) are the methods with after hooks."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    allowed_methods: ClassVar[tuple[str, ...]] = LOGIN_METHODS

    url: str
    body: str = ""
    method: str = "POST"
    mode: Literal["before", "after"] = "after"
    methods: tuple[str, ...] = ()
    weight: int = Field(default=0, ge=0)
    response_ignore: bool = False
    response_parse: bool = False
    auth_type: Literal["api_key", "basic_auth"] = "api_key"
    auth_config_name: str = "Authorization"
    auth_config_value_secret: str | None = None
    auth_config_in: Literal["header", "cookie"] = "header"

    @model_validator(mode="before")
    @classmethod
    def _blank_is_default(cls, data: Any) -> Any:
        # The reference provider sends "" for the auth keys when auth is off.
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        if value and not value.startswith(_BODY_SCHEMES):
            raise ValueError("must be a base64://, http(s):// or file:// URL of a Jsonnet template")
        return value

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        if not _METHOD.match(value.strip().upper()):
            raise ValueError(f"must be an HTTP method such as POST, got {value!r}")
        return value.strip().upper()

    @field_validator("methods", mode="before")
    @classmethod
    def _methods(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ValueError('must be a JSON list such as ["password"]') from None
        if not isinstance(value, list | tuple) or not all(isinstance(m, str) for m in value):
            raise ValueError('must be a JSON list such as ["password"]')
        if unknown := sorted(set(value) - set(cls.allowed_methods)):
            allowed = ", ".join(cls.allowed_methods)
            raise ValueError(f"unknown methods {', '.join(unknown)} (allowed: {allowed})")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _ignore_or_parse(self) -> "WebhookData":
        if self.response_ignore and self.response_parse:
            raise ValueError("response_ignore and response_parse cannot both be true")
        return self


class RegistrationWebhookData(WebhookData):
    """A kratos-registration-webhook provider's data."""

    allowed_methods: ClassVar[tuple[str, ...]] = REGISTRATION_METHODS


class LoginWebhookData(WebhookData):
    """A kratos-login-webhook provider's data."""

    allowed_methods: ClassVar[tuple[str, ...]] = LOGIN_METHODS


@dataclass(frozen=True)
class Webhook:
    """A validated web hook with its auth value read from the provider's secret."""

    data: WebhookData
    auth_value: str | None = None

    def kratos_hook(self) -> dict[str, Any]:
        """Return the `web_hook` hook of kratos.yaml."""
        data = self.data
        config: dict[str, Any] = {"url": data.url, "method": data.method}
        if data.body:
            config["body"] = data.body
        config["response"] = {"ignore": data.response_ignore, "parse": data.response_parse}
        if self.auth_value is not None:
            if data.auth_type == "basic_auth":
                auth = {"user": data.auth_config_name, "password": self.auth_value}
            else:
                auth = {"name": data.auth_config_name, "value": self.auth_value, "in": data.auth_config_in}
            config["auth"] = {"type": data.auth_type, "config": auth}
        return {"hook": "web_hook", "config": config}


@dataclass(frozen=True)
class FlowWebhooks:
    """The web hooks of one self-service flow, each phase in weight order."""

    hooks: tuple[Webhook, ...] = ()

    def before(self) -> list[dict[str, Any]]:
        """The `before` hooks (they run before a method is chosen, so `methods` does not apply)."""
        return [h.kratos_hook() for h in self.hooks if h.data.mode == "before"]

    def after(self, method: str) -> list[dict[str, Any]]:
        """The `after` hooks for `method`: those for every method and those naming it."""
        return [
            h.kratos_hook()
            for h in self.hooks
            if h.data.mode == "after" and (not h.data.methods or method in h.data.methods)
        ]

    def after_by_method(self, methods: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """The `after` hooks of each of `methods` that has any."""
        return {method: hooks for method in methods if (hooks := self.after(method))}


@dataclass(frozen=True)
class Webhooks:
    """The registration and login flows' web hooks."""

    registration: FlowWebhooks = field(default_factory=FlowWebhooks)
    login: FlowWebhooks = field(default_factory=FlowWebhooks)


class WebhookRequirer:
    """Reads every relation of one webhook endpoint (the requirer writes nothing)."""

    def __init__(self, model: ops.Model, relation_name: str, data_class: type[WebhookData]) -> None:
        self._model = model
        self.relation_name = relation_name
        self._data_class = data_class

    def _error(self, relation: ops.Relation, problem: str) -> WebhookError:
        app = relation.app.name if relation.app else "the provider"
        return WebhookError(
            f"{self.relation_name} from {app}: {problem}; kratos.yaml is not updated until fixed"
        )

    def _load(self, relation: ops.Relation) -> Webhook | None:
        if not relation.app or not (raw := dict(relation.data[relation.app])).get("url"):
            return None  # the provider has not published its hook yet
        try:
            data = self._data_class.model_validate(raw)
        except ValidationError as e:
            error = e.errors()[0]
            key = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            raise self._error(relation, f"invalid {key or 'data'}: {message}") from None
        if not (secret_id := data.auth_config_value_secret):
            return Webhook(data)
        try:
            content = self._model.get_secret(id=secret_id).get_content(refresh=True)
        except (ops.SecretNotFoundError, ops.ModelError):
            raise self._error(
                relation,
                f"cannot read the auth secret {secret_id}: the provider must grant it to the relation",
            ) from None
        if not content.get(SECRET_KEY):
            raise self._error(relation, f"the auth secret {secret_id} has no key {SECRET_KEY}")
        return Webhook(data, content[SECRET_KEY])

    def flow_webhooks(self) -> FlowWebhooks:
        """Every published hook, by weight then relation id; raise WebhookError for an unusable one."""
        relations = sorted(self._model.relations[self.relation_name], key=lambda r: r.id)
        hooks = [hook for relation in relations if (hook := self._load(relation))]
        return FlowWebhooks(tuple(sorted(hooks, key=lambda h: h.data.weight)))
