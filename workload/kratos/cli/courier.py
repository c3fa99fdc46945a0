"""``kratos courier watch``."""

from __future__ import annotations

import click

from kratos.cli.common import config_option, load_or_exit
from kratos.http import logs


@click.group()
def courier() -> None:
    """Commands related to the courier (email and SMS delivery)."""


@courier.command()
@config_option
@click.option(
    "--expose-metrics-port",
    type=click.IntRange(min=0, max=65535),
    default=None,
    help="Serve Prometheus metrics on this port at /metrics/prometheus.",
)
def watch(config: tuple[str, ...], expose_metrics_port: int | None) -> None:
    """Send the queued messages: a courier worker (run as many as you like, on any hosts)."""
    settings = load_or_exit(config)
    logs.configure(settings.log.level, settings.log.format)
    import uvloop

    from kratos.driver import runner

    try:
        uvloop.run(runner.watch_courier(settings, expose_metrics_port))
    except KeyboardInterrupt:  # pragma: no cover - signals are handled by the runner
        pass
    except Exception as exc:
        message = runner.start_failure(exc)
        if message is None:
            raise
        raise click.ClickException(message) from None
