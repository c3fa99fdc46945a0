"""``kratos serve``."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, unquote

import click
from click.core import ParameterSource

from kratos.cli.common import config_option, load_or_exit
from kratos.config import KratosConfig
from kratos.driver import supervisor
from kratos.driver.cpus import available_cpus
from kratos.http import logs

log = logging.getLogger(__name__)


@click.command()
@config_option
@click.option(
    "--dev", is_flag=True, help="Development mode: plain HTTP, insecure cookies, low hashing cost allowed."
)
@click.option("--watch-courier", is_flag=True, help="Run the courier worker in this process.")
@click.option(
    "--sqa-opt-out", is_flag=True, help="Accepted for compatibility: this server sends no telemetry."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    envvar="SERVE_WORKERS",
    show_envvar=True,
    help="Worker processes sharing the ports [default: the usable CPUs, within the cgroup quota].",
)
@click.argument("what", required=False, type=click.Choice(["all"]))
def serve(
    config: tuple[str, ...],
    dev: bool,
    watch_courier: bool,
    sqa_opt_out: bool,
    workers: int | None,
    what: str | None,
) -> None:
    """Serve the public (4433) and admin (4434) APIs."""
    settings = load_or_exit(config, dev=dev or None)
    logs.configure(settings.log.level, settings.log.format)
    from_env = click.get_current_context().get_parameter_source("workers") == ParameterSource.ENVIRONMENT
    count = worker_count(settings.dsn, workers, "SERVE_WORKERS=" if from_env else "--workers ")
    if watch_courier:  # the courier worker runs in this process, or in worker 0 of several
        settings = settings.model_copy(update={"watch_courier": True})
    if count == 1:
        _serve_in_this_process(settings)
        return
    try:  # the parent loads no app or database code: each worker imports it after the fork, in parallel
        supervisor.serve(settings, count)
    except supervisor.StartError as exc:
        raise click.ClickException(str(exc)) from None


def worker_count(dsn: str, requested: int | None, option: str = "--workers ") -> int:
    """``--workers`` (or ``SERVE_WORKERS``), else the usable CPUs; 1 for an in-memory database."""
    if not in_memory(dsn):
        return requested or available_cpus()
    if requested is not None and requested > 1:
        raise click.UsageError(
            f"{option}{requested}: an in-memory database lives inside one process; "
            "use --workers 1 or a database file"
        )
    return 1


def in_memory(dsn: str) -> bool:
    """Whether ``dsn`` is an in-memory SQLite database, as ``persistence.dsn.parse_dsn`` reads it.

    Checked here because importing ``parse_dsn`` would load SQLAlchemy into the parent process.
    """
    dsn = dsn.strip()
    scheme, _, rest = dsn.partition(":")
    scheme = scheme.lower()
    if scheme == "file":
        rest = dsn
    elif scheme in ("sqlite", "sqlite3") and rest.startswith("//"):
        rest = rest[2:]
    else:
        return dsn == "memory"
    target, _, query = rest.partition("?")
    if target.startswith("file:"):
        target = target.removeprefix("file:").removeprefix("//")
    mode = dict(parse_qsl(query, keep_blank_values=True)).get("mode")
    return mode == "memory" or unquote(target) in ("", ":memory:")


def _serve_in_this_process(settings: KratosConfig) -> None:
    import uvloop

    from kratos.driver import runner

    try:
        uvloop.run(runner.serve(settings))
    except KeyboardInterrupt:  # pragma: no cover - signals are handled by the runner
        pass
    except Exception as exc:
        message = runner.start_failure(exc)
        if message is None:
            raise
        if isinstance(exc, OSError | ValueError):
            log.error("%s", message)
        raise click.ClickException(message) from None
