"""The ``kratos`` command line, shaped like upstream's."""

from __future__ import annotations

import click

from kratos.cli import identities, migrate, serve, version


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Kratos: identity and user management that speaks the Ory Kratos API."""


for command in (serve.serve, migrate.migrate, version.version, *identities.COMMANDS):
    main.add_command(command)
