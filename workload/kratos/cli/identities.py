"""Remote identity commands: ``import``, ``get``, ``list``, ``delete`` and ``validate``."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import click
import orjson
from pydantic import ValidationError

from kratos.cli.remote import AdminClient, describe_error, emit, remote_options
from kratos.identity.admin.bodies import CreateIdentityBody
from kratos.schema import SchemaLoadError, TraitsValidationError, parse_schema

BATCH_SIZE = 1000
BATCH_SIZE_PLAINTEXT = 200


def _read_documents(paths: Sequence[str]) -> Iterator[tuple[str, Any]]:
    """Each identity in the files (``-`` or none: standard input); a file holds one identity or a list."""
    for path in paths or ("-",):
        name = "standard input" if path == "-" else path
        try:
            raw = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()  # noqa: SIM115
            document = orjson.loads(raw)
        except OSError as exc:
            raise click.ClickException(f"{name}: {exc.strerror or exc}") from None
        except orjson.JSONDecodeError as exc:
            raise click.ClickException(f"{name}: not valid JSON: {exc}") from None
        for index, item in enumerate(document if isinstance(document, list) else [document]):
            yield (f"{name}[{index}]" if isinstance(document, list) else name), item


def _validate(client: AdminClient, source: str, item: Any, cache: dict[str, Any]) -> CreateIdentityBody:
    """Check an identity body and its traits against the server's schema."""
    try:
        body = CreateIdentityBody.model_validate(item)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise click.ClickException(f"{source}: invalid identity: {problems}") from None
    if not body.schema_id:  # the server's default schema: the server checks the traits
        return body
    if body.schema_id not in cache:
        raw = client.request("GET", f"/schemas/{body.schema_id}").content
        try:
            cache[body.schema_id] = parse_schema(body.schema_id, raw)
        except SchemaLoadError as exc:
            raise click.ClickException(
                f"{source}: the server's schema {body.schema_id!r} is unusable: {exc}"
            ) from None
    try:
        cache[body.schema_id].validate_traits(body.traits)
    except TraitsValidationError as exc:
        raise click.ClickException(f"{source}: invalid traits: {exc.reason()}") from None
    return body


@click.group("import")
def import_group() -> None:
    """Import resources."""


@import_group.command("identities")
@click.argument("files", nargs=-1)
@remote_options
def import_identities(files: tuple[str, ...], endpoint: str | None, output_format: str, quiet: bool) -> None:
    """Import identities from JSON files (one identity or a list each) or standard input."""
    client = AdminClient(endpoint)
    schemas: dict[str, Any] = {}
    bodies = [
        (source, item, _validate(client, source, item, schemas)) for source, item in _read_documents(files)
    ]
    created: list[str] = []
    failures: list[str] = []
    with click.progressbar(length=len(bodies), label="Importing identities", file=sys.stderr) as progress:
        for chunk in _chunks(bodies):
            payload = {"identities": [{"create": item} for _, item, _ in chunk]}
            response = client.http.patch("/admin/identities", json=payload)
            if response.status_code == 400:  # one entry refused the whole batch: find it, one at a time
                results = [_create_one(client, item) for _, item, _ in chunk]
            elif response.status_code >= 400:
                raise click.ClickException(f"import failed: {describe_error(response)}")
            else:
                results = response.json()["identities"]
            for (source, _, _), result in zip(chunk, results, strict=True):
                if result.get("action") == "error":
                    failures.append(
                        f"{source}: {result['error'].get('reason') or result['error'].get('message')}"
                    )
                else:
                    created.append(result["identity"])
            progress.update(len(chunk))
    if created:
        identities = [
            identity
            for start in range(0, len(created), 500)
            for identity in client.json(
                "GET",
                "/admin/identities",
                params=[("page_size", "500"), *(("ids", i) for i in created[start : start + 500])],
            )
        ]
        emit(identities, output_format, quiet)
    for failure in failures:
        click.echo(f"failed to import {failure}", err=True)
    if failures:
        raise SystemExit(1)


Entry = tuple[str, Any, CreateIdentityBody]


def _create_one(client: AdminClient, item: Any) -> dict[str, Any]:
    """Create one identity; the result as a batch entry reports it."""
    response = client.http.post("/admin/identities", json=item)
    if response.status_code == 201:
        return {"action": "create", "identity": response.json()["id"]}
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        error = {"message": describe_error(response)}
    return {"action": "error", "error": error}


def _chunks(bodies: list[Entry]) -> Iterator[list[Entry]]:
    """Batches within the server's limits (fewer when plaintext passwords must be hashed)."""
    chunk: list[Entry] = []
    plaintext = 0
    for entry in bodies:
        credentials = entry[2].credentials
        has_plaintext = bool(credentials and credentials.password and credentials.password.config.password)
        if len(chunk) >= BATCH_SIZE or plaintext + has_plaintext > BATCH_SIZE_PLAINTEXT:
            yield chunk
            chunk, plaintext = [], 0
        chunk.append(entry)
        plaintext += has_plaintext
    if chunk:
        yield chunk


@click.group("get")
def get_group() -> None:
    """Get resources."""


@get_group.command("identity")
@click.argument("ids", nargs=-1, required=True)
@click.option(
    "-i", "--include-credentials", multiple=True, help="Include this credential type's config (e.g. oidc)."
)
@click.option("--external-id", is_flag=True, help="The arguments are external ids.")
@remote_options
def get_identity(
    ids: tuple[str, ...],
    include_credentials: tuple[str, ...],
    external_id: bool,
    endpoint: str | None,
    output_format: str,
    quiet: bool,
) -> None:
    """Get one or more identities by id."""
    client = AdminClient(endpoint)
    params = [("include_credential", kind) for kind in include_credentials]
    prefix = "/admin/identities/by/external/" if external_id else "/admin/identities/"
    found = [client.json("GET", prefix + identity_id, params=params) for identity_id in ids]
    emit(found if len(found) > 1 else found[0], output_format, quiet)


@click.group("list")
def list_group() -> None:
    """List resources."""


@list_group.command("identities")
@click.option("--page-size", type=click.IntRange(1, 500), default=250, show_default=True)
@click.option("--page-token", default=None, help="The token of the page to fetch (from the previous call).")
@remote_options
def list_identities(
    page_size: int, page_token: str | None, endpoint: str | None, output_format: str, quiet: bool
) -> None:
    """List identities, one page at a time; the next page's token goes to standard error."""
    client = AdminClient(endpoint)
    params: dict[str, Any] = {"page_size": page_size}
    if page_token:
        params["page_token"] = page_token
    response = client.request("GET", "/admin/identities", params=params)
    emit(response.json(), output_format, quiet)
    next_link = response.links.get("next", {}).get("url")
    if next_link:
        token = dict(httpx_params(next_link)).get("page_token")
        click.echo(f"NEXT PAGE TOKEN: {token}", err=True)


def httpx_params(url: str) -> list[tuple[str, str]]:
    """The query parameters of ``url``."""
    return parse_qsl(urlsplit(url).query)


@click.group("delete")
def delete_group() -> None:
    """Delete resources."""


@delete_group.command("identity")
@click.argument("ids", nargs=-1, required=True)
@remote_options
def delete_identity(ids: tuple[str, ...], endpoint: str | None, output_format: str, quiet: bool) -> None:
    """Delete identities by id, for good."""
    client = AdminClient(endpoint)
    for identity_id in ids:
        client.request("DELETE", f"/admin/identities/{identity_id}")
        click.echo(identity_id)


@click.group("validate")
def validate_group() -> None:
    """Validate resources."""


@validate_group.command("identity")
@click.argument("files", nargs=-1)
@remote_options
def validate_identity(files: tuple[str, ...], endpoint: str | None, output_format: str, quiet: bool) -> None:
    """Validate identity files against the server's identity schemas, without importing them."""
    client = AdminClient(endpoint)
    schemas: dict[str, Any] = {}
    for source, item in _read_documents(files):
        _validate(client, source, item, schemas)
        if not quiet:
            click.echo(f"{source}: valid")
