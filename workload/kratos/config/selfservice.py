"""The ``selfservice`` tree: methods, flows and their before/after hooks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field, model_validator

from kratos.config.oidc import OidcConfig
from kratos.config.types import Duration, Open, RequiredAal, Strict

_FALLBACK = "https://www.ory.com/kratos/docs/fallback/"
_HOUR = timedelta(hours=1)

# Hook names allowed at each position (upstream's per-position anyOf lists).
GenericHook = Literal["web_hook", "b2b_sso", "organization"]
RegistrationHook = Literal["session", "web_hook", "show_verification_ui", "b2b_sso", "organization"]
LoginHook = Literal[
    "revoke_active_sessions",
    "require_verified_address",
    "web_hook",
    "verification",
    "show_verification_ui",
    "b2b_sso",
    "organization",
]
OidcLoginHook = Literal[
    "revoke_active_sessions", "web_hook", "require_verified_address", "b2b_sso", "organization"
]
SettingsProfileHook = Literal[
    "web_hook",
    "show_verification_ui",
    "b2b_sso",
    "organization",
    "verify_new_address",
    "notify_previous_addresses",
]
CredentialHook = Literal["web_hook", "revoke_active_sessions"]

H = TypeVar("H", bound=str)


class Hook(Strict, Generic[H]):
    """One hook: its name and its (hook-specific, loosely typed) config."""

    hook: H
    config: dict[str, Any] = Field(default_factory=dict)


class Hooks(Strict, Generic[H]):
    """A ``{hooks: [...]}`` block (``before`` of every flow)."""

    hooks: list[Hook[H]] = Field(default_factory=list)


class AfterMethod(Strict, Generic[H]):
    """Per-method ``after`` settings: where to redirect and which hooks run."""

    default_browser_return_url: str | None = None
    hooks: list[Hook[H]] = Field(default_factory=list)


class RegistrationAfter(AfterMethod[GenericHook]):
    """``selfservice.flows.registration.after``."""

    password: AfterMethod[RegistrationHook] = Field(default_factory=AfterMethod[RegistrationHook])
    webauthn: AfterMethod[RegistrationHook] = Field(default_factory=AfterMethod[RegistrationHook])
    passkey: AfterMethod[RegistrationHook] = Field(default_factory=AfterMethod[RegistrationHook])
    oidc: AfterMethod[RegistrationHook] = Field(default_factory=AfterMethod[RegistrationHook])
    code: AfterMethod[RegistrationHook] = Field(default_factory=AfterMethod[RegistrationHook])


class LoginAfter(AfterMethod[LoginHook]):
    """``selfservice.flows.login.after``."""

    password: AfterMethod[LoginHook] = Field(default_factory=AfterMethod[LoginHook])
    webauthn: AfterMethod[LoginHook] = Field(default_factory=AfterMethod[LoginHook])
    passkey: AfterMethod[LoginHook] = Field(default_factory=AfterMethod[LoginHook])
    oidc: AfterMethod[OidcLoginHook] = Field(default_factory=AfterMethod[OidcLoginHook])
    code: AfterMethod[LoginHook] = Field(default_factory=AfterMethod[LoginHook])
    totp: AfterMethod[LoginHook] = Field(default_factory=AfterMethod[LoginHook])
    lookup_secret: AfterMethod[LoginHook] = Field(default_factory=AfterMethod[LoginHook])


class SettingsAfter(AfterMethod[GenericHook]):
    """``selfservice.flows.settings.after``."""

    password: AfterMethod[CredentialHook] = Field(default_factory=AfterMethod[CredentialHook])
    totp: AfterMethod[CredentialHook] = Field(default_factory=AfterMethod[CredentialHook])
    oidc: AfterMethod[CredentialHook] = Field(default_factory=AfterMethod[CredentialHook])
    webauthn: AfterMethod[CredentialHook] = Field(default_factory=AfterMethod[CredentialHook])
    passkey: AfterMethod[CredentialHook] = Field(default_factory=AfterMethod[CredentialHook])
    lookup_secret: AfterMethod[CredentialHook] = Field(default_factory=AfterMethod[CredentialHook])
    profile: AfterMethod[SettingsProfileHook] = Field(default_factory=AfterMethod[SettingsProfileHook])


class LoginFlow(Strict):
    """``selfservice.flows.login``."""

    ui_url: str = _FALLBACK + "login"
    lifespan: Duration = _HOUR
    style: Literal["unified", "identifier_first"] = "unified"
    before: Hooks[GenericHook] = Field(default_factory=Hooks[GenericHook])
    after: LoginAfter = Field(default_factory=LoginAfter)


class RegistrationFlow(Strict):
    """``selfservice.flows.registration``."""

    enabled: bool = True
    login_hints: bool = False
    ui_url: str = _FALLBACK + "registration"
    lifespan: Duration = _HOUR
    before: Hooks[GenericHook] = Field(default_factory=Hooks[GenericHook])
    after: RegistrationAfter = Field(default_factory=RegistrationAfter)
    enable_legacy_one_step: bool = False
    style: Literal["unified", "profile_first"] = "profile_first"

    @property
    def two_steps(self) -> bool:
        """Whether the traits come first and the credential on a second screen."""
        return self.style == "profile_first" and not self.enable_legacy_one_step


class SettingsFlow(Strict):
    """``selfservice.flows.settings``."""

    ui_url: str = _FALLBACK + "settings"
    lifespan: Duration = _HOUR
    privileged_session_max_age: Duration = _HOUR
    required_aal: RequiredAal = "highest_available"
    before: Hooks[GenericHook] = Field(default_factory=Hooks[GenericHook])
    after: SettingsAfter = Field(default_factory=SettingsAfter)


class RecoveryFlow(Strict):
    """``selfservice.flows.recovery``."""

    enabled: bool = False
    ui_url: str = _FALLBACK + "recovery"
    lifespan: Duration = _HOUR
    use: Literal["link", "code"] = "code"
    notify_unknown_recipients: bool = False
    before: Hooks[GenericHook] = Field(default_factory=Hooks[GenericHook])
    after: AfterMethod[CredentialHook] = Field(default_factory=AfterMethod[CredentialHook])


class VerificationFlow(Strict):
    """``selfservice.flows.verification``."""

    enabled: bool = False
    ui_url: str = _FALLBACK + "verification"
    lifespan: Duration = _HOUR
    use: Literal["link", "code"] = "code"
    notify_unknown_recipients: bool = False
    before: Hooks[GenericHook] = Field(default_factory=Hooks[GenericHook])
    after: AfterMethod[GenericHook] = Field(default_factory=AfterMethod[GenericHook])


class LogoutAfter(Strict):
    """``selfservice.flows.logout.after``."""

    default_browser_return_url: str | None = None


class LogoutFlow(Strict):
    """``selfservice.flows.logout``."""

    clear_browser_data: bool = False
    after: LogoutAfter = Field(default_factory=LogoutAfter)


class ErrorFlow(Strict):
    """``selfservice.flows.error``."""

    ui_url: str = _FALLBACK + "error"


class Flows(Strict):
    """``selfservice.flows``."""

    login: LoginFlow = Field(default_factory=LoginFlow)
    registration: RegistrationFlow = Field(default_factory=RegistrationFlow)
    settings: SettingsFlow = Field(default_factory=SettingsFlow)
    recovery: RecoveryFlow = Field(default_factory=RecoveryFlow)
    verification: VerificationFlow = Field(default_factory=VerificationFlow)
    logout: LogoutFlow = Field(default_factory=LogoutFlow)
    error: ErrorFlow = Field(default_factory=ErrorFlow)


# --- methods -------------------------------------------------------------------------------------


class Toggle(Strict):
    """A method with only an ``enabled`` switch (off by default)."""

    enabled: bool = False


class ProfileMethod(Strict):
    """``selfservice.methods.profile``."""

    enabled: bool = True


class MigrateHook(Strict):
    """``selfservice.methods.password.config.migrate_hook`` (the web hook config is kept loose)."""

    enabled: bool = False
    config: dict[str, Any] = Field(default_factory=dict)


class PasswordConfig(Strict):
    """``selfservice.methods.password.config``."""

    haveibeenpwned_host: str = "api.pwnedpasswords.com"
    haveibeenpwned_enabled: bool = True
    max_breaches: int = Field(default=0, ge=0, le=100)
    ignore_network_errors: bool = True
    min_password_length: int = Field(default=8, ge=6)
    identifier_similarity_check_enabled: bool = True
    migrate_hook: MigrateHook = Field(default_factory=MigrateHook)


class PasswordMethod(Strict):
    """``selfservice.methods.password``."""

    enabled: bool = True
    config: PasswordConfig = Field(default_factory=PasswordConfig)


class CodeConfig(Open):
    """``selfservice.methods.code.config``."""

    lifespan: Duration = _HOUR
    max_submissions: int = Field(default=5, ge=1, le=255)
    missing_credential_fallback_enabled: bool = False


class CodeMethod(Open):
    """``selfservice.methods.code``."""

    enabled: bool = True
    passwordless_enabled: bool = False
    mfa_enabled: bool = False
    config: CodeConfig = Field(default_factory=CodeConfig)

    @model_validator(mode="after")
    def _one_mode(self) -> CodeMethod:
        if self.passwordless_enabled and self.mfa_enabled:
            raise ValueError("mfa_enabled: cannot be true together with passwordless_enabled")
        return self


class LinkConfig(Open):
    """``selfservice.methods.link.config``."""

    base_url: str | None = None
    lifespan: Duration = _HOUR


class LinkMethod(Strict):
    """``selfservice.methods.link``."""

    enabled: bool = False
    config: LinkConfig = Field(default_factory=LinkConfig)


class TotpConfig(Strict):
    """``selfservice.methods.totp.config``."""

    issuer: str | None = None


class TotpMethod(Strict):
    """``selfservice.methods.totp``."""

    enabled: bool = False
    config: TotpConfig = Field(default_factory=TotpConfig)


class RelyingParty(Open):
    """A WebAuthn relying party (``origin`` is upstream's deprecated single-origin form)."""

    display_name: str
    id: str
    origin: str | None = None
    origins: list[str] | None = None
    icon: str | None = None

    @model_validator(mode="after")
    def _one_origin_form(self) -> RelyingParty:
        if self.origin is not None and self.origins is not None:
            raise ValueError("origins: cannot be set together with origin")
        return self


class WebauthnConfig(Strict):
    """``selfservice.methods.webauthn.config``."""

    passwordless: bool = False
    rp: RelyingParty | None = None


class _NeedsConfigWhenEnabled(BaseModel):
    """Upstream's ``if enabled then required: [config]``."""

    @model_validator(mode="before")
    @classmethod
    def _config_required(cls, data: Any) -> Any:
        enabled = isinstance(data, dict) and str(data.get("enabled")).lower() == "true"
        if enabled and data.get("config") is None:
            raise ValueError("config: is required when the method is enabled")
        return data


class WebauthnMethod(_NeedsConfigWhenEnabled, Strict):
    """``selfservice.methods.webauthn``."""

    enabled: bool = False
    config: WebauthnConfig = Field(default_factory=WebauthnConfig)


class AuthenticatorSelection(Strict):
    """``selfservice.methods.passkey.config.authenticator_selection``."""

    attachment: Literal["platform", "cross-platform"] | None = None
    resident_key: Literal["required", "preferred", "discouraged"] = "required"
    user_verification: Literal["required", "preferred", "discouraged"] = "preferred"


class Attestation(Strict):
    """``selfservice.methods.passkey.config.attestation``."""

    preference: Literal["none", "indirect", "direct", "enterprise"] = "none"


class PasskeyTimeouts(Strict):
    """``selfservice.methods.passkey.config.timeouts``."""

    registration: Duration | None = None
    login: Duration | None = None


class PasskeyConfig(Strict):
    """``selfservice.methods.passkey.config``."""

    rp: RelyingParty | None = None
    authenticator_selection: AuthenticatorSelection = Field(default_factory=AuthenticatorSelection)
    attestation: Attestation = Field(default_factory=Attestation)
    timeouts: PasskeyTimeouts = Field(default_factory=PasskeyTimeouts)


class PasskeyMethod(_NeedsConfigWhenEnabled, Strict):
    """``selfservice.methods.passkey``."""

    enabled: bool = False
    config: PasskeyConfig = Field(default_factory=PasskeyConfig)


class OidcMethod(Strict):
    """``selfservice.methods.oidc``."""

    enabled: bool = False
    config: OidcConfig = Field(default_factory=OidcConfig)


class B2BConfig(Strict):
    """``selfservice.methods.b2b.config``."""

    organizations: list[dict[str, Any]] = Field(default_factory=list)


class B2BMethod(Strict):
    """``selfservice.methods.b2b``."""

    config: B2BConfig = Field(default_factory=B2BConfig)


class Methods(Strict):
    """``selfservice.methods``: password, profile and code on; the others off."""

    password: PasswordMethod = Field(default_factory=PasswordMethod)
    profile: ProfileMethod = Field(default_factory=ProfileMethod)
    code: CodeMethod = Field(default_factory=CodeMethod)
    link: LinkMethod = Field(default_factory=LinkMethod)
    totp: TotpMethod = Field(default_factory=TotpMethod)
    lookup_secret: Toggle = Field(default_factory=Toggle)
    webauthn: WebauthnMethod = Field(default_factory=WebauthnMethod)
    passkey: PasskeyMethod = Field(default_factory=PasskeyMethod)
    oidc: OidcMethod = Field(default_factory=OidcMethod)
    b2b: B2BMethod = Field(default_factory=B2BMethod)


class Selfservice(Strict):
    """``selfservice``."""

    default_browser_return_url: str
    allowed_return_urls: list[str] = Field(default_factory=list)
    methods: Methods = Field(default_factory=Methods)
    flows: Flows = Field(default_factory=Flows)

    def iter_hooks(self) -> Iterator[tuple[str, Hook[Any]]]:
        """Every configured hook with its key path, e.g. ``selfservice.flows.login.after.hooks[0]``."""
        yield from _walk_hooks(self.flows, "selfservice.flows")


def _walk_hooks(node: BaseModel, path: str) -> Iterator[tuple[str, Hook[Any]]]:
    for name in type(node).model_fields:
        value = getattr(node, name)
        if isinstance(value, BaseModel):
            yield from _walk_hooks(value, f"{path}.{name}")
        elif name == "hooks":
            for index, hook in enumerate(value):
                yield f"{path}.hooks[{index}]", hook
