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


def config_paths(own: tuple[str, ...]) -> tuple[str, ...]:
    """A command's own ``-c`` files, else the ones given before it (``kratos -c kratos.yml migrate sql``)."""
    root = click.get_current_context().find_root()
    return own or tuple((root.obj or {}).get("config", ()))


def load_or_exit(paths: tuple[str, ...], *, dev: bool | None = None) -> KratosConfig:
    """Load the configuration, or exit with every problem listed."""
    try:
        return load_config(list(config_paths(paths)), dev=dev)
    except ConfigError as exc:
        raise click.ClickException(f"the configuration is invalid:\n{exc}") from None
