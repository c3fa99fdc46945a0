"""A software WebAuthn authenticator and browser for tests: ES256 keys, real CBOR and real signatures.

:meth:`SoftAuthenticator.create` and :meth:`SoftAuthenticator.get` take the options JSON a node carries
(``{"publicKey": ...}``, or a passkey ``passkey_create_data`` with ``credentialOptions``) and return the
JSON string upstream's ``webauthn.js`` posts. Each key keeps its signature counter; :meth:`clone` copies
the keys with their counters as they are now, so the clone later signs with a counter that went back.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

_UP, _UV, _BE, _BS, _AT = 0x01, 0x04, 0x08, 0x10, 0x40
ES256 = -7


def b64url(data: bytes) -> str:
    """Unpadded base64url, as ``webauthn.js`` encodes buffers."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """Decode unpadded (or padded) base64url."""
    text = text.rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class NotAllowed(Exception):
    """What a browser reports as ``NotAllowedError``/``InvalidStateError``: no key, or an excluded one."""


@dataclass
class SoftKey:
    """One credential the authenticator holds."""

    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    resident: bool
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        """The public key as a COSE EC2 map (kty 2, alg ES256, crv P-256)."""
        numbers = self.private_key.public_key().public_numbers()
        return cbor2.dumps(
            {1: 2, 3: ES256, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )


def _options(options: str | dict[str, Any]) -> dict[str, Any]:
    data = json.loads(options) if isinstance(options, str) else options
    if "credentialOptions" in data:  # passkey registration's passkey_create_data
        data = data["credentialOptions"]
    return data["publicKey"]


def _client_data(kind: str, challenge: str, origin: str) -> bytes:
    body = {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass
class SoftAuthenticator:
    """A platform authenticator: attestation ``none`` or ``packed`` self attestation, ES256 only.

    ``counter_step`` 0 behaves like a synced passkey (always counter 0); ``backup`` sets BE and BS.
    """

    attestation: Literal["none", "packed"] = "none"
    aaguid: bytes = bytes(16)
    counter_step: int = 1
    backup: bool = False
    keys: list[SoftKey] = field(default_factory=list)

    def create(
        self,
        options: str | dict[str, Any],
        origin: str,
        *,
        resident: bool = False,
        user_verified: bool = True,
        user_present: bool = True,
        rp_id: str | None = None,
    ) -> str:
        """``navigator.credentials.create()`` as serialised by ``webauthn.js``."""
        public_key = _options(options)
        rp = rp_id or public_key["rp"]["id"]
        if ES256 not in [p["alg"] for p in public_key.get("pubKeyCredParams", [])]:
            raise NotAllowed("ES256 is not among pubKeyCredParams")
        excluded = {unb64url(c["id"]) for c in public_key.get("excludeCredentials") or []}
        if any(k.credential_id in excluded and k.rp_id == rp for k in self.keys):
            raise NotAllowed("InvalidStateError: the authenticator holds an excluded credential")
        key = SoftKey(
            os.urandom(32),
            ec.generate_private_key(ec.SECP256R1()),
            rp,
            unb64url(public_key["user"]["id"]),
            resident,
        )
        self.keys.append(key)
        client_data = _client_data("webauthn.create", public_key["challenge"], origin)
        attested = (
            self.aaguid
            + len(key.credential_id).to_bytes(2, "big")
            + key.credential_id
            + key.cose_public_key()
        )
        auth_data = self._auth_data(rp, key.sign_count, user_present, user_verified, _AT) + attested
        statement: dict[str, Any] = {}
        if self.attestation == "packed":
            signature = key.private_key.sign(
                auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
            )
            statement = {"alg": ES256, "sig": signature}
        attestation_object = cbor2.dumps(
            {"fmt": self.attestation, "attStmt": statement, "authData": auth_data}
        )
        return json.dumps(
            {
                "id": b64url(key.credential_id),
                "rawId": b64url(key.credential_id),
                "type": "public-key",
                "response": {
                    "attestationObject": b64url(attestation_object),
                    "clientDataJSON": b64url(client_data),
                },
            }
        )

    def get(
        self,
        options: str | dict[str, Any],
        origin: str,
        *,
        user_verified: bool = True,
        rp_id: str | None = None,
        credential_id: bytes | None = None,
    ) -> str:
        """``navigator.credentials.get()`` as serialised by ``webauthn.js``; counts the key's use."""
        public_key = _options(options)
        rp = rp_id or public_key["rpId"]
        key = self._choose(public_key, rp, credential_id)
        key.sign_count += self.counter_step
        client_data = _client_data("webauthn.get", public_key["challenge"], origin)
        auth_data = self._auth_data(rp, key.sign_count, True, user_verified, 0)
        signature = key.private_key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return json.dumps(
            {
                "id": b64url(key.credential_id),
                "rawId": b64url(key.credential_id),
                "type": "public-key",
                "response": {
                    "authenticatorData": b64url(auth_data),
                    "clientDataJSON": b64url(client_data),
                    "signature": b64url(signature),
                    "userHandle": b64url(key.user_handle) if key.resident else "",
                },
            }
        )

    def clone(self) -> SoftAuthenticator:
        """A copy holding the same private keys with today's counters (a cloned authenticator)."""
        return replace(self, keys=[replace(k) for k in self.keys])

    def _choose(self, public_key: dict[str, Any], rp: str, wanted: bytes | None) -> SoftKey:
        allowed = [unb64url(c["id"]) for c in public_key.get("allowCredentials") or []]
        if allowed:
            candidates = [k for k in self.keys if k.credential_id in allowed and k.rp_id == rp]
        else:  # discoverable: the passkeys this authenticator keeps for the RP id
            candidates = [k for k in self.keys if k.resident and k.rp_id == rp]
        if wanted is not None:
            candidates = [k for k in candidates if k.credential_id == wanted]
        if not candidates:
            raise NotAllowed("NotAllowedError: no credential for this request")
        return candidates[0]

    def _auth_data(self, rp: str, count: int, present: bool, verified: bool, extra: int) -> bytes:
        flags = (
            extra | (_UP if present else 0) | (_UV if verified else 0) | ((_BE | _BS) if self.backup else 0)
        )
        return hashlib.sha256(rp.encode()).digest() + bytes([flags]) + count.to_bytes(4, "big")


def corrupt_signature(response: str) -> str:
    """The same assertion with one bit of its signature flipped."""
    data = json.loads(response)
    signature = bytearray(unb64url(data["response"]["signature"]))
    signature[-1] ^= 0x01
    data["response"]["signature"] = b64url(bytes(signature))
    return json.dumps(data)


def with_field(response: str, path: str, value: Any) -> str:
    """The response JSON with ``path`` (dot separated, e.g. ``response.userHandle``) set to ``value``."""
    data = json.loads(response)
    *parents, last = path.split(".")
    target = data
    for name in parents:
        target = target[name]
    if value is None:
        target.pop(last, None)
    else:
        target[last] = value
    return json.dumps(data)
