"""A tiny in-memory Kratos admin API served on loopback, for the action tests."""

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class FakeKratos:
    """Identities, sessions and recovery codes, with Kratos's status codes and error JSON."""

    def __init__(self) -> None:
        self.identities: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, int] = {}
        self.passwords: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        handler = type("Handler", (_Handler,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> "FakeKratos":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_identity(self, email: str, *, oidc: list[str] | None = None, mfa: list[str] | None = None) -> str:
        identity_id = str(uuid.uuid4())
        credentials: dict[str, Any] = {"password": {"type": "password", "identifiers": [email]}}
        if oidc:
            credentials["oidc"] = {"type": "oidc", "identifiers": list(oidc)}
        for kind in mfa or []:
            credentials[kind] = {"type": kind, "identifiers": [identity_id]}
        self.identities[identity_id] = {
            "id": identity_id,
            "schema_id": "social_user_v0",
            "state": "active",
            "traits": {"email": email, "given_name": "Ada"},
            "metadata_public": None,
            "credentials": credentials,
        }
        self.sessions[identity_id] = 2
        return identity_id

    def find(self, identifier: str) -> list[dict[str, Any]]:
        return [
            i
            for i in self.identities.values()
            if any(identifier in c.get("identifiers", []) for c in i["credentials"].values())
            or i["traits"].get("email") == identifier
        ]


def _public(identity: dict[str, Any], include: list[str]) -> dict[str, Any]:
    """The identity as the API shows it: OIDC credentials only when asked for."""
    credentials = {k: v for k, v in identity["credentials"].items() if k != "oidc" or "oidc" in include}
    return {**identity, "credentials": credentials}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeKratos

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any = None) -> None:
        raw = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _error(self, status: int, message: str, reason: str = "") -> None:
        self._send(
            status, {"error": {"code": status, "status": "error", "message": message, "reason": reason}}
        )

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _route(self, method: str) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        self.fake.requests.append((method, self.path))
        fake = self.fake
        if parts[:2] == ["admin", "identities"] and len(parts) == 2:
            if method == "GET":
                identifier = query.get("credentials_identifier", [""])[0]
                found = fake.find(identifier) if identifier else list(fake.identities.values())
                return self._send(200, [_public(i, []) for i in found])
            body = self._body()
            email = body.get("traits", {}).get("email", "")
            if body.get("schema_id") != "admin_v0" or not body.get("traits", {}).get("username"):
                return self._error(
                    400, "The request was malformed or contained invalid parameters", "bad traits"
                )
            if fake.find(email):
                return self._error(409, "The resource could not be created due to a conflict")
            identity_id = fake.add_identity(email)
            fake.identities[identity_id].update(schema_id="admin_v0", traits=body["traits"])
            if password := body.get("credentials", {}).get("password", {}).get("config", {}).get("password"):
                fake.passwords[identity_id] = password
            return self._send(201, _public(fake.identities[identity_id], []))
        if parts[:2] == ["admin", "recovery"] and method == "POST":
            body = self._body()
            if body.get("identity_id") not in fake.identities:
                return self._error(404, "The requested resource could not be found")
            return self._send(
                201,
                {
                    "recovery_link": f"http://kratos/self-service/recovery?flow={uuid.uuid4()}",
                    "recovery_code": "123456",
                    "expires_at": "2030-01-01T00:00:00Z",
                },
            )
        if parts[:2] == ["admin", "identities"] and len(parts) >= 3:
            identity = fake.identities.get(parts[2])
            if identity is None:
                return self._error(404, "Unable to locate the resource")
            if len(parts) == 3 and method == "GET":
                return self._send(200, _public(identity, query.get("include_credential", [])))
            if len(parts) == 3 and method == "DELETE":
                del fake.identities[parts[2]]
                return self._send(204)
            if len(parts) == 3 and method == "PUT":
                body = self._body()
                if "state" not in body or "traits" not in body:
                    return self._error(400, "The request was malformed or contained invalid parameters")
                identity.update(traits=body["traits"], state=body["state"])
                if (
                    password := body.get("credentials", {})
                    .get("password", {})
                    .get("config", {})
                    .get("password")
                ):
                    fake.passwords[parts[2]] = password
                return self._send(200, _public(identity, []))
            if parts[3:] == ["sessions"] and method == "DELETE":
                fake.sessions[parts[2]] = 0
                return self._send(204)
            if parts[3:4] == ["credentials"] and method == "DELETE":
                kind = parts[4]
                if kind not in identity["credentials"]:
                    return self._error(404, "Unable to locate the resource")
                if identifier := query.get("identifier", [None])[0]:
                    identity["credentials"][kind]["identifiers"].remove(identifier)
                else:
                    del identity["credentials"][kind]
                return self._send(204)
        return self._error(404, "Unable to locate the resource")

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_DELETE(self) -> None:
        self._route("DELETE")
