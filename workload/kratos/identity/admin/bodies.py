"""Request bodies of the identity admin API, validated strictly like upstream's decoder."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kratos.identity.errors import InvalidIdentity
from kratos.identity.model import State


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PasswordConfig(_Strict):
    """A password to import: plain text or an existing hash."""

    password: str | None = None
    hashed_password: str | None = None
    use_password_migration_hook: bool | None = None


class PasswordImport(_Strict):
    """``credentials.password``."""

    config: PasswordConfig


class OidcProviderImport(_Strict):
    """A social sign-in link to import."""

    provider: str = Field(min_length=1, max_length=64)
    subject: str = Field(min_length=1, max_length=190)
    organization: uuid.UUID | None = None
    use_auto_link: bool | None = None


class OidcConfig(_Strict):
    """``credentials.oidc.config``."""

    providers: list[OidcProviderImport] = Field(default_factory=list)


class OidcImport(_Strict):
    """``credentials.oidc``."""

    config: OidcConfig


class CredentialsImport(_Strict):
    """``credentials``: the importable kinds; others are refused by the service."""

    password: PasswordImport | None = None
    oidc: OidcImport | None = None
    totp: dict[str, Any] | None = None
    lookup_secret: dict[str, Any] | None = None
    webauthn: dict[str, Any] | None = None
    passkey: dict[str, Any] | None = None
    saml: dict[str, Any] | None = None


class VerifiableAddressImport(BaseModel):
    """An imported verifiable address; matched to the schema's addresses by value."""

    model_config = ConfigDict(extra="ignore")

    value: str
    via: Literal["email", "sms"] = "email"
    verified: bool = False
    status: Literal["pending", "sent", "completed"] = "pending"
    verified_at: datetime | None = None


class RecoveryAddressImport(BaseModel):
    """An imported recovery address; matched to the schema's addresses by value."""

    model_config = ConfigDict(extra="ignore")

    value: str
    via: Literal["email", "sms"] = "email"


class IdentityBody(_Strict):
    """Fields shared by create and update.

    An empty ``schema_id`` means the default schema, an empty ``external_id`` none; ``state`` is checked
    by the importer, with upstream's words. Whether ``metadata_admin`` was sent shows in the answer.
    """

    schema_id: str = ""
    traits: Any = Field(default_factory=dict)  # absent: an empty object, as upstream validates it
    state: str | None = None
    credentials: CredentialsImport | None = None
    metadata_public: Any = None
    metadata_admin: Any = None
    external_id: str | None = Field(default=None, max_length=64)
    region: str | None = None

    def parsed_state(self) -> State | None:
        """The state asked for, or None; raises InvalidIdentity for one upstream does not know."""
        if not self.state:
            return None
        try:
            return State(self.state)
        except ValueError:
            raise InvalidIdentity("identity state is not valid") from None


class CreateIdentityBody(IdentityBody):
    """``POST /admin/identities``."""

    verifiable_addresses: list[VerifiableAddressImport] | None = None
    recovery_addresses: list[RecoveryAddressImport] | None = None
    organization_id: uuid.UUID | None = None


class UpdateIdentityBody(IdentityBody):
    """``PUT /admin/identities/{id}``: the full identity, credentials optional."""


class IdentityPatch(_Strict):
    """One entry of a batch: ``{create, patch_id}``."""

    create: CreateIdentityBody | None = None
    patch_id: uuid.UUID | None = None


class BatchPatchBody(_Strict):
    """``PATCH /admin/identities``."""

    identities: list[Any] = Field(default_factory=list)
