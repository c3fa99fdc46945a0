"""The cookie and cipher secrets: one Juju application secret, created by the leader, read by all units."""

import logging
import secrets

import ops

logger = logging.getLogger(__name__)

SECRET_LABEL = "kratos-secrets"  # noqa: S105 - a label, not a secret
COOKIE_KEY = "cookie"
CIPHER_KEY = "cipher"


def _generate() -> dict[str, str]:
    # The cipher secret must be exactly 32 characters; the cookie secret at least 16.
    return {COOKIE_KEY: secrets.token_hex(16), CIPHER_KEY: secrets.token_hex(16)}


class KratosSecrets:
    """Creates (leader) and reads (every unit) the workload's secrets."""

    def __init__(self, model: ops.Model) -> None:
        self._model = model

    def _secret(self) -> ops.Secret | None:
        try:
            return self._model.get_secret(label=SECRET_LABEL)
        except ops.SecretNotFoundError:
            return None

    def ensure(self) -> None:
        """Create the secret, or complete it with missing keys (leader only)."""
        if not self._model.unit.is_leader():
            return
        if not (secret := self._secret()):
            self._model.app.add_secret(
                _generate(), label=SECRET_LABEL, description="Kratos cookie and cipher secrets"
            )
            logger.info("created the %s secret", SECRET_LABEL)
            return
        content = secret.get_content(refresh=True)
        if missing := {k: v for k, v in _generate().items() if not content.get(k)}:
            secret.set_content({**content, **missing})

    def get(self) -> dict[str, str] | None:
        """Return the secrets' content, or None until the leader created them."""
        if not (secret := self._secret()):
            return None
        content = secret.get_content(refresh=True)
        if not content.get(COOKIE_KEY) or not content.get(CIPHER_KEY):
            return None
        return content
