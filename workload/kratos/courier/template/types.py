"""The courier's template types and where each one's files live (upstream ``courier/template``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TemplateType(StrEnum):
    """What a message is about; stored as ``courier_messages.template_type``."""

    RECOVERY_VALID = "recovery_valid"
    RECOVERY_INVALID = "recovery_invalid"
    RECOVERY_CODE_VALID = "recovery_code_valid"
    RECOVERY_CODE_INVALID = "recovery_code_invalid"
    VERIFICATION_VALID = "verification_valid"
    VERIFICATION_INVALID = "verification_invalid"
    VERIFICATION_CODE_VALID = "verification_code_valid"
    VERIFICATION_CODE_INVALID = "verification_code_invalid"
    LOGIN_CODE_VALID = "login_code_valid"
    REGISTRATION_CODE_VALID = "registration_code_valid"
    VERIFIABLE_ADDRESS_CHANGED = "verifiable_address_changed"
    AUTHENTICATOR_KEY_ADDED = "authenticator_key_added"
    STUB = "stub"


class TemplateFile(StrEnum):
    """A message part and its file name inside a template directory."""

    EMAIL_SUBJECT = "email.subject.gotmpl"
    EMAIL_HTML = "email.body.gotmpl"
    EMAIL_PLAINTEXT = "email.body.plaintext.gotmpl"
    SMS_BODY = "sms.body.gotmpl"

    @property
    def is_html(self) -> bool:
        """Only the HTML email body is escaped as HTML."""
        return self is TemplateFile.EMAIL_HTML

    @property
    def config_path(self) -> tuple[str, ...]:
        """Its key below ``courier.templates.<dir>[.<valid|invalid>]``."""
        return _CONFIG_PATHS[self]


_CONFIG_PATHS = {
    TemplateFile.EMAIL_SUBJECT: ("email", "subject"),
    TemplateFile.EMAIL_HTML: ("email", "body", "html"),
    TemplateFile.EMAIL_PLAINTEXT: ("email", "body", "plaintext"),
    TemplateFile.SMS_BODY: ("sms", "body", "plaintext"),
}
EMAIL_FILES = (TemplateFile.EMAIL_SUBJECT, TemplateFile.EMAIL_HTML, TemplateFile.EMAIL_PLAINTEXT)


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a template type's files are: ``directory`` (``name`` or ``name/valid``) and which exist."""

    name: str
    validity: str | None
    files: tuple[TemplateFile, ...]

    @property
    def directory(self) -> str:
        """``recovery_code/valid``, ``verifiable_address_changed``, ..."""
        return self.name if self.validity is None else f"{self.name}/{self.validity}"

    @property
    def config_prefix(self) -> tuple[str, ...]:
        """``courier.templates`` keys above the files: ``("recovery_code", "valid")``."""
        return (self.name,) if self.validity is None else (self.name, self.validity)

    @property
    def has_sms(self) -> bool:
        """Whether the type can go out as an SMS."""
        return TemplateFile.SMS_BODY in self.files


_WITH_SMS = (*EMAIL_FILES, TemplateFile.SMS_BODY)

LAYOUTS: dict[TemplateType, Layout] = {
    TemplateType.RECOVERY_VALID: Layout("recovery", "valid", EMAIL_FILES),
    TemplateType.RECOVERY_INVALID: Layout("recovery", "invalid", EMAIL_FILES),
    TemplateType.RECOVERY_CODE_VALID: Layout("recovery_code", "valid", _WITH_SMS),
    TemplateType.RECOVERY_CODE_INVALID: Layout("recovery_code", "invalid", EMAIL_FILES),
    TemplateType.VERIFICATION_VALID: Layout("verification", "valid", EMAIL_FILES),
    TemplateType.VERIFICATION_INVALID: Layout("verification", "invalid", EMAIL_FILES),
    TemplateType.VERIFICATION_CODE_VALID: Layout("verification_code", "valid", _WITH_SMS),
    TemplateType.VERIFICATION_CODE_INVALID: Layout("verification_code", "invalid", EMAIL_FILES),
    TemplateType.LOGIN_CODE_VALID: Layout("login_code", "valid", _WITH_SMS),
    TemplateType.REGISTRATION_CODE_VALID: Layout("registration_code", "valid", _WITH_SMS),
    TemplateType.VERIFIABLE_ADDRESS_CHANGED: Layout("verifiable_address_changed", None, _WITH_SMS),
    TemplateType.AUTHENTICATOR_KEY_ADDED: Layout("authenticator_key_added", None, _WITH_SMS),
    # The test stub carries its subject and bodies in its data; it has no files.
    TemplateType.STUB: Layout("stub", None, ()),
}
