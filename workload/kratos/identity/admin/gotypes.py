"""The Go types upstream decodes the identity admin API's bodies into, for its decoding errors' texts."""

from __future__ import annotations

import json
from typing import Any

from kratos.http.gojson import GoType

_STRING = GoType("string", "string")
_BOOL = GoType("bool", "bool")
_ANY = GoType("json.RawMessage", "any")


def _uuid_text(raw: str) -> str | None:
    """gofrs/uuid's ``UnmarshalText`` refusal of ``raw``, or None."""
    body = raw
    if len(raw) in (34, 38):
        if not (raw.startswith("{") and raw.endswith("}")):
            return f"uuid: incorrect UUID format in string {json.dumps(raw)}"
        body = raw[1:-1]
    elif len(raw) in (41, 45):
        if not raw.startswith("urn:uuid:"):
            return f"uuid: incorrect UUID format in string {json.dumps(raw[:9])}"
        body = raw[9:]
    elif len(raw) not in (32, 36):
        return f"uuid: incorrect UUID length {len(raw)} in string {json.dumps(raw)}"
    if len(body) == 36:
        if any(body[i] != "-" for i in (8, 13, 18, 23)):
            return f"uuid: incorrect UUID format in string {json.dumps(raw)}"
        body = body.replace("-", "")
    if len(body) != 32 or any(c not in "0123456789abcdefABCDEF" for c in body):
        return "uuid: invalid UUID format"
    return None


def _null_uuid(value: Any) -> str | None:
    """``uuid.NullUUID.UnmarshalJSON``: the raw JSON, quotes stripped, read as a UUID's text."""
    return _uuid_text(value if isinstance(value, str) else json.dumps(value, separators=(",", ":")))


_UUID = GoType("uuid.UUID", "text", parse=_uuid_text)
_NULL_UUID = GoType("uuid.NullUUID", "any", parse=_null_uuid)


def _struct(name: str, **fields: GoType) -> GoType:
    return GoType(f"identity.{name}", "struct", fields=fields)


def _config(name: str, config: GoType) -> GoType:
    return _struct(name, config=config)


_PROVIDER = {"subject": _STRING, "provider": _STRING, "organization": _NULL_UUID}
_CREDENTIALS = GoType(
    "identity.IdentityWithCredentials",
    "struct",
    fields={
        "password": _config(
            "AdminIdentityImportCredentialsPassword",
            _struct(
                "AdminIdentityImportCredentialsPasswordConfig",
                hashed_password=_STRING,
                password=_STRING,
                use_password_migration_hook=_BOOL,
            ),
        ),
        "oidc": _config(
            "AdminIdentityImportCredentialsOIDC",
            _struct(
                "AdminIdentityImportCredentialsOIDCConfig",
                providers=GoType(
                    "[]identity.AdminCreateIdentityImportCredentialsOIDCProvider",
                    "slice",
                    elem=_struct(
                        "AdminCreateIdentityImportCredentialsOIDCProvider", **_PROVIDER, use_auto_link=_BOOL
                    ),
                ),
            ),
        ),
        "saml": _config(
            "AdminIdentityImportCredentialsSAML",
            _struct(
                "AdminIdentityImportCredentialsSAMLConfig",
                providers=GoType(
                    "[]identity.AdminCreateIdentityImportCredentialsSAMLProvider",
                    "slice",
                    elem=_struct("AdminCreateIdentityImportCredentialsSAMLProvider", **_PROVIDER),
                ),
            ),
        ),
        "totp": _config(
            "AdminIdentityImportCredentialsTOTP",
            _struct("AdminIdentityImportCredentialsTOTPConfig", totp_url=_STRING),
        ),
        # Their configs hold WebAuthn keys and recovery codes: their shapes are left to the importer.
        "webauthn": _config("AdminIdentityImportCredentialsWebAuthn", _ANY),
        "passkey": _config("AdminIdentityImportCredentialsPasskey", _ANY),
        "lookup_secret": _config("AdminIdentityImportCredentialsLookupSecret", _ANY),
    },
)
_TIME = GoType("time.Time", "any")  # its parse errors are not reproduced
_VERIFIABLE = _struct(
    "VerifiableAddress",
    id=_UUID,
    value=_STRING,
    verified=_BOOL,
    via=_STRING,
    status=GoType("identity.VerifiableAddressStatus", "string"),
    verified_at=_TIME,
    created_at=_TIME,
    updated_at=_TIME,
)
_RECOVERY = _struct(
    "RecoveryAddress",
    id=_UUID,
    value=_STRING,
    via=_STRING,
    break_glass_for_organization=_NULL_UUID,
    created_at=_TIME,
    updated_at=_TIME,
)
_COMMON = {
    "schema_id": _STRING,
    "traits": _ANY,
    "credentials": _CREDENTIALS,
    "metadata_public": _ANY,
    "metadata_admin": _ANY,
    "state": GoType("identity.State", "string"),
    "external_id": _STRING,
    "region": GoType("region.Region", "string"),
}
CREATE = GoType(
    "identity.CreateIdentityBody",
    "struct",
    fields={
        **_COMMON,
        "verifiable_addresses": GoType("[]identity.VerifiableAddress", "slice", elem=_VERIFIABLE),
        "recovery_addresses": GoType("[]identity.RecoveryAddress", "slice", elem=_RECOVERY),
        "organization_id": _NULL_UUID,
    },
)
UPDATE = GoType("identity.UpdateIdentityBody", "struct", fields=_COMMON)
BATCH = _struct(
    "BatchPatchIdentitiesBody",
    identities=GoType(
        "[]*identity.BatchIdentityPatch",
        "slice",
        elem=_struct("BatchIdentityPatch", create=CREATE, patch_id=_UUID),
    ),
)
JSON_PATCH = GoType(
    "[]identity.patchOp",
    "slice",
    elem=_struct("patchOp", op=_STRING, path=_STRING, **{"from": _STRING}, value=_ANY),
)
