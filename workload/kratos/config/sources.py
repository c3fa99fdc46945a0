"""Raw configuration sources: YAML/JSON/TOML files (deep-merged in order) and environment overrides."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from kratos.config.paths import is_list, is_structured, known_paths

# Keys that are command-line flags only: never read from the environment.
_NOT_FROM_ENV = {("config",), ("help",)}


class SourceError(Exception):
    """A source could not be read; the message names the file or variable."""


def read_file(path: Path) -> dict[str, Any]:
    """Parse one config file, choosing the format by extension (YAML for anything unknown)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot be read: {exc}") from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise SourceError(f"{path}:{exc.lineno}: JSON syntax error: {exc.msg}") from None
    elif suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SourceError(f"{path}: TOML syntax error: {exc}") from None
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SourceError(_yaml_message(path, exc)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SourceError(f"{path}: must contain a mapping of keys at the top level")
    return data


def _yaml_message(path: Path, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"{path}:{mark.line + 1}: YAML syntax error: {problem} (column {mark.column + 1})"
    return f"{path}: YAML syntax error: {problem}"


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged into a copy of ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def env_name(path: tuple[str, ...]) -> str:
    """Name the environment variable of a key path: ``serve.public.base_url`` -> ``SERVE_PUBLIC_BASE_URL``."""
    return "_".join(path).replace("-", "_").upper()


def apply_env(
    data: dict[str, Any], env: Mapping[str, str], model: type[BaseModel]
) -> tuple[dict[str, Any], dict[tuple[str, ...], str], list[str]]:
    """Override ``data`` with the environment variables of the model's known key paths.

    Returns the new data, the key paths set from the environment (with the variable's name) and the
    problems found (bad JSON). Objects and lists are read as JSON, other values are kept as strings and
    converted by validation. A parent's JSON is applied before its children's variables.
    """
    result = data
    origins: dict[tuple[str, ...], str] = {}
    problems: list[str] = []
    for path, field in known_paths(model):
        if path in _NOT_FROM_ENV:
            continue
        name = env_name(path)
        if name not in env:
            continue
        raw = env[name]
        value: Any = raw
        if is_structured(field.annotation):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                example = '["a", "b"]' if is_list(field.annotation) else '{"key": "value"}'
                problems.append(f"{name} (environment): must be JSON such as {example}: {exc.msg}")
                continue
        result = _set(result, path, value)
        origins[path] = name
    return result, origins, problems


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """Return a copy of ``data`` with ``value`` at ``path``, creating (or replacing non-object) parents."""
    head, *rest = path
    updated = dict(data)
    if rest:
        child = updated.get(head)
        updated[head] = _set(child if isinstance(child, dict) else {}, tuple(rest), value)
    else:
        updated[head] = value
    return updated
