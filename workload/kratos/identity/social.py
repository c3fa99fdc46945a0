"""Social sign-in links of an identity: the ``oidc`` credential's providers and identifiers."""

from __future__ import annotations

from dataclasses import dataclass

from kratos.identity.model import Credentials, CredentialsType, Identity


@dataclass(frozen=True, slots=True)
class SocialLink:
    """One provider account linked to an identity; tokens are stored encrypted (hex, by the cipher)."""

    provider: str
    subject: str
    id_token: str = ""
    access_token: str = ""
    refresh_token: str = ""
    organization: str = ""

    @property
    def identifier(self) -> str:
        """The credential identifier upstream uses: ``<provider>:<subject>``."""
        return social_identifier(self.provider, self.subject)

    def to_config(self) -> dict[str, str]:
        """The entry of ``credentials.oidc.config.providers``."""
        entry = {
            "subject": self.subject,
            "provider": self.provider,
            "initial_id_token": self.id_token,
            "initial_access_token": self.access_token,
            "initial_refresh_token": self.refresh_token,
        }
        if self.organization:
            entry["organization"] = self.organization
        return entry

    @classmethod
    def from_config(cls, entry: dict[str, str]) -> SocialLink:
        """A link read back from a credential's config."""
        return cls(
            provider=str(entry.get("provider", "")),
            subject=str(entry.get("subject", "")),
            id_token=str(entry.get("initial_id_token", "")),
            access_token=str(entry.get("initial_access_token", "")),
            refresh_token=str(entry.get("initial_refresh_token", "")),
            organization=str(entry.get("organization", "")),
        )


def social_identifier(provider: str, subject: str) -> str:
    """``<provider>:<subject>``."""
    return f"{provider}:{subject}"


def links(identity: Identity) -> list[SocialLink]:
    """The identity's linked provider accounts."""
    credential = identity.credentials.get(CredentialsType.OIDC)
    entries = (credential.config or {}).get("providers") if credential else None
    return [SocialLink.from_config(entry) for entry in entries or () if isinstance(entry, dict)]


def add_link(identity: Identity, link: SocialLink) -> None:
    """Link a provider account (replacing an earlier link to the same account)."""
    kept = [existing for existing in links(identity) if existing.identifier != link.identifier]
    _store(identity, [*kept, link])


def remove_link(identity: Identity, provider: str) -> bool:
    """Unlink every account of ``provider``; whether there was one."""
    current = links(identity)
    kept = [link for link in current if link.provider != provider]
    if len(kept) == len(current):
        return False
    _store(identity, kept)
    return True


def _store(identity: Identity, kept: list[SocialLink]) -> None:
    if not kept:
        identity.credentials.pop(CredentialsType.OIDC, None)
        return
    credential = identity.credentials.get(CredentialsType.OIDC)
    if credential is None:
        credential = identity.credentials[CredentialsType.OIDC] = Credentials(
            type=CredentialsType.OIDC, identifiers=[], config={}
        )
    credential.identifiers = [link.identifier for link in kept]
    credential.config = {"providers": [link.to_config() for link in kept]}


def owns_identifier(identity: Identity, identifier: str) -> bool:
    """Whether ``identifier`` is one of the identity's credential identifiers (as upstream checks)."""
    return any(identifier in credential.identifiers for credential in identity.credentials.values())
