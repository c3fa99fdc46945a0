"""Requests whose answers are compared with what upstream Ory Kratos v26.2.0 answered to the same ones.

``record_upstream.py`` (next to this file) ran them against upstream and stored the normalised answers in
``data/upstream/``; ``test_upstream_parity.py`` runs them against this server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
from kratos_process import FLOW_OVERRIDES

PASSWORD = "a-Long-passphrase-42"
Step = tuple[str, httpx.Response]

_NORMALISE = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"), "<time>"),
    (re.compile(r"ory_(st|lo)_[A-Za-z0-9]+"), r"ory_\1_<token>"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
]


def normalise(value: Any) -> Any:
    """Ids, times, tokens, ports and CSRF values replaced by placeholders; devices' addresses dropped."""
    if isinstance(value, dict):
        out = {key: normalise(item) for key, item in value.items()}
        if out.get("name") == "csrf_token" and out.get("value"):
            out["value"] = "<csrf>"
        return out
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, str):
        for pattern, replacement in _NORMALISE:
            value = pattern.sub(replacement, value)
    return value


def answer(label: str, response: httpx.Response) -> dict[str, Any]:
    """What is compared of one answer: status and JSON body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    return {"step": label, "status": response.status_code, "body": normalise(body)}


def _register(c: httpx.Client, email: str) -> httpx.Response:
    flow = c.get("/self-service/registration/api").json()
    return c.post(
        "/self-service/registration",
        params={"flow": flow["id"]},
        json={"method": "password", "password": PASSWORD, "traits": {"email": email}},
    )


def registration(c: httpx.Client) -> list[Step]:
    """Two-step registration: the traits, the credentials screen, errors and success."""
    steps: list[Step] = []
    flow = c.get("/self-service/registration/api")
    steps.append(("init", flow))
    flow_id = flow.json()["id"]
    url = "/self-service/registration"
    steps.append(
        (
            "profile",
            c.post(url, params={"flow": flow_id}, json={"method": "profile", "traits": {"email": "a@b.co"}}),
        )
    )
    steps.append(
        (
            "back",
            c.post(url, params={"flow": flow_id}, json={"screen": "previous", "traits": {"email": "a@b.co"}}),
        )
    )
    steps.append(
        (
            "bad-traits",
            c.post(url, params={"flow": flow_id}, json={"method": "profile", "traits": {"email": "nope"}}),
        )
    )
    other = c.get("/self-service/registration/api").json()["id"]
    steps.append(
        (
            "short-password",
            c.post(
                url,
                params={"flow": other},
                json={"method": "password", "password": "x", "traits": {"email": "b@b.co"}},
            ),
        )
    )
    steps.append(("done", _register(c, "a@b.co")))
    steps.append(("duplicate", _register(c, "a@b.co")))
    return steps


def login(c: httpx.Client) -> list[Step]:
    """Unified login: the form, wrong and unknown credentials, and a refresh."""
    _register(c, "l@b.co")
    steps: list[Step] = []
    flow = c.get("/self-service/login/api")
    steps.append(("init", flow))
    flow_id = flow.json()["id"]
    for label, identifier, password in (
        ("wrong", "l@b.co", "nope-nope-nope"),
        ("unknown", "x@b.co", PASSWORD),
        ("missing", "", ""),
    ):
        steps.append(
            (
                label,
                c.post(
                    "/self-service/login",
                    params={"flow": flow_id},
                    json={"method": "password", "identifier": identifier, "password": password},
                ),
            )
        )
    done = c.post(
        "/self-service/login",
        params={"flow": flow_id},
        json={"method": "password", "identifier": "l@b.co", "password": PASSWORD},
    )
    steps.append(("done", done))
    token = done.json()["session_token"]
    steps.append(("whoami", c.get("/sessions/whoami", headers={"X-Session-Token": token})))
    steps.append(("again", c.get("/self-service/login/api", headers={"X-Session-Token": token})))
    steps.append(
        (
            "refresh",
            c.get("/self-service/login/api", params={"refresh": "true"}, headers={"X-Session-Token": token}),
        )
    )
    return steps


def settings(c: httpx.Client) -> list[Step]:
    """Settings: the form, a profile change, a refused and an accepted password."""
    token = _register(c, "s@b.co").json()["session_token"]
    headers = {"X-Session-Token": token}
    steps: list[Step] = []
    flow = c.get("/self-service/settings/api", headers=headers)
    steps.append(("init", flow))
    flow_id = flow.json()["id"]
    url = "/self-service/settings"
    steps.append(
        (
            "profile",
            c.post(
                url,
                params={"flow": flow_id},
                headers=headers,
                json={"method": "profile", "traits": {"email": "t@b.co"}},
            ),
        )
    )
    steps.append(
        (
            "short",
            c.post(
                url,
                params={"flow": flow_id},
                headers=headers,
                json={"method": "password", "password": "short"},
            ),
        )
    )
    steps.append(
        (
            "password",
            c.post(
                url,
                params={"flow": flow_id},
                headers=headers,
                json={"method": "password", "password": "another-Long-pass-99"},
            ),
        )
    )
    return steps


CASES: dict[str, Callable[[httpx.Client], list[Step]]] = {
    "registration": registration,
    "login": login,
    "settings": settings,
}


def overrides(data_dir: str) -> dict[str, Any]:
    """The config both servers run with (the schema path filled in)."""
    schema = {"id": "default", "url": f"file://{data_dir}/identity.email.schema.json"}
    return {**FLOW_OVERRIDES, "identity": {"default_schema_id": "default", "schemas": [schema]}}


def run(name: str, public_url: str) -> list[dict[str, Any]]:
    """Run case ``name`` against a server; a fresh cookie-less client per request, as an app."""
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    with httpx.Client(base_url=public_url, timeout=30, cookies=no_cookies) as client:
        return [answer(label, response) for label, response in CASES[name](client)]
