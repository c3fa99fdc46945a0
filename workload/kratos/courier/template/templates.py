"""``CourierTemplates``: every message template, parsed, ready to render a message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kratos.courier.template.gotemplate import TemplateSet
from kratos.courier.template.types import EMAIL_FILES, LAYOUTS, TemplateFile, TemplateType


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """An email's three parts."""

    subject: str
    html: str
    plaintext: str


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    """One message part: the template set its source was parsed into and the template to run."""

    templates: TemplateSet
    name: str
    origin: str

    def render(self, data: Mapping[str, Any]) -> str:
        """Run it with ``data`` as dot (raises ``TemplateExecutionError``)."""
        return self.templates.execute(self.name, data if isinstance(data, dict) else dict(data))


class CourierTemplates:
    """Renders messages by template type; data is keyed by upstream's Go field names (``RecoveryCode``).

    Rendering is pure CPU: templates were parsed when they were loaded.
    """

    def __init__(self, parts: Mapping[tuple[TemplateType, TemplateFile], CompiledTemplate]) -> None:
        self._parts = dict(parts)

    def origin(self, template_type: str, part: TemplateFile) -> str:
        """Where a part's template came from (a config URL, a file, or ``builtin``)."""
        return self._parts[(_type(template_type), part)].origin

    def email(self, template_type: str, data: Mapping[str, Any]) -> RenderedEmail:
        """Subject (trimmed, as upstream trims it), HTML body and plain-text body of an email."""
        kind = _type(template_type)
        if kind is TemplateType.STUB:
            body = str(data.get("Body", ""))
            return RenderedEmail(str(data.get("Subject", "")), str(data.get("HTMLBody") or body), body)
        subject, html, plaintext = (self._parts[(kind, part)].render(data) for part in EMAIL_FILES)
        return RenderedEmail(subject.strip(), html, plaintext)

    def sms(self, template_type: str, data: Mapping[str, Any]) -> str:
        """The text of an SMS; ``ValueError`` for a type that has no SMS template."""
        kind = _type(template_type)
        if kind is TemplateType.STUB:
            return str(data.get("Body", ""))
        if not LAYOUTS[kind].has_sms:
            raise ValueError(f"template type {kind.value} has no SMS template")
        return self._parts[(kind, TemplateFile.SMS_BODY)].render(data)


def _type(template_type: str) -> TemplateType:
    try:
        return TemplateType(template_type)
    except ValueError:
        known = ", ".join(t.value for t in TemplateType)
        raise ValueError(f"unknown template type {template_type!r} (known: {known})") from None
