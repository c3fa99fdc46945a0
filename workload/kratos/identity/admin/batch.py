"""``PATCH /admin/identities``: create many identities at once, answered per entry as upstream does.

A body upstream cannot read, too many entries, too many plaintext passwords, or an entry it cannot turn into
an identity (a bad state, an unknown hash) refuses the whole batch, before anything is stored. Entries the
schema refuses, and entries whose identifiers are taken, fail alone; the others are created. The answer is a
200 even when every entry failed; an entry without ``create`` answers ``null``.
"""

from __future__ import annotations

from typing import Any

from kratos.http.errors import BadRequest
from kratos.identity.admin.bodies import BatchPatchBody, IdentityPatch
from kratos.identity.admin.errors import HANDLED, http_error, unique_violation
from kratos.identity.admin.importer import IdentityImporter
from kratos.identity.manager import IdentityManager
from kratos.identity.model import Identity

MAX_BATCH = 1000
MAX_BATCH_PLAINTEXT = 200


async def batch_create(
    body: dict[str, Any], manager: IdentityManager, importer: IdentityImporter
) -> list[dict[str, Any] | None]:
    """The per-entry results of a batch body; raises for what refuses the whole batch."""
    raw = BatchPatchBody.model_validate(body).identities
    if len(raw) > MAX_BATCH:
        raise BadRequest(
            "The maximum number of identities per request that can be created or deleted at once is "
            f"{MAX_BATCH}."
        )
    entries = [IdentityPatch.model_validate(entry) for entry in raw]
    plaintext = sum(
        1
        for entry in entries
        if entry.create and entry.create.credentials and entry.create.credentials.password
        if entry.create.credentials.password.config.password
    )
    if plaintext > MAX_BATCH_PLAINTEXT:  # checked before hashing any of them
        raise BadRequest(
            "The maximum number of identities per request that can be created with a plaintext password is "
            f"{MAX_BATCH_PLAINTEXT}."
        )
    creates = [entry.create for entry in entries if entry.create is not None]
    # Built concurrently: plaintext passwords hash in parallel, as many as the hashing pool allows.
    built = await importer.build_all(creates)
    for outcome in built:
        if isinstance(outcome, BaseException):
            raise outcome
    identities = iter(outcome for outcome in built if isinstance(outcome, Identity))
    results: list[dict[str, Any] | None] = []
    pending: list[tuple[dict[str, Any], Identity]] = []
    for entry in entries:
        if entry.create is None:
            results.append(None)
            continue
        result: dict[str, Any] = {"action": "create"}
        if entry.patch_id is not None:
            result["patch_id"] = entry.patch_id
        results.append(result)
        identity = next(identities)
        try:
            manager.validate(identity)
        except HANDLED as exc:
            _fail(result, http_error(exc).to_dict()["error"])
        else:
            pending.append((result, identity))
    stored = await manager.create_many([identity for _, identity in pending])
    for (result, identity), error in zip(pending, stored, strict=True):
        if error is None:
            result["identity"] = identity.id
        else:
            _fail(result, unique_violation().to_dict()["error"])
    return results


def _fail(result: dict[str, Any], error: dict[str, Any]) -> None:
    result["action"] = "error"
    result["error"] = error
