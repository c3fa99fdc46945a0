"""How channels get an email's HTML body: rendered again at dispatch from its template type and data."""

from __future__ import annotations

from collections.abc import Callable

from kratos.courier.courier import Templates
from kratos.courier.model import Message


def html_renderer(templates: Templates) -> Callable[[Message], str | None]:
    """The HTML body of a queued email (upstream stores only the text body and renders the HTML again)."""

    def render(message: Message) -> str | None:
        return templates.email(message.template_type, message.template_data).html

    return render
