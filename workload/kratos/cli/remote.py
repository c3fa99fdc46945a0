"""The admin API as the remote commands see it: an endpoint, output formats and errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click
import orjson
import yaml

if TYPE_CHECKING:  # loaded by the remote commands only, not by `kratos serve`
    import httpx

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("table", "json", "json-pretty", "yaml")


def remote_options(func: F) -> F:
    """``-e/--endpoint``, ``--format`` and ``-q/--quiet``, as upstream's remote commands."""
    func = click.option("-q", "--quiet", is_flag=True, help="Print only the ids.")(func)
    func = click.option(
        "--format", "output_format", type=click.Choice(FORMATS), default="table", show_default=True
    )(func)
    return click.option(
        "-e",
        "--endpoint",
        envvar="KRATOS_ADMIN_URL",
        help="The admin API URL, e.g. http://127.0.0.1:4434 (or KRATOS_ADMIN_URL).",
    )(func)


class AdminClient:
    """A small synchronous client for the admin API with readable errors."""

    def __init__(self, endpoint: str | None) -> None:
        if not endpoint:
            raise click.UsageError(
                "set the admin API URL with -e/--endpoint or the KRATOS_ADMIN_URL variable"
            )
        import httpx

        self.http = httpx.Client(base_url=endpoint.rstrip("/"), timeout=60)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; a transport failure or an error status becomes a ClickException."""
        import httpx

        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"unable to reach {self.http.base_url}: {exc}") from None
        if response.status_code >= 400:
            raise click.ClickException(f"{method} {path}: {describe_error(response)}")
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON body of a successful request."""
        return self.request(method, path, **kwargs).json()


def describe_error(response: httpx.Response) -> str:
    """The reason of a Kratos error response, or its status."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        return f"HTTP {response.status_code}"
    return f"{error.get('status') or response.status_code}: {error.get('reason') or error.get('message')}"


def emit(rows: Sequence[dict[str, Any]] | dict[str, Any], output_format: str, quiet: bool) -> None:
    """Print identities (or any JSON) in the chosen format."""
    items: list[dict[str, Any]] = [rows] if isinstance(rows, dict) else list(rows)
    if quiet:
        for item in items:
            click.echo(item.get("id", ""))
        return
    if output_format == "json":
        click.echo(orjson.dumps(rows).decode())
    elif output_format == "json-pretty":
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
    elif output_format == "yaml":
        click.echo(yaml.safe_dump(rows, sort_keys=False), nl=False)
    else:
        click.echo(identity_table(items))


def identity_table(identities: Sequence[dict[str, Any]]) -> str:
    """Identities as an aligned table, with upstream's columns."""
    header = ("ID", "VERIFIED ADDRESS 1", "RECOVERY ADDRESS 1", "SCHEMA ID", "SCHEMA URL")
    rows = [header] + [
        (
            str(item.get("id", "")),
            _first(item.get("verifiable_addresses")),
            _first(item.get("recovery_addresses")),
            str(item.get("schema_id", "")),
            str(item.get("schema_url", "")),
        )
        for item in identities
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def _first(addresses: Any) -> str:
    return str(addresses[0].get("value", "")) if addresses else "<none>"
