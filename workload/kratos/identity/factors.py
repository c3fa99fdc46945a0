"""Which of an identity's credentials sign it in on their own (first factors), counted as upstream does."""

from __future__ import annotations

from collections.abc import Mapping
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
