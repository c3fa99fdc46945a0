"""Kratos configuration: kratos.yaml files plus environment overrides, typed and validated."""

from kratos.config.errors import ConfigError
from kratos.config.loader import load_config
from kratos.config.model import KratosConfig
from kratos.config.support import UNSUPPORTED, Unsupported, unsupported_features
from kratos.config.types import format_duration, parse_byte_size, parse_duration

__all__ = [
    "UNSUPPORTED",
    "ConfigError",
    "KratosConfig",
    "Unsupported",
    "format_duration",
    "load_config",
    "parse_byte_size",
    "parse_duration",
    "unsupported_features",
]
