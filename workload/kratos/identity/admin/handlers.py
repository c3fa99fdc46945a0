"""The identity admin API: ``/admin/identities``."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import jsonpatch
import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kratos.http.errors import BadRequest, NotFound
from kratos.http.responses import JSONResponse
from kratos.identity.admin.batch import batch_create
from kratos.identity.admin.bodies import (
    CreateIdentityBody,
    RecoveryAddressImport,
    UpdateIdentityBody,
    VerifiableAddressImport,
)
from kratos.identity.admin.decoding import read_json_patch, read_strict, read_update
from kratos.identity.admin.errors import not_found, unique_violation
from kratos.identity.admin.gotypes import BATCH, CREATE
from kratos.identity.admin.importer import IdentityImporter
from kratos.identity.admin.listing import keyset_link, parse_list_params, show_credentials
from kratos.identity.errors import DuplicateIdentifier
from kratos.identity.factors import count_first_factors
from kratos.identity.manager import IdentityManager
from kratos.identity.model import CredentialsType, Identity, RecoveryAddress, State, VerifiableAddress

_PROTECTED_PATHS = ("/id", "/credentials", "/state_changed_at", "/created_at", "/updated_at", "/schema_url")
# Deleted with a check that another first factor remains; TOTP and backup codes go without one.
_FIRST_FACTORS = frozenset({CredentialsType.PASSWORD, CredentialsType.OIDC, CredentialsType.SAML})
_SECOND_FACTORS = frozenset({CredentialsType.TOTP, CredentialsType.LOOKUP_SECRET})
_BY_PROVIDER = frozenset({CredentialsType.OIDC, CredentialsType.SAML})


def identity_admin_routes(
    manager: IdentityManager, importer: IdentityImporter, admin_base_url: str
) -> list[Route]:
    """Every identity route of the admin API."""
    api = IdentityAdminAPI(manager, importer, admin_base_url)
    return [
        Route("/identities", api.list, methods=["GET"]),
        Route("/identities", api.create, methods=["POST"]),
        Route("/identities", api.batch_patch, methods=["PATCH"]),
        Route("/identities/by/external/{external_id}", api.get_by_external_id, methods=["GET"]),
        Route("/identities/{id}", api.get, methods=["GET"]),
        Route("/identities/{id}", api.update, methods=["PUT"]),
        Route("/identities/{id}", api.patch, methods=["PATCH"]),
        Route("/identities/{id}", api.delete, methods=["DELETE"]),
        Route("/identities/{id}/credentials/{type}", api.delete_credentials, methods=["DELETE"]),
    ]


class IdentityAdminAPI:
    """The handlers, bound to the services they use."""

    def __init__(self, manager: IdentityManager, importer: IdentityImporter, admin_base_url: str) -> None:
        self.manager = manager
        self.importer = importer
        self.admin_base_url = admin_base_url.rstrip("/")

    def _render(
        self,
        identity: Identity,
        *,
        declassify: frozenset[str] = frozenset(),
        credentials: bool = True,
        metadata_admin: bool = True,
    ) -> dict[str, Any]:
        """The identity as upstream shows it.

        ``metadata_admin=False`` when a create or update body left it out: upstream omits it from that answer.
        """
        return identity.to_json(
            self.manager.schema_url(identity),
            admin=metadata_admin,
            credentials=credentials,
            declassify=declassify,
        )

    async def list(self, request: Request) -> Response:
        """``GET /admin/identities``: keyset pages, ``ids``, identifier and organization filters."""
        listing = parse_list_params(request.query_params)
        found, next_after = await self.manager.list(listing.query)
        if listing.legacy:
            link = self._legacy_link(request, listing.query.offset, listing.query.page_size, next_after)
        else:
            link = keyset_link(request.query_params, listing.query.page_size, next_after)
        shown = show_credentials(listing)
        return JSONResponse(
            [self._render(i, declassify=listing.declassify, credentials=shown) for i in found],
            headers={"Link": link},
        )

    def _legacy_link(self, request: Request, offset: int, per_page: int, next_after: uuid.UUID | None) -> str:
        """``Link`` to the neighbouring pages of a listing by (deprecated) page numbers."""
        page = offset // per_page
        rels = {"first": 0, **({"prev": page - 1} if page > 0 else {})}
        if next_after is not None:
            rels["next"] = page + 1
        base = f"{self.admin_base_url}/admin/identities?"
        kept = {k: v for k, v in request.query_params.items() if k not in ("page", "per_page")}
        return ",".join(
            f'<{base}{urlencode({**kept, "page": n, "per_page": per_page})}>; rel="{rel}"'
            for rel, n in rels.items()
        )

    async def get(self, request: Request) -> Response:
        """``GET /admin/identities/{id}``."""
        identity = await self.manager.get(parse_id(request.path_params["id"]))
        return JSONResponse(self._render(identity, declassify=_declassify(request)))

    async def get_by_external_id(self, request: Request) -> Response:
        """``GET /admin/identities/by/external/{externalID}``."""
        identity = await self.manager.get_by_external_id(request.path_params["external_id"])
        return JSONResponse(self._render(identity, declassify=_declassify(request)))

    async def create(self, request: Request) -> Response:
        """``POST /admin/identities``: 201 with the identity, ``Location`` as upstream builds it."""
        body = CreateIdentityBody.model_validate(await read_strict(request, CREATE))
        identity = await self.manager.create(await self.importer.build(body))
        location = f"{self.admin_base_url}/identities/{identity.id}"
        rendered = self._render(identity, metadata_admin="metadata_admin" in body.model_fields_set)
        return JSONResponse(rendered, status_code=201, headers={"Location": location})

    async def update(self, request: Request) -> Response:
        """``PUT /admin/identities/{id}``: the body replaces traits, metadata and external id."""
        body = UpdateIdentityBody.model_validate(await read_update(request))
        identity = await self.manager.get(parse_id(request.path_params["id"]))
        if body.schema_id:
            identity.schema_id = body.schema_id
        state = body.parsed_state()
        if state is not None:
            self.manager.set_state(identity, state)
        identity.traits = body.traits
        identity.metadata_public = body.metadata_public
        identity.metadata_admin = body.metadata_admin
        identity.external_id = body.external_id or None
        await self.importer.import_credentials(identity, body.credentials)
        updated = await self._store(identity)
        return JSONResponse(self._render(updated, metadata_admin="metadata_admin" in body.model_fields_set))

    async def _store(self, identity: Identity, *, recreate: bool = True) -> Identity:
        try:
            return await self.manager.update(identity, recreate=recreate)
        except DuplicateIdentifier:
            raise unique_violation() from None

    async def patch(self, request: Request) -> Response:
        """``PATCH /admin/identities/{id}``: an RFC 6902 JSON Patch."""
        operations = await read_json_patch(request)
        identity = await self.manager.get(parse_id(request.path_params["id"]))
        document = orjson.loads(
            orjson.dumps(
                identity.to_json(self.manager.schema_url(identity)), default=str, option=orjson.OPT_UTC_Z
            )
        )
        for operation in operations:
            if not isinstance(operation, dict):
                raise BadRequest("Every JSON Patch operation must be an object.")
            for key in ("path", "from"):
                target = operation.get(key)
                if isinstance(target, str) and any(
                    target == p or target.startswith(p + "/") for p in _PROTECTED_PATHS
                ):
                    raise BadRequest(
                        f"An error occurred when applying the JSON patch: path {target} cannot be patched."
                    )
        try:
            patched = jsonpatch.apply_patch(document, operations)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, ValueError) as exc:
            raise BadRequest(f"An error occurred when applying the JSON patch: {exc}") from None
        _apply_patched(identity, patched, self.manager)
        return JSONResponse(self._render(await self._store(identity)))

    async def delete(self, request: Request) -> Response:
        """``DELETE /admin/identities/{id}``: 204."""
        await self.manager.delete(parse_id(request.path_params["id"]))
        return Response(status_code=204)

    async def delete_credentials(self, request: Request) -> Response:
        """``DELETE /admin/identities/{id}/credentials/{type}``: 204; never the last first factor."""
        kind = request.path_params["type"]
        identifier = request.query_params.get("identifier", "")
        if kind == CredentialsType.DEVICEAUTHN:  # keys by identifier; this server stores none
            if not identifier:
                raise BadRequest("You must provide an identifier to delete this credential.")
            raise not_found()
        identity = await self.manager.get(parse_id(request.path_params["id"]))
        credential = identity.credentials.get(kind)
        if credential is None:
            raise NotFound(f"You tried to remove a {kind} but this user have no {kind} set up.")
        if kind in _SECOND_FACTORS:
            del identity.credentials[kind]
        elif kind == CredentialsType.WEBAUTHN:  # security keys go, passwordless ones stay
            keys = [key for key in credential.config.get("credentials") or () if key.get("is_passwordless")]
            if keys:
                credential.config = {**credential.config, "credentials": keys}
            else:
                del identity.credentials[kind]
        elif kind in _FIRST_FACTORS:
            # Code passwordless sign-in and the password migration hook are refused at start-up
            # (config/support.py), so neither counts here yet.
            if count_first_factors(identity.credentials) < 2:
                raise BadRequest("You cannot remove the last first factor credential.")
            if kind in _BY_PROVIDER:
                _remove_provider(kind, credential.config, identifier)
                credential.identifiers = [
                    p["provider"] + ":" + p["subject"] for p in credential.config["providers"]
                ]
            else:  # the credential stays, without its hash, as upstream keeps it
                credential.config = {}
        else:
            raise BadRequest(f"Credentials type {kind} cannot be deleted.")
        await self._store(identity, recreate=False)
        return Response(status_code=204)

    async def batch_patch(self, request: Request) -> Response:
        """``PATCH /admin/identities``: create many identities; per-entry results (see :mod:`.batch`)."""
        results = await batch_create(await read_strict(request, BATCH), self.manager, self.importer)
        return JSONResponse({"identities": results})


def _remove_provider(kind: str, config: dict[str, Any], identifier: str) -> None:
    """Drop the social sign-in link ``provider:subject`` from a credential's config."""
    if not identifier:
        raise BadRequest("You must provide an identifier to delete this credential.")
    providers = config.get("providers") or []
    kept = [p for p in providers if f"{p.get('provider')}:{p.get('subject')}" != identifier]
    if len(kept) == len(providers):
        raise NotFound(f"The identifier `{identifier}` was not found among OIDC credentials.")
    config["providers"] = kept


def _apply_patched(identity: Identity, patched: Any, manager: IdentityManager) -> None:
    """Copy the patchable fields of a patched document back onto the identity."""
    if not isinstance(patched, dict):
        raise BadRequest("The JSON patch must leave an identity object.")
    try:
        state = State(patched.get("state", identity.state))
    except ValueError:
        raise BadRequest(
            f"The supplied state ('{patched.get('state')}') was not valid. "
            "Valid states are ('active', 'inactive').",
            message="identity state is not valid",
        ) from None
    manager.set_state(identity, state)
    schema_id = patched.get("schema_id")
    if not isinstance(schema_id, str) or not schema_id:
        raise BadRequest("schema_id must be a non-empty string.")
    external_id = patched.get("external_id")
    if external_id is not None and (not isinstance(external_id, str) or not 0 < len(external_id) <= 64):
        raise BadRequest("external_id must be a string of 1 to 64 characters.")
    identity.schema_id = schema_id
    identity.traits = patched.get("traits")
    identity.metadata_public = patched.get("metadata_public")
    identity.metadata_admin = patched.get("metadata_admin")
    identity.external_id = external_id
    organization = patched.get("organization_id")
    try:
        identity.organization_id = uuid.UUID(organization) if organization is not None else None
    except (TypeError, ValueError, AttributeError):
        raise BadRequest("organization_id must be a UUID or null.") from None
    try:
        verifiable = [
            VerifiableAddressImport.model_validate(a) for a in patched.get("verifiable_addresses") or ()
        ]
        recovery = [RecoveryAddressImport.model_validate(a) for a in patched.get("recovery_addresses") or ()]
    except ValidationError as exc:
        raise BadRequest(f"The patched addresses are invalid: {exc.errors()[0]['msg']}") from None
    known = {(a.via, a.value): a for a in identity.verifiable_addresses}
    identity.verifiable_addresses = [_patched_address(known.get((a.via, a.value)), a) for a in verifiable]
    known_recovery = {(a.via, a.value): a for a in identity.recovery_addresses}
    identity.recovery_addresses = [
        known_recovery.get((a.via, a.value)) or RecoveryAddress(value=a.value, via=a.via) for a in recovery
    ]


def _patched_address(
    existing: VerifiableAddress | None, patched: VerifiableAddressImport
) -> VerifiableAddress:
    address = existing or VerifiableAddress(value=patched.value, via=patched.via)
    address.verified = patched.verified
    address.status = patched.status
    address.verified_at = patched.verified_at
    return address


def _declassify(request: Request) -> frozenset[str]:
    """``include_credential`` of a get: upstream's refusal names the values read before the bad one."""
    values: list[str] = []
    for value in request.query_params.getlist("include_credential"):
        if value not in CredentialsType.__members__.values():
            raise BadRequest(f"Invalid value `[{' '.join(values)}]` for parameter `include_credential`.")
        values.append(value)
    return frozenset(values)


def parse_id(value: str) -> uuid.UUID:
    """A path id; anything that is not a UUID cannot name an identity (404, as upstream)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found() from None
