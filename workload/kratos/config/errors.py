"""``ConfigError`` and the translation of validation errors into ``<key.path>: <problem>`` lines."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from kratos.config.paths import bounds, dotted, field_at, fields_by_key, literal_choices
from kratos.config.types import describe

# Keys whose values must never appear in an error message.
_KEY = re.compile(r"^[a-z_][a-z0-9_-]*(\.[a-z_][a-z0-9_-]*)*$")
_SECRET_KEYS = (
    "secrets",
    "dsn",
    "courier.smtp.connection_uri",
    "courier.http.request_config",
    "courier.channels",
)


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason as ``<key.path>: <what>``."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in self.problems))


def validation_problems(
    error: ValidationError, root: type[BaseModel], env_origins: Mapping[tuple[str, ...], str]
) -> list[str]:
    """One line per validation error, naming the key (or the environment variable) it is about."""
    return [_problem(detail, root, env_origins) for detail in error.errors(include_url=False)]


def _problem(detail: ErrorDetails, root: type[BaseModel], env_origins: Mapping[tuple[str, ...], str]) -> str:
    loc = tuple(detail["loc"])
    path = dotted(loc)
    text = _describe_error(detail, root, loc, path)
    if detail["type"] == "value_error":
        loc, text = _sub_key(root, loc, text)
        path = dotted(loc)
    if not loc:
        return text
    origin = _env_origin(loc, env_origins)
    if origin is None:
        return f"{path}: {text}"
    name, exact = origin
    return f"{name} (environment): {text}" if exact else f"{name} (environment): {path}: {text}"


def _sub_key(root: type[BaseModel], loc: tuple[Any, ...], text: str) -> tuple[tuple[Any, ...], str]:
    """Move a leading ``<key>: `` of a model validator's message into the location."""
    head, sep, rest = text.partition(": ")
    _, model = field_at(root, loc)
    if not sep or model is None or not _KEY.match(head):
        return loc, text
    keys = tuple(head.split("."))
    if keys[0] not in fields_by_key(model):
        return loc, text
    return (*loc, *keys), rest


def _env_origin(loc: tuple[Any, ...], env_origins: Mapping[tuple[str, ...], str]) -> tuple[str, bool] | None:
    for size in range(len(loc), 0, -1):
        name = env_origins.get(tuple(loc[:size]))
        if name is not None:
            return name, size == len(loc)
    return None


def _describe_error(detail: ErrorDetails, root: type[BaseModel], loc: tuple[Any, ...], path: str) -> str:
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    secret = any(path == key or path.startswith((key + ".", key + "[")) for key in _SECRET_KEYS)
    got = "" if secret else f", got {describe(detail['input'])}"
    field, parent = field_at(root, loc)
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known key" + _suggestion(str(loc[-1]), parent)
    if kind == "value_error":
        return str(ctx.get("error", detail["msg"]))
    if kind == "literal_error":
        choices = literal_choices(field.annotation) if field is not None else ()
        allowed = ", ".join(str(c) for c in choices) if choices else ctx.get("expected", "")
        return f"must be one of {allowed}{got}"
    if kind in ("int_type", "int_parsing", "int_from_float", "greater_than_equal", "less_than_equal"):
        return _integer_problem(field) + got
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false{got}"
    if kind == "string_type":
        return f"must be a string{got}"
    if kind in ("list_type", "tuple_type"):
        return f"must be a list{got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be an object{got}"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "string_too_short":
        return f"must be at least {ctx.get('min_length')} characters long"
    if kind == "too_short":
        count = ctx.get("min_length")
        return f"must have at least {count} {'entry' if count == 1 else 'entries'}"
    return detail["msg"] + got


def _integer_problem(field: Any) -> str:
    low, high = bounds(field) if field is not None else (None, None)
    if low is not None and high is not None:
        return f"must be an integer between {low} and {high}"
    if low is not None:
        return f"must be an integer of at least {low}"
    if high is not None:
        return f"must be an integer of at most {high}"
    return "must be an integer"


def _suggestion(key: str, parent: type[BaseModel] | None) -> str:
    if parent is None:
        return ""
    close = difflib.get_close_matches(key, list(fields_by_key(parent)), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""
