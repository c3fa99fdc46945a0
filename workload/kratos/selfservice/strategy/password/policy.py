"""The password policy: length, similarity to the identifiers and known breaches (haveibeenpwned)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from difflib import SequenceMatcher

import httpx

from kratos.config.selfservice import PasswordConfig
from kratos.ui.text import Message, message

log = logging.getLogger(__name__)
MAX_PASSWORD_BYTES = 72  # bcrypt's limit; upstream refuses longer passwords for every hasher
HIBP_TIMEOUT = httpx.Timeout(3.0, connect=1.0)


class PasswordPolicy:
    """Checks a new password; :meth:`problem` names the first rule it breaks."""

    def __init__(self, config: PasswordConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.client = client or httpx.AsyncClient(timeout=HIBP_TIMEOUT)

    async def problem(self, password: str, identifiers: Sequence[str]) -> Message | None:
        """The message explaining why ``password`` cannot be used, or None."""
        length = len(password)
        if length < self.config.min_password_length:
            return message(
                4000032,
                f"The password must be at least {self.config.min_password_length} characters long, "
                f"but got {length}.",
                min_length=self.config.min_password_length,
                actual_length=length,
            )
        if len(password.encode()) > MAX_PASSWORD_BYTES:
            return message(
                4000033,
                f"The password must be at most {MAX_PASSWORD_BYTES} characters long, but got {length}.",
                max_length=MAX_PASSWORD_BYTES,
                actual_length=length,
            )
        if self.config.identifier_similarity_check_enabled and any(
            too_similar(identifier, password) for identifier in identifiers
        ):
            return message(4000031)
        if self.config.haveibeenpwned_enabled:
            return await self._breaches(password)
        return None

    async def _breaches(self, password: str) -> Message | None:
        digest = hashlib.sha1(password.encode()).hexdigest().upper()  # noqa: S324 - the API's k-anonymity key
        try:
            count = await self._range_count(digest)
        except (httpx.HTTPError, ValueError) as exc:
            if self.config.ignore_network_errors:
                log.warning("haveibeenpwned did not answer, accepting the password unchecked: %s", exc)
                return None
            reason = "the password could not be checked against data breaches, please try again later"
            return message(4000005, f"The password can not be used because {reason}.", reason=reason)
        if count > self.config.max_breaches:
            return message(4000034, breaches=count)
        return None

    async def _range_count(self, digest: str) -> int:
        url = f"https://{self.config.haveibeenpwned_host}/range/{digest[:5]}"
        response = await self.client.get(url, headers={"Add-Padding": "true"}, timeout=HIBP_TIMEOUT)
        response.raise_for_status()
        for line in response.text.splitlines():
            suffix, _, times = line.strip().partition(":")
            if suffix == digest[5:]:
                return int(times or 0)
        return 0


def too_similar(identifier: str, password: str) -> bool:
    """Whether the password mostly repeats the identifier (or its local part), ignoring case."""
    password = password.lower()
    for candidate in {identifier.lower(), identifier.lower().partition("@")[0]}:
        if len(candidate) < 3:
            continue
        if candidate in password or password in candidate:
            return True
        match = SequenceMatcher(None, candidate, password).find_longest_match()
        if match.size >= 0.5 * len(password):
            return True
    return False
