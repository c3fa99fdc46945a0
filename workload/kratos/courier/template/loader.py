"""Loads every courier template at start-up, with upstream's precedence for each file.

For each template type and each of its files (``email.subject.gotmpl``, ...), the first of:

1. the URL in ``courier.templates.<dir>[.<valid|invalid>].<email|sms>...`` (``file://``, ``base64://``,
   ``http(s)://``);
2. ``<courier.template_override_path>/<dir>/<file>``: parsed together with the files next to it that
   share its prefix (``email.body*``), so one can ``define`` what another uses, as upstream's glob does;
3. the built-in template shipped with this package.

Each file falls back on its own: an override directory with only ``email.body.gotmpl`` still gets the
built-in subject and plain-text body. Everything is parsed here, once; a template that does not parse, or a
URL that cannot be read, stops start-up with a ``ConfigError`` naming the key or the file and the line.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kratos.config.errors import ConfigError
from kratos.courier.template.gotemplate import TemplateSet, TemplateSyntaxError
from kratos.courier.template.templates import CompiledTemplate, CourierTemplates
from kratos.courier.template.types import LAYOUTS, Layout, TemplateFile, TemplateType
from kratos.http.urls import fetch_url

if TYPE_CHECKING:
    import httpx

    from kratos.config.sections import Courier

logger = logging.getLogger(__name__)

_OVERRIDE_KEY = "courier.template_override_path"


async def load_templates(courier: Courier, http: httpx.AsyncClient | None = None) -> CourierTemplates:
    """Every template of every type, parsed; raises ``ConfigError`` listing each problem."""
    problems: list[str] = []
    configured = _configured_urls(courier)
    fetched = await _fetch_all(configured, http, problems)
    root = Path(courier.template_override_path) if courier.template_override_path else None
    if root is not None and not root.is_dir():
        logger.warning("%s: %s is not a directory; using the built-in templates", _OVERRIDE_KEY, root)
        root = None
    parts: dict[tuple[TemplateType, TemplateFile], CompiledTemplate] = {}
    for kind, layout in LAYOUTS.items():
        for part in layout.files:
            key = _config_key(layout, part)
            try:
                if key in fetched:
                    compiled = _parse_one(part, _source_name(configured[key]), fetched[key], key)
                elif root is not None and (root / layout.directory / part.value).is_file():
                    compiled = _parse_override(root, layout, part)
                else:
                    compiled = _builtin(layout.directory, part)
            except _Refused as refused:
                problems.append(refused.problem)
                continue
            parts[(kind, part)] = compiled
    if problems:
        raise ConfigError(problems)
    return CourierTemplates(parts)


class _Refused(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _config_key(layout: Layout, part: TemplateFile) -> str:
    return ".".join(("courier", "templates", *layout.config_prefix, *part.config_path))


def _configured_urls(courier: Courier) -> dict[str, str]:
    """``courier.templates`` flattened to ``{"courier.templates.x.valid.email.subject": url}``."""
    out: dict[str, str] = {}

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, str):
            out[".".join(path)] = value
        elif isinstance(value, dict):
            for name, item in value.items():
                if item is not None:
                    walk(item, (*path, name))

    walk(courier.templates.model_dump(exclude_none=True), ("courier", "templates"))
    return out


async def _fetch_all(
    urls: dict[str, str], http: httpx.AsyncClient | None, problems: list[str]
) -> dict[str, str]:
    async def one(key: str, url: str) -> tuple[str, str | None]:
        try:
            return key, (await fetch_url(url, http)).decode("utf-8", "replace")
        except ValueError as exc:
            problems.append(f"{key}: unable to load {_source_name(url)}: {exc}")
            return key, None

    results = await asyncio.gather(*(one(key, url) for key, url in urls.items()))
    return {key: text for key, text in results if text is not None}


def _source_name(url: str) -> str:
    """A URL as error messages show it (a ``base64://`` one would be unreadable)."""
    return "base64://..." if url.startswith("base64://") else url


def _parse_one(part: TemplateFile, name: str, text: str, key: str) -> CompiledTemplate:
    templates = TemplateSet(html=part.is_html)
    try:
        templates.parse(name, text)
    except TemplateSyntaxError as exc:
        raise _Refused(f"{key}: {exc}") from None
    return CompiledTemplate(templates, name, key)


def _parse_override(root: Path, layout: Layout, part: TemplateFile) -> CompiledTemplate:
    """The override file and its siblings matching ``<stem>*``, in one set (upstream's ``ParseFS``)."""
    directory = root / layout.directory
    stem = part.value.removesuffix(".gotmpl")
    templates = TemplateSet(html=part.is_html)
    for path in sorted(directory.glob(f"{stem}*")):
        if not path.is_file():
            continue
        try:
            text = path.read_text("utf-8", "replace")
        except OSError as exc:
            raise _Refused(f"{_OVERRIDE_KEY}: {path}: {exc.strerror or exc}") from None
        try:
            templates.parse(path.name, text)
        except TemplateSyntaxError as exc:
            shown = TemplateSyntaxError(str(path), exc.line, exc.message, exc.column)
            raise _Refused(f"{_OVERRIDE_KEY}: {shown}") from None
    return CompiledTemplate(templates, part.value, str(directory / part.value))


@functools.cache
def _builtin(directory: str, part: TemplateFile) -> CompiledTemplate:
    """A built-in template (parsed once per process; built-ins are known to parse)."""
    text = resources.files("kratos.courier.template").joinpath("builtin", directory, part.value).read_text()
    templates = TemplateSet(html=part.is_html)
    templates.parse(part.value, text)
    return CompiledTemplate(templates, part.value, "builtin")
