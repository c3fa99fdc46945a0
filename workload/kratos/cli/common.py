"""Options and helpers shared by the commands."""

from __future__ import annotations

import click

from kratos.config import ConfigError, KratosConfig, load_config

config_option = click.option(
    "-c",
    "--config",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Path to a kratos.yml (YAML, JSON or TOML); repeat to merge several.",
)


def load_or_exit(paths: tuple[str, ...], *, dev: bool | None = None) -> KratosConfig:
    """Load the configuration, or exit with every problem listed."""
    try:
        return load_config(list(paths), dev=dev)
    except ConfigError as exc:
        raise click.ClickException(f"the configuration is invalid:\n{exc}") from None
