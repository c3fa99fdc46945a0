"""The OAuth2 ``state`` of a social sign-in, and the continuity cookie that binds it to one browser.

The state names the flow, its kind and the provider, plus a random token, sealed with the cipher as
upstream seals its state. The flow keeps a digest of the token and the PKCE verifier and nonce (so they
never travel); the browser keeps ``ory_kratos_continuity``, an HMAC of the state under the cookie secrets.
A callback is taken only when all three agree: a state from another browser, a forged or replayed one is
refused before any code is redeemed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from kratos.hash.cipher import Cipher, CipherError
from kratos.http.errors import BadRequest
from kratos.selfservice.flow.model import Flow, Kind

CONTINUITY_COOKIE = "ory_kratos_continuity"
FLOW_KEY = "oidc"  # flow.internal[FLOW_KEY]: the pending sign-in

REFUSAL_PREFIX = "Unable to complete OpenID Connect flow because "


class CallbackRefused(BadRequest):
    """A callback that cannot be tied to a flow of this browser (400, as upstream)."""

    def __init__(self, reason: str, error_message: str | None = None) -> None:
        super().__init__(reason, message=error_message)


def missing_state() -> CallbackRefused:
    """The provider sent no ``state``."""
    return CallbackRefused(REFUSAL_PREFIX + "the OpenID Provider did not return the state query parameter.")


def invalid_state() -> CallbackRefused:
    """A ``state`` we did not seal."""
    return CallbackRefused(REFUSAL_PREFIX + "the state parameter is invalid.")


def not_resumable() -> CallbackRefused:
    """No continuity cookie: the callback reached another browser."""
    return CallbackRefused(
        "The browser does not contain the necessary cookie to resume the session. This is a security "
        "violation and was blocked. Please clear your browser's cookies and cache and try again!",
        "no resumable session found",
    )


def cookie_mismatch() -> CallbackRefused:
    """The continuity cookie belongs to another sign-in."""
    return CallbackRefused(
        REFUSAL_PREFIX
        + "the query state parameter does not match the state parameter from the session cookie."
    )


@dataclass(frozen=True, slots=True)
class State:
    """What the sealed state says."""

    flow_id: uuid.UUID
    kind: Kind
    provider: str
    token: str


@dataclass(slots=True)
class PendingSignIn:
    """What the flow remembers while the browser is at the provider."""

    provider: str
    token_digest: str
    code_verifier: str | None
    nonce: str
    traits: Any = None
    transient_payload: Any = None

    def to_storage(self) -> dict[str, Any]:
        """For ``flow.internal``."""
        return {
            "provider": self.provider,
            "token_digest": self.token_digest,
            "code_verifier": self.code_verifier,
            "nonce": self.nonce,
            "traits": self.traits,
            "transient_payload": self.transient_payload,
        }

    @classmethod
    def of(cls, flow: Flow) -> PendingSignIn | None:
        """The flow's pending sign-in, if it has one."""
        stored = flow.internal.get(FLOW_KEY)
        if not isinstance(stored, dict):
            return None
        return cls(
            provider=stored["provider"],
            token_digest=stored["token_digest"],
            code_verifier=stored.get("code_verifier"),
            nonce=stored["nonce"],
            traits=stored.get("traits"),
            transient_payload=stored.get("transient_payload"),
        )


class StateSealer:
    """Seals states with the cipher and signs continuity cookies with the cookie secrets."""

    def __init__(self, cipher: Cipher, cookie_secrets: list[str]) -> None:
        self.cipher = cipher
        self.keys = [secret.encode() for secret in cookie_secrets]

    def begin(
        self, flow: Flow, provider: str, *, code_verifier: str | None, traits: Any = None
    ) -> tuple[str, PendingSignIn]:
        """A new state for ``flow`` and what the flow must keep of it."""
        token = secrets.token_urlsafe(32)
        sealed = {"f": str(flow.id), "k": flow.kind.value, "p": provider, "t": token}
        state = self.cipher.encrypt(orjson.dumps(sealed))
        pending = PendingSignIn(
            provider=provider,
            token_digest=_digest(token),
            code_verifier=code_verifier,
            nonce=secrets.token_urlsafe(24),
            traits=traits,
            transient_payload=flow.transient_payload,
        )
        return state, pending

    def open(self, state: str) -> State:
        """What a returned ``state`` says; :func:`invalid_state` when we did not seal it."""
        try:
            sealed = orjson.loads(self.cipher.decrypt(state))
            return State(uuid.UUID(sealed["f"]), Kind(sealed["k"]), str(sealed["p"]), str(sealed["t"]))
        except (CipherError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise invalid_state() from None

    def check(
        self,
        state_param: str,
        state: State,
        pending: PendingSignIn | None,
        cookie: str | None,
        *,
        cookie_required: bool = True,
    ) -> None:
        """Refuse a callback whose browser or flow does not belong to ``state``.

        An app's flow with a session token exchange is completed in a browser that never saw the flow: there
        the state's token alone binds the callback (the session goes only to the holder of the init code).
        """
        if cookie_required or cookie:
            if not cookie:
                raise not_resumable()
            if not any(hmac.compare_digest(cookie, self._sign(key, state_param)) for key in self.keys):
                raise cookie_mismatch()
        if pending is None or not hmac.compare_digest(pending.token_digest, _digest(state.token)):
            raise cookie_mismatch()  # the flow started another sign-in since, or this one was used

    def cookie_value(self, state: str) -> str:
        """The continuity cookie for ``state`` (signed with the first cookie secret)."""
        return self._sign(self.keys[0], state)

    @staticmethod
    def _sign(key: bytes, state: str) -> str:
        mac = hmac.new(key, b"oidc-continuity\x00" + state.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
