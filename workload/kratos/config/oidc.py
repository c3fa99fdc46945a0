"""``selfservice.methods.oidc.config``: the social sign-in providers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from kratos.config.types import Strict

AMAZON_SCOPES = ("profile", "profile:user_id", "postal_code")

ProviderType = Literal[
    "generic", "google", "github", "github-app", "gitlab", "microsoft", "discord", "salesforce", "slack",
    "facebook", "auth0", "vk", "yandex", "apple", "spotify", "netid", "dingtalk", "patreon", "line",
    "linkedin", "linkedin_v2", "lark", "x", "fedcm-test", "amazon", "uaepass",
]  # fmt: skip


class OidcProvider(Strict):
    """One entry of ``providers``: how to reach the provider and map its claims to traits."""

    id: str = Field(min_length=1)
    provider: ProviderType
    client_id: str
    mapper_url: str = Field(min_length=1)
    label: str = ""
    client_secret: str = ""
    issuer_url: str = ""
    auth_url: str = ""
    token_url: str = ""
    scope: list[str] = Field(default_factory=list)
    microsoft_tenant: str = ""
    subject_source: Literal["userinfo", "me", "oid"] = "userinfo"
    apple_team_id: str = ""
    apple_private_key_id: str = ""
    apple_private_key: str = ""
    requested_claims: dict[str, Any] | None = None
    organization_id: str = ""
    additional_id_token_audiences: list[str] = Field(default_factory=list)
    aal2_acr_values: list[str] = Field(default_factory=list)
    aal2_amr_values: list[str] = Field(default_factory=list)
    claims_source: Literal["id_token", "userinfo"] = "id_token"
    pkce: Literal["auto", "never", "force"] = "auto"
    fedcm_config_url: str = ""
    net_id_token_origin_header: str = ""
    account_linking_mode: str = ""
    update_identity_on_login: str = ""

    @model_validator(mode="after")
    def _provider_specific(self) -> OidcProvider:
        """Microsoft needs a tenant; Apple signs its own client secret; everyone else has one."""
        if self.provider == "microsoft" and not self.microsoft_tenant:
            raise ValueError("microsoft_tenant: is required for the microsoft provider")
        if self.provider != "microsoft" and self.microsoft_tenant:
            raise ValueError(
                f"microsoft_tenant: is only allowed for the microsoft provider, not {self.provider}"
            )
        apple = ("apple_team_id", "apple_private_key_id", "apple_private_key")
        if self.provider == "apple":
            lacking = [name for name in apple if not getattr(self, name)]
            if lacking:
                raise ValueError(f"{', '.join(lacking)}: required for the apple provider")
        else:
            present = [name for name in apple if getattr(self, name)]
            if present:
                raise ValueError(f"{', '.join(present)}: only allowed for the apple provider")
            if not self.client_secret:
                raise ValueError(f"client_secret: is required for the {self.provider} provider")
        if self.provider == "generic" and not self.issuer_url:
            raise ValueError("issuer_url: is required for the generic provider (its discovery document)")
        if self.provider in ("auth0", "salesforce") and not self.issuer_url:
            raise ValueError(
                f"issuer_url: is required for the {self.provider} provider (its tenant's address)"
            )
        if self.provider == "amazon":
            self._amazon()
        return self

    def _amazon(self) -> None:
        """Amazon takes only its own scopes, and cannot discover PKCE (``pkce: auto`` set explicitly)."""
        unknown = [scope for scope in self.scope if scope not in AMAZON_SCOPES]
        if unknown:
            raise ValueError(
                f"scope: {', '.join(unknown)} not supported by the amazon provider "
                f"(supported: {', '.join(AMAZON_SCOPES)})"
            )
        if "pkce" in self.model_fields_set and self.pkce == "auto":
            raise ValueError(
                "pkce: auto is not supported by the amazon provider, which does not support PKCE discovery"
            )

    @property
    def display_label(self) -> str:
        """The name on the provider's buttons: ``label``, else the id."""
        return self.label or self.id


class OidcConfig(Strict):
    """``selfservice.methods.oidc.config``."""

    base_redirect_uri: str | None = None
    providers: list[OidcProvider] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> OidcConfig:
        seen: set[str] = set()
        for index, provider in enumerate(self.providers):
            if provider.id in seen:
                raise ValueError(f"providers[{index}].id: {provider.id!r} is used by another provider")
            seen.add(provider.id)
        return self

    def provider(self, provider_id: str) -> OidcProvider | None:
        """The provider with this id."""
        return next((p for p in self.providers if p.id == provider_id), None)
