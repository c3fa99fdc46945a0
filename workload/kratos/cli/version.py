"""``kratos version``."""

from __future__ import annotations

import click

from kratos import __version__


@click.command()
def version() -> None:
    """Print the version of this build."""
    click.echo(f"Version:    {__version__}")
