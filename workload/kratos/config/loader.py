"""``load_config``: files, then environment, then flags -> a validated ``KratosConfig``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kratos.config.errors import ConfigError, validation_problems
from kratos.config.model import KratosConfig
from kratos.config.sources import SourceError, apply_env, deep_merge, read_file
from kratos.config.support import unsupported_features


def load_config(
    paths: Sequence[str | Path],
    env: Mapping[str, str] | None = None,
    *,
    dev: bool | None = None,
    check_support: bool = True,
) -> KratosConfig:
    """Load and validate the configuration like ``kratos serve -c a.yml -c b.yml``.

    Later files override earlier ones (deep merge); environment variables (``env``, default
    ``os.environ``) override files; ``dev`` (the ``--dev`` flag), when given, overrides both.
    With ``check_support``, a config enabling a feature this server does not implement yet is refused.
    Raises ``ConfigError`` listing every problem.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    problems: list[str] = []
    data: dict[str, Any] = {}
    for path in paths:
        try:
            data = deep_merge(data, read_file(Path(path)))
        except SourceError as exc:
            problems.append(str(exc))
    data, origins, env_problems = apply_env(data, os.environ if env is None else env, KratosConfig)
    problems.extend(env_problems)
    if problems:
        raise ConfigError(problems)
    if dev is not None:
        data["dev"] = dev
    try:
        config = KratosConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc, KratosConfig, origins)) from None
    if check_support:
        unsupported = unsupported_features(config)
        if unsupported:
            raise ConfigError(unsupported)
    return config
