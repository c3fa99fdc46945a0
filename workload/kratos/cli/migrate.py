"""``kratos migrate sql [up|down|status]``: apply, revert and inspect schema migrations."""

from __future__ import annotations

import asyncio
import os
import tomllib
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import click
import yaml
from sqlalchemy.exc import DBAPIError

from kratos.cli.common import config_option, config_paths
from kratos.persistence import migrate as migrations
from kratos.persistence.database import Database
from kratos.persistence.dsn import InvalidDSNError
from kratos.persistence.migrate import MigrationError, MigrationStatus

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

DSN_ENV = "DSN"


def dsn_from_sources(dsn_arg: str | None, read_from_env: bool, config_paths: Sequence[str]) -> str:
    """Pick the DSN: the argument, or with ``-e``/``-c`` the ``DSN`` variable, else ``dsn`` from the configs.

    Later config files override earlier ones; the environment overrides them all, as in Kratos.
    """
    if dsn_arg and read_from_env:
        raise click.ClickException("give either a DSN argument or -e/--read-from-env, not both")
    if dsn_arg:
        return dsn_arg
    if not read_from_env and not config_paths:
        raise click.ClickException(
            "no DSN: pass it as an argument, or use -e/--read-from-env (DSN variable) or -c/--config"
        )
    from_env = os.environ.get(DSN_ENV, "").strip()
    if from_env:
        return from_env
    from_config = _dsn_from_configs(config_paths)
    if from_config:
        return from_config
    where = " or `dsn` in the config files" if config_paths else ""
    raise click.ClickException(f"no DSN: the {DSN_ENV} environment variable is not set{where}")


def _dsn_from_configs(paths: Sequence[str]) -> str | None:
    dsn: str | None = None
    for path in paths:
        try:
            text = Path(path).read_text()
            data = tomllib.loads(text) if path.endswith(".toml") else yaml.safe_load(text)
        except (OSError, yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
            raise click.ClickException(f"cannot read config file {path}: {_first_line(exc)}") from None
        value = data.get("dsn") if isinstance(data, dict) else None
        if value is not None:
            if not isinstance(value, str):
                raise click.ClickException(f"config file {path}: `dsn` must be a string")
            dsn = value
    return dsn


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _run(dsn: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Open the database, run ``work``, close; turn failures into one-line CLI errors."""

    async def main() -> T:
        async with await Database.open(dsn) as db:
            try:
                return await work(db)
            except click.ClickException:
                raise
            except MigrationError as exc:
                raise click.ClickException(str(exc)) from None
            except Exception as exc:
                raise click.ClickException(f"database {db.url.redacted()}: {_first_line(exc)}") from None

    try:
        return asyncio.run(main())
    except InvalidDSNError as exc:
        raise click.ClickException(str(exc)) from None


def _source_options(func: F) -> F:
    """``[DSN] -e/--read-from-env -c/--config``."""
    read_from_env = click.option(
        "-e",
        "--read-from-env",
        is_flag=True,
        help=f"Read the DSN from the {DSN_ENV} environment variable (or -c config files).",
    )
    return click.argument("dsn", required=False, metavar="[DSN]")(read_from_env(cast(F, config_option(func))))


def _yes_option(func: F) -> F:
    return click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")(func)


def _steps_option(default: int | None, help_text: str) -> Callable[[F], F]:
    return click.option("--steps", type=click.IntRange(min=1), default=default, help=help_text)


def _table(entries: Sequence[MigrationStatus]) -> str:
    rows = [("Version", "Name", "Status")]
    rows += [(e.revision, e.name, "Applied" if e.applied else "Pending") for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "\n".join(f"{a.ljust(widths[0])}  {b.ljust(widths[1])}  {c}" for a, b, c in rows)


def _confirm(planned: Sequence[MigrationStatus], verb: str, yes: bool) -> bool:
    click.echo(f"Migrations to {verb}:")
    click.echo(_table(planned))
    if yes or click.confirm(f"Do you want to {verb} the above migrations?", default=False):
        return True
    click.echo("Migration aborted.")
    return False


class _SqlGroup(click.Group):
    """``migrate sql [DSN] [-e] [-y]`` with no subcommand means ``migrate sql up``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Route anything that does not start with a subcommand (or --help) to ``up``."""
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["up", *args]
        return super().parse_args(ctx, args)


@click.group()
def migrate() -> None:
    """Migrate the database."""


@migrate.group("sql", cls=_SqlGroup)
def sql() -> None:
    """Apply, revert or list SQL migrations (without a subcommand: apply all, like `up`)."""


@sql.command("up")
@_source_options
@_yes_option
@_steps_option(None, "Apply only this many migrations (default: all).")
def up(dsn: str | None, read_from_env: bool, config: tuple[str, ...], yes: bool, steps: int | None) -> None:
    """Apply pending migrations."""
    url = dsn_from_sources(dsn, read_from_env, config_paths(config))

    async def work(db: Database) -> None:
        planned = [e for e in await migrations.status(db.engine) if not e.applied][:steps]
        if not planned:
            click.echo("All migrations are already applied, there is nothing to do.")
            return
        if not _confirm(planned, "apply", yes):
            return
        for revision in await migrations.upgrade(db.engine, len(planned)):
            click.echo(f"Applied {revision}")
        click.echo("Successfully applied migrations!")

    _run(url, work)


@sql.command("down")
@_source_options
@_yes_option
@_steps_option(1, "Revert this many migrations.")
def down(dsn: str | None, read_from_env: bool, config: tuple[str, ...], yes: bool, steps: int) -> None:
    """Revert the most recent migrations."""
    url = dsn_from_sources(dsn, read_from_env, config_paths(config))

    async def work(db: Database) -> None:
        planned = [e for e in reversed(await migrations.status(db.engine)) if e.applied][:steps]
        if not planned:
            click.echo("No migrations are applied, there is nothing to revert.")
            return
        if not _confirm(planned, "revert", yes):
            return
        for revision in await migrations.downgrade(db.engine, len(planned)):
            click.echo(f"Reverted {revision}")
        click.echo("Successfully reverted migrations!")

    _run(url, work)


@sql.command("status")
@_source_options
@click.option("--block", is_flag=True, help="Wait until every migration is applied.")
def status(dsn: str | None, read_from_env: bool, config: tuple[str, ...], block: bool) -> None:
    """List migrations and whether they are applied."""
    url = dsn_from_sources(dsn, read_from_env, config_paths(config))

    async def work(db: Database) -> list[MigrationStatus]:
        entries = await migrations.status(db.engine)
        while block and not all(e.applied for e in entries):
            await asyncio.sleep(1)
            entries = await migrations.status(db.engine)
        return entries

    click.echo(_table(_run(url, work)))


__all__ = ["dsn_from_sources", "migrate"]
