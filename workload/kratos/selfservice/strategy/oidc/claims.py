"""What a provider says about its user, in upstream's ``Claims`` shape (what Jsonnet mappers read)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

_STRINGS = (
    *("iss", "sub", "oid", "name", "given_name", "family_name", "last_name", "middle_name", "nickname"),
    *("preferred_username", "profile", "picture", "website", "email", "gender", "birthdate", "zoneinfo"),
    *("locale", "phone_number", "hd", "team", "nonce"),
)


@dataclass(slots=True)
class Claims:
    """The standard claims plus ``raw_claims`` (everything the provider sent)."""

    sub: str = ""
    iss: str = ""
    oid: str = ""
    name: str = ""
    given_name: str = ""
    family_name: str = ""
    last_name: str = ""
    middle_name: str = ""
    nickname: str = ""
    preferred_username: str = ""
    profile: str = ""
    picture: str = ""
    website: str = ""
    email: str = ""
    email_verified: bool = False
    gender: str = ""
    birthdate: str = ""
    zoneinfo: str = ""
    locale: str = ""
    phone_number: str = ""
    phone_number_verified: bool = False
    updated_at: int = 0
    hd: str = ""
    team: str = ""
    nonce: str = ""
    nonce_supported: bool = False  # Apple: whether the device could send a nonce
    raw_claims: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> Claims:
        """Claims from a decoded id_token or userinfo document (strings coerced, booleans as Apple sends)."""
        claims = cls(raw_claims=dict(raw))
        for name in _STRINGS:
            value = raw.get(name)
            if name == "locale" and isinstance(value, dict):  # LinkedIn: {language, country}
                value = "-".join(part for part in (value.get("language"), value.get("country")) if part)
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                setattr(claims, name, str(value))
        claims.email_verified = _boolean(raw.get("email_verified"))
        claims.phone_number_verified = _boolean(raw.get("phone_number_verified"))
        claims.nonce_supported = raw.get("nonce_supported") is True
        updated = raw.get("updated_at")
        if isinstance(updated, (int, float)) and not isinstance(updated, bool):
            claims.updated_at = int(updated)
        return claims

    def to_json(self) -> dict[str, Any]:
        """The JSON a mapper gets as ``std.extVar('claims')``: empty values left out, as upstream."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def _boolean(value: Any) -> bool:
    """``true`` or the string ``"true"`` (Apple sends ``email_verified`` as a string)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")
