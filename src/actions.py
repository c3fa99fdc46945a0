"""The identity actions against the admin API: parameters in, Juju action results out."""

import json
import re
from collections.abc import Mapping
from typing import Any

from admin_client import AdminAPIError, AdminClient, IdentityNotFoundError
from constants import ADMIN_SCHEMA_ID

RECOVERY_EXPIRY = "1h"
_INVALID_KEY_CHARS = re.compile(r"[^a-z0-9-]+")


class ActionError(Exception):
    """The action cannot be done; the message tells the operator what to do."""


def to_results(data: Mapping[str, Any]) -> dict[str, Any]:
    """Kratos JSON as Juju action results: keys lower-case with `-`, lists as JSON, nulls dropped."""
    results: dict[str, Any] = {}
    for key, value in data.items():
        name = _INVALID_KEY_CHARS.sub("-", str(key).lower().replace("_", "-")).strip("-") or "value"
        if value is None:
            continue
        if isinstance(value, Mapping):
            results[name] = to_results(value)
        elif isinstance(value, list):
            results[name] = json.dumps(value)
        else:
            results[name] = value
    return results


def resolve_identity_id(client: AdminClient, params: Mapping[str, Any]) -> str:
    """Return the identity chosen by `identity-id` or `email` (exactly one of them)."""
    identity_id, email = params.get("identity-id"), params.get("email")
    if identity_id and email:
        raise ActionError("Give identity-id or email, not both")
    if identity_id:
        return identity_id
    if not email:
        raise ActionError("Give the identity with identity-id=<id> or email=<address>")
    try:
        return client.find_identity_id(email)
    except AdminAPIError as e:
        raise ActionError(f"Cannot find the identity: {e}") from None


def _fetch(client: AdminClient, identity_id: str, include: list[str] | None = None) -> dict[str, Any]:
    try:
        return client.get_identity(identity_id, include)
    except IdentityNotFoundError:
        raise ActionError(f"No identity with id {identity_id}; check the id with get-identity") from None


def get_identity(client: AdminClient, params: Mapping[str, Any]) -> dict[str, Any]:
    """Return the identity as results."""
    return to_results(_fetch(client, resolve_identity_id(client, params)))


def delete_identity(client: AdminClient, params: Mapping[str, Any]) -> dict[str, Any]:
    """Delete the identity; results: its id."""
    identity_id = resolve_identity_id(client, params)
    try:
        client.delete_identity(identity_id)
    except IdentityNotFoundError:
        raise ActionError(f"No identity with id {identity_id}; nothing was deleted") from None
    return {"id": identity_id}


def _recovery(client: AdminClient, identity_id: str) -> dict[str, Any]:
    code = client.create_recovery_code(identity_id, RECOVERY_EXPIRY)
    return to_results({k: code.get(k) for k in ("recovery_link", "recovery_code", "expires_at")})


def create_admin_account(
    client: AdminClient, params: Mapping[str, Any], password: str | None
) -> dict[str, Any]:
    """Create an admin_v0 identity; without a password, also a recovery link and code."""
    traits = {"username": params["username"], "email": params["email"]}
    traits |= {k: params[p] for k, p in (("name", "name"), ("phone_number", "phone-number")) if params.get(p)}
    body: dict[str, Any] = {"schema_id": ADMIN_SCHEMA_ID, "traits": traits}
    if password:
        body["credentials"] = {"password": {"config": {"password": password}}}
    try:
        identity = client.create_identity(body)
    except AdminAPIError as e:
        if e.status == 409:
            raise ActionError(f"An identity with email {params['email']} exists already") from None
        raise ActionError(f"Cannot create the admin account: {e}") from None
    results: dict[str, Any] = {"identity-id": identity["id"]}
    if not password:
        results |= _recovery(client, identity["id"])
    return results


def reset_password(client: AdminClient, params: Mapping[str, Any], password: str | None) -> dict[str, Any]:
    """Set the password (when given) or create a recovery link and code."""
    identity_id = resolve_identity_id(client, params)
    identity = _fetch(client, identity_id)
    if not password:
        return {"identity-id": identity_id, **_recovery(client, identity_id)}
    body = {
        key: identity.get(key)
        for key in ("schema_id", "traits", "state", "metadata_public", "metadata_admin")
        if identity.get(key) is not None
    }
    body["credentials"] = {"password": {"config": {"password": password}}}
    try:
        updated = client.update_identity(identity_id, body)
    except AdminAPIError as e:
        raise ActionError(f"Cannot set the password: {e}") from None
    return to_results(updated)


def invalidate_identity_sessions(client: AdminClient, params: Mapping[str, Any]) -> dict[str, Any]:
    """Revoke every session of the identity."""
    identity_id = resolve_identity_id(client, params)
    try:
        client.delete_identity_sessions(identity_id)
    except IdentityNotFoundError:
        raise ActionError(f"No identity with id {identity_id}, or it has no sessions") from None
    return {"identity-id": identity_id, "sessions": "invalidated"}


def reset_identity_mfa(client: AdminClient, params: Mapping[str, Any]) -> dict[str, Any]:
    """Remove one second-factor credential type."""
    mfa_type = params.get("mfa-type", "")
    if mfa_type not in ("totp", "lookup_secret", "webauthn"):
        raise ActionError(f"mfa-type must be one of totp, lookup_secret, webauthn, got {mfa_type!r}")
    identity_id = resolve_identity_id(client, params)
    try:
        client.delete_credential(identity_id, mfa_type)
    except IdentityNotFoundError:
        raise ActionError(
            f"Identity {identity_id} has no {mfa_type} credential (or does not exist)"
        ) from None
    return {"identity-id": identity_id, "removed": mfa_type}


def _oidc_identifiers(identity: Mapping[str, Any]) -> list[str]:
    credentials = identity.get("credentials") or {}
    return list((credentials.get("oidc") or {}).get("identifiers") or [])


def list_oidc_accounts(client: AdminClient, params: Mapping[str, Any]) -> dict[str, Any]:
    """Return the identity's linked external accounts (`provider:subject`)."""
    identity_id = resolve_identity_id(client, params)
    identifiers = _oidc_identifiers(_fetch(client, identity_id, ["oidc"]))
    return {"identity-id": identity_id, "identifiers": json.dumps(identifiers), "count": len(identifiers)}


def unlink_oidc_account(client: AdminClient, params: Mapping[str, Any]) -> dict[str, Any]:
    """Unlink one external account."""
    credential_id = params.get("credential-id")
    if not credential_id:
        raise ActionError("Give the account to unlink with credential-id=<provider:subject>")
    identity_id = resolve_identity_id(client, params)
    identifiers = _oidc_identifiers(_fetch(client, identity_id, ["oidc"]))
    if credential_id not in identifiers:
        linked = ", ".join(identifiers) or "none"
        raise ActionError(f"Identity {identity_id} has no linked account {credential_id} (linked: {linked})")
    try:
        client.delete_credential(identity_id, "oidc", credential_id)
    except AdminAPIError as e:
        raise ActionError(f"Cannot unlink the account: {e}") from None
    return {"identity-id": identity_id, "unlinked": credential_id}
