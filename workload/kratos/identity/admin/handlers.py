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

from kratos.http.errors import BadRequest, Conflict, KratosError, NotFound
from kratos.http.responses import JSONResponse, read_json, read_json_object
from kratos.identity.admin.bodies import (
    BatchPatchBody,
    CreateIdentityBody,
    IdentityPatch,
    RecoveryAddressImport,
    UpdateIdentityBody,
    VerifiableAddressImport,
)
from kratos.identity.admin.errors import HANDLED, http_error
from kratos.identity.admin.importer import IdentityImporter
from kratos.identity.manager import IdentityManager
from kratos.identity.model import CredentialsType, Identity, RecoveryAddress, State, VerifiableAddress
from kratos.identity.pool import ListQuery

MAX_PAGE_SIZE = 500
MAX_IDS = 500
MAX_BATCH = 1000
MAX_BATCH_PLAINTEXT = 200
PATCH_MEDIA_TYPES = frozenset({"application/json", "application/json-patch+json"})
_PROTECTED_PATHS = ("/id", "/credentials", "/state_changed_at", "/created_at", "/updated_at", "/schema_url")
_UNDELETABLE = frozenset({CredentialsType.PASSKEY, CredentialsType.CODE})
_BY_PROVIDER = frozenset({CredentialsType.OIDC, CredentialsType.SAML})
_PAGING_PARAMS = frozenset({"page", "per_page", "page_size", "page_token"})


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

    def _render(self, identity: Identity, *, declassify: frozenset[str] = frozenset()) -> dict[str, Any]:
        return identity.to_json(self.manager.schema_url(identity), credentials=True, declassify=declassify)

    async def list(self, request: Request) -> Response:
        """``GET /admin/identities``: keyset pages, ``ids`` and ``credentials_identifier`` filters."""
        query = request.query_params
        token = query.get("page_token")
        page = _int_param(query.get("page"), "page", 0, 0, 1_000_000) if not token else 0
        if query.get("page_size"):
            page_size = _int_param(query.get("page_size"), "page_size", 250, 1, MAX_PAGE_SIZE)
        else:  # the deprecated parameter allows up to 1000
            page_size = _int_param(query.get("per_page"), "per_page", 250, 1, 1000)
        after = _uuid_param(token, "page_token") if token else None
        ids = query.getlist("ids")
        if len(ids) > MAX_IDS:
            raise BadRequest(f"The ids parameter accepts at most {MAX_IDS} ids.")
        identifier = query.get("credentials_identifier") or None
        similar = query.get("preview_credentials_identifier_similar") or None
        if identifier and similar:
            raise BadRequest(
                "Cannot pass both credentials_identifier and preview_credentials_identifier_similar."
            )
        organization = query.get("organization_id")
        found, next_after = await self.manager.pool.list(
            ListQuery(
                page_size=page_size,
                after=after,
                ids=[_uuid_param(value, "ids") for value in ids] if ids else None,
                credentials_identifier=identifier,
                identifier_similar=similar,
                organization_id=_uuid_param(organization, "organization_id") if organization else None,
                offset=page * page_size,
            )
        )
        headers = None
        if not ids:
            rels: dict[str, dict[str, Any]]
            if query.get("page"):  # deprecated page numbers
                rels = {"first": {"page": 0, "per_page": page_size}}
                if page > 0:
                    rels["prev"] = {"page": page - 1, "per_page": page_size}
                if next_after is not None:
                    rels["next"] = {"page": page + 1, "per_page": page_size}
            else:
                rels = {"first": {"page_size": page_size}}
                if next_after is not None:
                    rels["next"] = {"page_size": page_size, "page_token": next_after}
            headers = {"Link": self._link_header(request, rels)}
        return JSONResponse([self._render(identity) for identity in found], headers=headers)

    def _link_header(self, request: Request, rels: dict[str, dict[str, Any]]) -> str:
        """``Link`` to other pages of this listing, keeping its filters."""
        base = f"{self.admin_base_url}/admin/identities?"
        kept = {k: v for k, v in request.query_params.items() if k not in _PAGING_PARAMS}
        return ",".join(
            f'<{base}{urlencode({**kept, **params})}>; rel="{rel}"' for rel, params in rels.items()
        )

    async def get(self, request: Request) -> Response:
        """``GET /admin/identities/{id}``."""
        declassify = _declassify(request)
        identity = await self.manager.get(parse_id(request.path_params["id"]))
        return JSONResponse(self._render(identity, declassify=declassify))

    async def get_by_external_id(self, request: Request) -> Response:
        """``GET /admin/identities/by/external/{externalID}``."""
        declassify = _declassify(request)
        identity = await self.manager.get_by_external_id(request.path_params["external_id"])
        return JSONResponse(self._render(identity, declassify=declassify))

    async def create(self, request: Request) -> Response:
        """``POST /admin/identities``: 201 with the identity."""
        body = CreateIdentityBody.model_validate(await read_json_object(request))
        identity = await self.manager.create(await self.importer.build(body))
        location = f"{self.admin_base_url}/admin/identities/{identity.id}"
        return JSONResponse(self._render(identity), status_code=201, headers={"Location": location})

    async def update(self, request: Request) -> Response:
        """``PUT /admin/identities/{id}``."""
        body = UpdateIdentityBody.model_validate(await read_json_object(request))
        identity = await self.manager.get(parse_id(request.path_params["id"]))
        if body.schema_id:
            identity.schema_id = body.schema_id
        if body.state is not None:
            self.manager.set_state(identity, body.state)
        identity.traits = body.traits
        identity.metadata_public = body.metadata_public
        identity.metadata_admin = body.metadata_admin
        if body.external_id is not None:
            identity.external_id = body.external_id
        await self.importer.import_credentials(identity, body.credentials)
        return JSONResponse(self._render(await self.manager.update(identity)))

    async def patch(self, request: Request) -> Response:
        """``PATCH /admin/identities/{id}``: an RFC 6902 JSON Patch."""
        operations = await read_json(request, PATCH_MEDIA_TYPES)
        if not isinstance(operations, list):
            raise BadRequest("A JSON Patch document must be an array of operations.")
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
        return JSONResponse(self._render(await self.manager.update(identity)))

    async def delete(self, request: Request) -> Response:
        """``DELETE /admin/identities/{id}``: 204."""
        await self.manager.delete(parse_id(request.path_params["id"]))
        return Response(status_code=204)

    async def delete_credentials(self, request: Request) -> Response:
        """``DELETE /admin/identities/{id}/credentials/{type}``: 204."""
        kind = request.path_params["type"]
        if kind not in CredentialsType.__members__.values():
            raise BadRequest(f"Unknown credentials type {kind}.")
        if kind in _UNDELETABLE:
            raise BadRequest(f"You cannot remove {kind} credentials through this API.")
        identity = await self.manager.get(parse_id(request.path_params["id"]))
        credential = identity.credentials.get(kind)
        if credential is None:
            raise NotFound(f"You tried to remove a {kind} but this user have no {kind} set up.")
        if kind in _BY_PROVIDER:
            identifier = request.query_params.get("identifier")
            if not identifier:
                raise BadRequest(f"The identifier query parameter is required to remove {kind} credentials.")
            providers = credential.config.get("providers", [])
            kept = [p for p in providers if f"{p.get('provider')}:{p.get('subject')}" != identifier]
            if len(kept) == len(providers):
                raise NotFound(f"The identity has no {kind} credential with identifier {identifier}.")
            credential.config = {**credential.config, "providers": kept}
            credential.identifiers = [i for i in credential.identifiers if i != identifier]
            if not kept:
                del identity.credentials[kind]
        else:
            del identity.credentials[kind]
        await self.manager.update(identity, recreate=False)
        return Response(status_code=204)

    async def batch_patch(self, request: Request) -> Response:
        """``PATCH /admin/identities``: create many identities; per-entry results."""
        body = BatchPatchBody.model_validate(await read_json_object(request))
        if len(body.identities) > MAX_BATCH:
            raise BadRequest(f"The maximum number of identities that can be created at once is {MAX_BATCH}.")
        results: list[dict[str, Any]] = []
        bodies: list[tuple[int, CreateIdentityBody]] = []
        plaintext = 0
        for entry in body.identities:
            patch_id = entry.get("patch_id") if isinstance(entry, dict) else None
            result: dict[str, Any] = {"action": "create", **({"patch_id": patch_id} if patch_id else {})}
            results.append(result)
            try:
                patch = IdentityPatch.model_validate(entry)
                if patch.create is None:
                    raise BadRequest("Every patch needs a create body.")
                password = patch.create.credentials and patch.create.credentials.password
                plaintext += bool(password and password.config.password)
                if plaintext > MAX_BATCH_PLAINTEXT:
                    raise BadRequest(
                        f"At most {MAX_BATCH_PLAINTEXT} identities with plaintext passwords "
                        "can be imported at once."
                    )
                bodies.append((len(results) - 1, patch.create))
            except (*HANDLED, KratosError, ValidationError) as exc:
                _fail(result, exc)
        # Built concurrently: plaintext passwords hash in parallel, as many as the hashing pool allows.
        built = await self.importer.build_all([create for _, create in bodies])
        pending: list[tuple[int, Identity]] = []
        for (index, _), outcome in zip(bodies, built, strict=True):
            try:
                if isinstance(outcome, BaseException):
                    raise outcome
                self.manager.validate(outcome)
                pending.append((index, outcome))
            except (*HANDLED, KratosError, ValidationError) as exc:
                _fail(results[index], exc)
        stored = await self.manager.create_many([identity for _, identity in pending])
        for (index, identity), error in zip(pending, stored, strict=True):
            if error is None:
                results[index]["identity"] = identity.id
            else:
                _fail(results[index], error)
        if results and all(result["action"] == "error" for result in results):
            statuses = {result["error"]["code"] for result in results}
            raise (Conflict if statuses == {409} else BadRequest)(
                "None of the identities could be created.", details={"identities": results}
            )
        return JSONResponse({"identities": results})


def _fail(result: dict[str, Any], error: BaseException) -> None:
    result["action"] = "error"
    result["error"] = http_error(error).to_dict()["error"]


def _apply_patched(identity: Identity, patched: Any, manager: IdentityManager) -> None:
    """Copy the patchable fields of a patched document back onto the identity."""
    if not isinstance(patched, dict):
        raise BadRequest("The JSON patch must leave an identity object.")
    try:
        state = State(patched.get("state", identity.state))
    except ValueError:
        raise BadRequest(
            f"The supplied state ('{patched.get('state')}') was not valid. "
            "Valid states are ('active', 'inactive')."
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
    values = request.query_params.getlist("include_credential")
    for value in values:
        if value not in CredentialsType.__members__.values():
            raise BadRequest(f"Invalid value `{value}` for parameter `include_credential`.")
    return frozenset(values)


def _int_param(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"The {name} parameter must be an integer, got {raw!r}.") from None
    if not low <= value <= high:
        raise BadRequest(f"The {name} parameter must be between {low} and {high}, got {value}.")
    return value


def _uuid_param(raw: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise BadRequest(f"The {name} parameter must be a UUID, got {raw!r}.") from None


def parse_id(value: str) -> uuid.UUID:
    """A path id; anything that is not a UUID cannot name an identity (404, as upstream)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("Unable to locate the resource") from None
