"""The ``kratos`` command line, shaped like upstream's."""

from __future__ import annotations

import importlib

import click

from kratos.cli.common import config_option

# Each command's module is imported only when that command runs: `kratos serve` never loads Alembic or
# the remote client, and `kratos version` loads almost nothing.
COMMANDS = {
    "serve": "kratos.cli.serve:serve",
    "courier": "kratos.cli.courier:courier",
    "migrate": "kratos.cli.migrate:migrate",
    "version": "kratos.cli.version:version",
    "import": "kratos.cli.identities:import_group",
    "get": "kratos.cli.identities:get_group",
    "list": "kratos.cli.identities:list_group",
    "delete": "kratos.cli.identities:delete_group",
    "validate": "kratos.cli.identities:validate_group",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, sorted."""
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the command's module when it is asked for."""
        if cmd_name not in COMMANDS:
            return None
        module, _, attribute = COMMANDS[cmd_name].partition(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@config_option
@click.pass_context
def main(ctx: click.Context, config: tuple[str, ...]) -> None:
    """Kratos: identity and user management that speaks the Ory Kratos API."""
    ctx.obj = {"config": config}
