"""Which of an identity's credentials sign it in on their own (first factors), counted as upstream does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kratos.identity.model import Credentials, CredentialsType


def count_first_factors(
    credentials: Mapping[str, Credentials],
    *,
    password_migration_hook: bool = False,
    code_passwordless: bool = False,
) -> int:
    """How many first-factor credentials are usable.

    They are: a password with a hash (or the migration hook), each social sign-in link outside an
    organization, each passwordless security key and passkey, and one-time codes when those sign in alone.
    """
    count = 1 if code_passwordless else 0
    for credential in credentials.values():
        config: Any = credential.config if isinstance(credential.config, dict) else {}
        named = "".join(credential.identifiers) != ""
        if credential.type == CredentialsType.PASSWORD:
            usable = bool(config.get("hashed_password")) or (
                password_migration_hook and bool(config.get("use_password_migration_hook"))
            )
            count += named and usable
        elif credential.type == CredentialsType.OIDC:
            count += _social_links(credential, config)
        elif credential.type == CredentialsType.WEBAUTHN and named:
            count += sum(1 for key in config.get("credentials") or () if key.get("is_passwordless"))
        elif credential.type == CredentialsType.PASSKEY and named:
            count += len(config.get("credentials") or ())
    return count


def _social_links(credential: Credentials, config: Mapping[str, Any]) -> int:
    providers = [
        p for p in config.get("providers") or () if isinstance(p, dict) and not p.get("organization")
    ]
    count = 0
    for identifier in credential.identifiers:
        provider, sep, subject = identifier.partition(":")
        if not sep:
            continue
        count += sum(
            1
            for p in providers
            if p.get("provider") == provider and p.get("subject") == subject and provider and subject
        )
    return count


@dataclass(frozen=True, slots=True)
class AalPolicy:
    """How an identity's highest reachable AAL is counted: only the enabled methods' credentials count."""

    enabled: frozenset[str] = frozenset({CredentialsType.PASSWORD})
    code_passwordless: bool = False
    code_mfa: bool = False
    password_migration_hook: bool = False

    def available(self, credentials: Mapping[str, Credentials]) -> str:
        """``aal2`` with a usable second factor, ``aal1`` with a first factor, else ``aal0``."""
        if self.second_factors(credentials):
            return "aal2"
        enabled = {kind: c for kind, c in credentials.items() if kind in self.enabled}
        first = count_first_factors(
            enabled,
            password_migration_hook=self.password_migration_hook,
            code_passwordless=self.code_passwordless,
        )
        return "aal1" if first else "aal0"

    def second_factors(self, credentials: Mapping[str, Credentials]) -> int:
        """How many second factors of enabled methods are set up (a backup code list counts as one)."""
        count = 0
        for kind, credential in credentials.items():
            if kind not in self.enabled:
                continue
            config: Any = credential.config if isinstance(credential.config, dict) else {}
            if kind == CredentialsType.TOTP:
                count += str(config.get("totp_url") or "").startswith("otpauth://")
            elif kind == CredentialsType.LOOKUP_SECRET:
                count += bool(config.get("recovery_codes"))
            elif kind == CredentialsType.WEBAUTHN:
                count += sum(1 for key in config.get("credentials") or () if not key.get("is_passwordless"))
            elif kind == CredentialsType.CODE and self.code_mfa:
                count += bool(config.get("addresses") or config.get("address_type"))
        return count
