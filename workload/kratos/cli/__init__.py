"""The ``kratos`` command line, shaped like upstream's."""

from __future__ import annotations

import click

from kratos.cli import identities, migrate, serve, version
from kratos.cli.common import config_option


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@config_option
@click.pass_context
def main(ctx: click.Context, config: tuple[str, ...]) -> None:
    """Kratos: identity and user management that speaks the Ory Kratos API."""
    ctx.obj = {"config": config}


for command in (serve.serve, migrate.migrate, version.version, *identities.COMMANDS):
    main.add_command(command)
