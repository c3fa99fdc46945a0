"""Web hooks from the webhook relations, run by the real workload started from the charm's rendered config.

A registration and a login through the public API call a real HTTP server on loopback with the bodies,
methods and credentials the providers asked for; a parsing hook's answer changes the stored identity.
"""

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kratos", reason="the workload package is installed by `tox -e unit`")
from live_kratos import LiveKratos  # after the skip: it renders with the workload's deps

from integrations.webhooks import (
    FlowWebhooks,
    LoginWebhookData,
    RegistrationWebhookData,
    Webhook,
    Webhooks,
)

EMAIL = "grace@example.com"
PASSWORD = "correct-Horse-battery-9"


def jsonnet(source: str) -> str:
    return "base64://" + base64.b64encode(source.encode()).decode()


class Recorder(BaseHTTPRequestHandler):
    """Records each request; `/vet` answers as a parsing hook that changes the identity."""

    calls: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"] or 0)) or b"null")
        Recorder.calls.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.path == "/vet":
            answer = json.dumps({"identity": {"metadata_public": {"vetted_by": "hooks"}}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            return
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hook_server() -> Iterator[str]:
    Recorder.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def webhooks(base: str) -> Webhooks:
    """The hooks as the charm reads them from three provider databags and two secrets."""
    vet = RegistrationWebhookData.model_validate(
        {
            "url": f"{base}/vet",
            "body": jsonnet("function(ctx) { email: ctx.identity.traits.email }"),
            "method": "POST",
            "response_parse": "True",
            "methods": '["password"]',
        }
    )
    notify = RegistrationWebhookData.model_validate(
        {
            "url": f"{base}/registered",
            "method": "POST",
            "weight": "1",
            "auth_type": "basic_auth",
            "auth_config_name": "kratos",
            "auth_config_value_secret": "secret:1",
            "body": jsonnet("function(ctx) { id: ctx.identity.id, flow: ctx.flow.type }"),
        }
    )
    audit = LoginWebhookData.model_validate(
        {
            "url": f"{base}/login",
            "method": "POST",
            "auth_config_name": "X-Api-Key",
            "auth_config_value_secret": "secret:2",
            "body": jsonnet("function(ctx) { session: ctx.session.id }"),
        }
    )
    return Webhooks(
        registration=FlowWebhooks((Webhook(vet), Webhook(notify, "pa55"))),
        login=FlowWebhooks((Webhook(audit, "k3y"),)),
    )


def test_registration_and_login_call_the_providers_hooks(tmp_path: Path, hook_server: str) -> None:
    with LiveKratos(tmp_path, {"enforce_mfa": False}, webhooks=webhooks(hook_server)) as kratos:
        traits = {"email": EMAIL, "given_name": "Grace"}
        signed_up = kratos.submit(
            "registration", None, {"method": "password", "password": PASSWORD, "traits": traits}
        )
        assert signed_up.status_code == 200, signed_up.text
        identity = signed_up.json()["identity"]
        assert identity["metadata_public"] == {"vetted_by": "hooks"}  # the parsing hook's answer was stored

        logged_in = kratos.submit(
            "login", None, {"method": "password", "identifier": EMAIL, "password": PASSWORD}
        )
        assert logged_in.status_code == 200, logged_in.text
        session = logged_in.json()["session"]

    calls = {call["path"]: call for call in Recorder.calls}
    assert list(calls) == ["/vet", "/registered", "/login"]
    assert calls["/vet"]["body"] == {"email": EMAIL}
    assert calls["/registered"]["body"] == {"id": identity["id"], "flow": "api"}
    assert (
        calls["/registered"]["headers"]["Authorization"]
        == "Basic " + base64.b64encode(b"kratos:pa55").decode()
    )
    assert calls["/login"]["body"] == {"session": session["id"]}
    assert calls["/login"]["headers"]["X-Api-Key"] == "k3y"
