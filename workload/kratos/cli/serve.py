"""``kratos serve``."""

from __future__ import annotations

import logging

import click
import uvloop

from kratos.cli.common import config_option, load_or_exit
from kratos.driver import runner
from kratos.driver.registry import DatabaseUnavailableError, NotMigratedError
from kratos.http import logs


@click.command()
@config_option
@click.option(
    "--dev", is_flag=True, help="Development mode: plain HTTP, insecure cookies, low hashing cost allowed."
)
@click.option("--watch-courier", is_flag=True, help="Run the courier worker in this process.")
@click.option(
    "--sqa-opt-out", is_flag=True, help="Accepted for compatibility: this server sends no telemetry."
)
@click.argument("what", required=False, type=click.Choice(["all"]))
def serve(
    config: tuple[str, ...], dev: bool, watch_courier: bool, sqa_opt_out: bool, what: str | None
) -> None:
    """Serve the public (4433) and admin (4434) APIs."""
    settings = load_or_exit(config, dev=dev or None)
    logs.configure(settings.log.level, settings.log.format)
    if watch_courier or settings.watch_courier:
        logging.getLogger(__name__).warning(
            "--watch-courier: this build queues no messages yet (no recovery, verification or code flows), "
            "so the courier has nothing to send"
        )
    try:
        uvloop.run(runner.serve(settings))
    except (NotMigratedError, DatabaseUnavailableError) as exc:
        raise click.ClickException(str(exc)) from None
    except (OSError, ValueError) as exc:
        logging.getLogger(__name__).error("unable to start: %s", exc)
        raise click.ClickException(f"unable to start: {exc}") from None
    except KeyboardInterrupt:  # pragma: no cover - signals are handled by the runner
        pass
