"""A cookie-keeping browser for the security key and passkey tests, and the server config they share.

:class:`Browser` walks self-service flows as a page does: it starts a flow (303 to the UI), reads it,
and posts the form (``webauthn.js`` submits forms without a ``method``, so neither do the tests).
"""

from __future__ import annotations

from typing import Any

import httpx
from kratos_process import DATA, FLOW_OVERRIDES, UI, KratosProcess, merged

ORIGIN = "http://localhost:4455"
PASSWORD = "a-Long-passphrase-42"
_RP = {"id": "localhost", "display_name": "Example Corp", "origins": [ORIGIN]}


def key_config(
    *, passwordless: bool = False, passkey: bool = False, style: str = "unified"
) -> dict[str, Any]:
    """Security keys (second factors, or ``passwordless``), maybe passkeys; sessions after sign-up."""
    methods: dict[str, Any] = {
        "webauthn": {"enabled": True, "config": {"passwordless": passwordless, "rp": _RP}}
    }
    if passkey:
        methods["passkey"] = {"enabled": True, "config": {"rp": _RP}}
    session = {"hooks": [{"hook": "session"}]}
    return merged(
        FLOW_OVERRIDES,
        {
            "identity": {
                "default_schema_id": "keys",
                "schemas": [{"id": "keys", "url": (DATA / "identity.webauthn.schema.json").as_uri()}],
            },
            "selfservice": {
                "methods": methods,
                "flows": {
                    "login": {"style": style},
                    "registration": {"after": {"webauthn": session, "passkey": session}},
                },
            },
        },
    )


def node(flow: dict[str, Any], name: str) -> dict[str, Any]:
    """The flow's node named (or with the id) ``name``."""
    found = [
        n for n in flow["ui"]["nodes"] or () if n["attributes"].get("name", n["attributes"].get("id")) == name
    ]
    assert found, f"no node {name} in {names(flow)}"
    return found[0]


def names(flow: dict[str, Any]) -> list[str]:
    """``group:name`` of every node."""
    return [
        f"{n['group']}:{n['attributes'].get('name', n['attributes'].get('id'))}"
        for n in flow["ui"]["nodes"] or ()
    ]


def message_ids(flow: dict[str, Any], field: str | None = None) -> list[int]:
    """The ids of the flow's messages, or of the messages on ``field``."""
    messages = node(flow, field)["messages"] if field else flow["ui"].get("messages", [])
    return [m["id"] for m in messages]


class Browser:
    """One browser: its cookies, the flows it opens and the forms it posts."""

    def __init__(self, server: KratosProcess) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.public_url, timeout=30)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def start(self, kind: str, **params: str) -> dict[str, Any]:
        """Open a ``kind`` flow as a link to ``/self-service/<kind>/browser`` does."""
        started = self.http.get(f"/self-service/{kind}/browser", params=params)
        assert started.status_code == 303, started.text
        return self.shown(kind, started)

    def shown(self, kind: str, response: httpx.Response) -> dict[str, Any]:
        """The flow a redirect to the UI shows (302 for registration forms, as upstream; else 303)."""
        assert response.status_code in (302, 303), response.text
        location = httpx.URL(response.headers["location"])
        assert str(location).startswith(UI), location
        flow = self.http.get(f"/self-service/{kind}/flows", params={"id": location.params["flow"]})
        assert flow.status_code == 200, flow.text
        return flow.json()

    def post(self, kind: str, flow: dict[str, Any], fields: dict[str, Any]) -> httpx.Response:
        """Submit the flow's form (URL-encoded, with its CSRF token)."""
        data = {"csrf_token": node(flow, "csrf_token")["attributes"]["value"], **fields}
        return self.http.post(f"/self-service/{kind}", params={"flow": flow["id"]}, data=data)

    def post_json(self, kind: str, flow: dict[str, Any], fields: dict[str, Any]) -> httpx.Response:
        """Submit as a single-page app does (JSON in, JSON out)."""
        body = {"csrf_token": node(flow, "csrf_token")["attributes"]["value"], **fields}
        return self.http.post(
            f"/self-service/{kind}",
            params={"flow": flow["id"]},
            json=body,
            headers={"Accept": "application/json"},
        )

    def whoami(self) -> httpx.Response:
        """``/sessions/whoami`` with this browser's cookie."""
        return self.http.get("/sessions/whoami")

    def password_login(self, address: str) -> httpx.Response:
        """Sign in with the password (both login styles); the answer of the password step."""
        flow = self.start("login")
        if node(flow, "method")["attributes"]["value"] == "identifier_first":
            flow = self.shown(
                "login", self.post("login", flow, {"method": "identifier_first", "identifier": address})
            )
        return self.post("login", flow, {"method": "password", "identifier": address, "password": PASSWORD})


def create_identity(server: KratosProcess, address: str, *, password: bool = True) -> str:
    """An identity made by an administrator (with a password unless told otherwise); its id."""
    body: dict[str, Any] = {"schema_id": "keys", "traits": {"email": address}}
    if password:
        body["credentials"] = {"password": {"config": {"password": PASSWORD}}}
    created = httpx.post(f"{server.admin_url}/admin/identities", json=body, timeout=30)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def stored(server: KratosProcess, identity_id: str, kind: str) -> dict[str, Any] | None:
    """The identity's ``kind`` credential as the admin API shows it (None without one)."""
    found = httpx.get(
        f"{server.admin_url}/admin/identities/{identity_id}", params={"include_credential": kind}, timeout=30
    )
    assert found.status_code == 200, found.text
    return found.json().get("credentials", {}).get(kind)
