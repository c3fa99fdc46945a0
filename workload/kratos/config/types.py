"""Value types shared by the configuration models: Go durations, byte sizes, base models."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator

_DURATION_PART = re.compile(r"([0-9]+)(ns|us|µs|ms|s|m|h)")
_DURATION = re.compile(r"^(?:[0-9]+(?:ns|us|µs|ms|s|m|h))+$")
_NANOS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}

_BYTE_SIZE = re.compile(r"^([0-9]+)(B|KB|MB|GB|TB|PB|EB)$")
_BYTE_UNITS = {"B": 0, "KB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5, "EB": 6}


def parse_duration(value: Any) -> timedelta:
    """Parse a Go duration string (``1h30m``, ``500ms``, ``10s``) as Kratos's config accepts it."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str) and _DURATION.match(value.strip()):
        nanos = sum(int(amount) * _NANOS[unit] for amount, unit in _DURATION_PART.findall(value))
        return timedelta(microseconds=nanos // 1000)
    raise ValueError(f"must be a duration such as 1h, 30m, 10s, 1h30m or 500ms, got {describe(value)}")


def format_duration(value: timedelta) -> str:
    """Render a timedelta as a Go duration string (``1h30m0s`` style, shortest form)."""
    micros = value // timedelta(microseconds=1)
    if micros == 0:
        return "0s"
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, rest = divmod(rest, 1_000_000)
    millis, micros = divmod(rest, 1000)
    parts = [(hours, "h"), (minutes, "m"), (seconds, "s"), (millis, "ms"), (micros, "us")]
    return sign + "".join(f"{amount}{unit}" for amount, unit in parts if amount)


def parse_byte_size(value: Any) -> int:
    """Parse a byte size (``128MB``, ``1GB``, 1024-based like upstream's bytesize) or a plain integer."""
    if isinstance(value, bool):
        raise ValueError(f"must be a size such as 128MB or 1GB, got {describe(value)}")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        match = _BYTE_SIZE.match(text)
        if match:
            return int(match.group(1)) * 1024 ** _BYTE_UNITS[match.group(2)]
    raise ValueError(f"must be a size such as 128MB or 1GB, got {describe(value)}")


def describe(value: Any) -> str:
    """Render a bad value shortly for error messages (JSON-like, truncated)."""
    if isinstance(value, str):
        text = '"' + value.replace('"', '\\"') + '"'
    elif value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict):
        text = "an object"
    elif isinstance(value, list | tuple):
        text = "a list"
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


Duration = Annotated[
    timedelta,
    PlainValidator(parse_duration, json_schema_input_type=str),
    PlainSerializer(format_duration, return_type=str),
]
"""A Go-style duration in the YAML, a ``timedelta`` in Python."""

ByteSize = Annotated[int, PlainValidator(parse_byte_size, json_schema_input_type=str | int)]
"""A number of bytes, written as ``128MB`` (1024-based) or as an integer."""

SameSite = Literal["Strict", "Lax", "None"]
RequiredAal = Literal["aal1", "highest_available"]


class Strict(BaseModel):
    """A config object whose upstream schema forbids unknown keys (``additionalProperties: false``)."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """A config object whose upstream schema allows unknown keys: they are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")
