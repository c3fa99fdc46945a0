"""Identity-platform relations: smtp, hydra-endpoint-info, ui-endpoint-info, kratos-external-idp."""

import base64
import hashlib
import json
import logging
from typing import Any, Literal
from urllib.parse import quote, urlencode

import ops
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from constants import TEMPLATES_DIR

logger = logging.getLogger(__name__)

DEFAULT_SMTP_URI = "smtps://test:test@mailslurper:1025/?skip_ssl_verify=true"
LOGIN_UI_KEYS = (
    "consent_url",
    "error_url",
    "login_url",
    "oidc_error_url",
    "device_verification_url",
    "post_device_done_url",
    "recovery_url",
    "registration_url",
    "settings_url",
    "webauthn_settings_url",
    "account_linking_settings_url",
    "verification_url",
)


def _remote_app_data(model: ops.Model, relation_name: str) -> ops.RelationDataContent | None:
    relation = model.get_relation(relation_name)
    if not relation or not relation.app:
        return None
    return relation.data[relation.app]


class SmtpData(BaseModel):
    """The smtp provider's application data."""

    model_config = ConfigDict(extra="ignore")

    host: str
    port: int
    auth_type: Literal["none", "not_provided", "plain"] = "none"
    transport_security: Literal["none", "starttls", "tls"] = "none"
    skip_ssl_verify: bool = False
    user: str | None = None
    password: str | None = None
    password_id: str | None = None
    smtp_sender: str | None = None

    def connection_uri(self, password: str | None) -> str:
        """Return the courier's connection URI for this server."""
        scheme = "smtps" if self.transport_security == "tls" else "smtp"
        params: dict[str, str] = {}
        if self.transport_security == "none":
            params["disable_starttls"] = "true"
        if self.skip_ssl_verify:
            params["skip_ssl_verify"] = "true"
        auth = ""
        if self.auth_type == "plain" and self.user:
            auth = quote(self.user, safe="")
            if password:
                auth += ":" + quote(password, safe="")
            auth += "@"
        query = f"?{urlencode(params)}" if params else ""
        return f"{scheme}://{auth}{self.host}:{self.port}/{query}"


class SmtpRequirer:
    """Reads the smtp integration (the requirer writes nothing)."""

    def __init__(self, model: ops.Model, relation_name: str) -> None:
        self._model = model
        self.relation_name = relation_name

    def data(self) -> SmtpData | None:
        """Return the provider's data, when complete and valid."""
        if not (raw := _remote_app_data(self._model, self.relation_name)) or not raw.get("host"):
            return None
        try:
            return SmtpData.model_validate(dict(raw))
        except ValidationError as e:
            logger.warning("invalid smtp relation data: %s", e)
            return None

    def _password(self, data: SmtpData) -> str | None:
        if data.password_id:
            try:
                secret = self._model.get_secret(id=data.password_id)
                return secret.get_content(refresh=True).get("password")
            except (ops.SecretNotFoundError, ops.ModelError) as e:
                logger.warning("cannot read the smtp password secret: %s", e)
                return None
        return data.password

    def connection_uri(self) -> str | None:
        """Return the courier's connection URI, or None without a (valid) integration."""
        if not (data := self.data()):
            return None
        return data.connection_uri(self._password(data))


class HydraEndpointsRequirer:
    """Reads Hydra's endpoints."""

    def __init__(self, model: ops.Model, relation_name: str) -> None:
        self._model = model
        self.relation_name = relation_name

    @property
    def admin_endpoint(self) -> str | None:
        """Hydra's admin API URL (becomes `oauth2_provider.url`)."""
        data = _remote_app_data(self._model, self.relation_name)
        return (data.get("admin_endpoint") or None) if data else None


class LoginUIRequirer:
    """Reads the login UI's page URLs."""

    def __init__(self, model: ops.Model, relation_name: str) -> None:
        self._model = model
        self.relation_name = relation_name

    def endpoints(self) -> dict[str, str]:
        """Return the non-empty URLs the login UI published, by key."""
        data = _remote_app_data(self._model, self.relation_name)
        if not data:
            return {}
        return {key: data[key] for key in LOGIN_UI_KEYS if data.get(key)}


# The provider types the workload signs in with (its `PROVIDER_TYPES`; not x, linkedin v1, jackson).
SUPPORTED_PROVIDERS = frozenset({
    "amazon", "apple", "auth0", "dingtalk", "discord", "facebook", "generic", "github", "github-app",
    "gitlab", "google", "lark", "line", "linkedin_v2", "microsoft", "netid", "patreon", "salesforce",
    "slack", "spotify", "uaepass", "vk", "yandex",
})  # fmt: skip


class ExternalProvider(BaseModel):
    """One OIDC provider published by the external IdP integrator."""

    model_config = ConfigDict(extra="ignore")

    provider: str
    client_id: str
    client_secret: str | None = None
    id: str | None = None
    label: str | None = None
    scope: list[str] = Field(default_factory=lambda: ["profile", "email", "address", "phone"])
    issuer_url: str | None = None
    auth_url: str | None = None
    token_url: str | None = None
    mapper_url: str | None = None
    jsonnet_mapper: str | None = None
    microsoft_tenant: str | None = None
    apple_team_id: str | None = None
    apple_private_key_id: str | None = None
    apple_private_key: str | None = None
    requested_claims: dict[str, Any] | None = None
    pkce: Literal["auto", "never", "force"] | None = None

    @field_validator("scope", mode="before")
    @classmethod
    def _split_scope(cls, value: Any) -> Any:
        return value.split() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _usable_by_the_workload(self) -> "ExternalProvider":
        """The keys the workload needs for this provider type (else it would refuse the whole config)."""
        if self.provider not in SUPPORTED_PROVIDERS:
            raise ValueError(f"the provider type {self.provider!r} is not supported")
        apple = ("apple_team_id", "apple_private_key_id", "apple_private_key")
        if self.provider == "apple":
            lacking = [name for name in apple if not getattr(self, name)]
            if lacking:
                raise ValueError(f"the apple provider needs {', '.join(lacking)}")
        elif not self.client_secret:
            raise ValueError(f"the {self.provider} provider needs client_secret")
        if self.provider == "microsoft" and not self.microsoft_tenant:
            raise ValueError("the microsoft provider needs microsoft_tenant")
        if self.provider in ("generic", "auth0", "salesforce") and not self.issuer_url:
            raise ValueError(f"the {self.provider} provider needs issuer_url")
        return self

    @property
    def redirect_path(self) -> str:
        """The callback path (without the id under `pkce: force`, as the workload expects it then)."""
        base = "/self-service/methods/oidc/callback"
        return base if self.pkce == "force" else f"{base}/{self.provider_id}"

    @property
    def provider_id(self) -> str:
        """The provider's id (`<provider>_<sha1 of client id>` when the integrator gave none)."""
        digest = hashlib.sha1(self.client_id.encode(), usedforsecurity=False).hexdigest()
        return self.id or f"{self.provider}_{digest}"

    def mapper(self) -> str:
        """Return the Jsonnet claims mapper URL: the integrator's, else the charm's default."""
        if self.jsonnet_mapper:
            return "base64://" + base64.b64encode(self.jsonnet_mapper.encode()).decode()
        if self.mapper_url:
            return self.mapper_url
        name = "microsoft" if self.provider == "microsoft" else "default"
        content = (TEMPLATES_DIR / "claim_mappers" / f"{name}.jsonnet").read_bytes()
        return "base64://" + base64.b64encode(content).decode()

    def kratos_config(self) -> dict[str, Any]:
        """Return the entry of `selfservice.methods.oidc.config.providers`."""
        skip = {"id", "jsonnet_mapper", "mapper_url", "scope", "label"}
        config: dict[str, Any] = {
            "id": self.provider_id,
            "mapper_url": self.mapper(),
            "scope": self.scope,
            "label": self.label or self.provider_id,
        }
        config.update({k: v for k, v in self.model_dump(exclude=skip).items() if v is not None})
        return config


class ExternalIdpRequirer(ops.Object):
    """The kratos-external-idp requirer: reads providers, writes back their redirect URIs."""

    def __init__(self, charm: ops.CharmBase, relation_name: str) -> None:
        super().__init__(charm, relation_name)
        self.relation_name = relation_name

    @property
    def relations(self) -> list[ops.Relation]:
        """All integrator relations."""
        return list(self.model.relations[self.relation_name])

    @staticmethod
    def _read(relation: ops.Relation) -> tuple[list[ExternalProvider], list[str]]:
        """The relation's valid providers, and why the others are skipped."""
        if not relation.app:
            return [], []
        try:
            raw = json.loads(relation.data[relation.app].get("providers") or "[]")
        except json.JSONDecodeError:
            return [], ["its providers are not JSON"]
        providers, problems = [], []
        for index, item in enumerate(raw if isinstance(raw, list) else []):
            try:
                providers.append(ExternalProvider.model_validate(item))
            except ValidationError as e:
                reason = "; ".join(
                    ".".join(map(str, error["loc"])) + " " + error["msg"].lower()
                    if error["loc"]
                    else error["msg"].removeprefix("Value error, ")
                    for error in e.errors()
                )
                name = item.get("id") or item.get("provider") if isinstance(item, dict) else None
                problems.append(f"provider {name or index} skipped: {reason}")
        return providers, problems

    @classmethod
    def _providers(cls, relation: ops.Relation) -> list[ExternalProvider]:
        providers, problems = cls._read(relation)
        for problem in problems:
            logger.warning("kratos-external-idp relation %s: %s", relation.id, problem)
        return providers

    def problems(self) -> list[str]:
        """Why providers of the integrators are skipped (shown as a Blocked status)."""
        return [problem for relation in self.relations for problem in self._read(relation)[1]]

    def providers(self) -> list[ExternalProvider]:
        """Every valid provider of every integrator."""
        return [p for relation in self.relations for p in self._providers(relation)]

    def publish_redirect_uris(self, public_url: str | None) -> None:
        """Tell each integrator its providers' callback URLs (leader only); clear them without a URL."""
        if not self.model.unit.is_leader():
            return
        for relation in self.relations:
            if not public_url:
                relation.data[self.model.app].pop("providers", None)
                continue
            entries = [
                {
                    "provider_id": p.provider_id,
                    "redirect_uri": f"{public_url}{p.redirect_path}",
                }
                for p in self._providers(relation)
            ]
            relation.data[self.model.app]["providers"] = json.dumps(entries)
