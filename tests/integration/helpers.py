"""Reach a deployed kratos unit: its actions through Juju, its public and admin APIs over HTTP."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests
from juju.action import Action
from juju.client import client
from juju.unit import Unit
from pytest_operator.plugin import OpsTest

PUBLIC_PORT, ADMIN_PORT = 4433, 4434
TIMEOUT = 30


async def run(unit: Unit, action: str, **params: Any) -> Action:
    """Run an action on the unit and wait for it to end."""
    return await (await unit.run_action(action, **params)).wait()


async def message(ops_test: OpsTest, action: Action) -> str:
    """The message the charm gave with `event.fail` (libjuju's Action does not keep it)."""
    assert ops_test.model
    facade = client.ActionFacade.from_connection(ops_test.model.connection())
    answer = await facade.Actions(entities=[client.Entity(tag=f"action-{action.entity_id}")])
    return answer.results[0].message or ""


async def run_ok(ops_test: OpsTest, unit: Unit, action: str, **params: Any) -> dict[str, Any]:
    """Run an action that must complete; return its results."""
    done = await run(unit, action, **params)
    assert done.status == "completed", f"{action} {done.status}: {await message(ops_test, done)}"
    return done.results


async def run_failed(ops_test: OpsTest, unit: Unit, action: str, **params: Any) -> str:
    """Run an action that must fail; return the message it failed with."""
    done = await run(unit, action, **params)
    assert done.status == "failed", f"{action} {done.status}: {done.results}"
    return await message(ops_test, done)


async def leader(ops_test: OpsTest, app: str) -> Unit:
    """The application's leader unit, as `juju status` says."""
    assert ops_test.model
    for unit in ops_test.model.applications[app].units:
        if await unit.is_leader_from_status():
            return unit
    raise AssertionError(f"{app} has no leader unit")


async def show_unit(ops_test: OpsTest, unit: str) -> dict[str, Any]:
    """`juju show-unit` as JSON: addresses and the remote applications' relation data."""
    code, out, err = await ops_test.juju("show-unit", unit, "--format", "json")
    assert code == 0, err
    return json.loads(out)[unit]


@dataclass(frozen=True)
class Kratos:
    """The public and admin APIs of one unit, at its pod address."""

    public_url: str
    admin_url: str

    @classmethod
    async def of(cls, ops_test: OpsTest, unit: str) -> Kratos:
        """The APIs of `unit` (the pod address must be routable from here, as on MicroK8s)."""
        info = await show_unit(ops_test, unit)
        address = info.get("address") or info.get("public-address")
        assert address, f"{unit} has no address yet: {info}"
        return cls(f"http://{address}:{PUBLIC_PORT}", f"http://{address}:{ADMIN_PORT}")

    def public(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        """A public API call as an app makes it (with a session token, when given)."""
        headers = {"X-Session-Token": token} if token else {}
        return requests.request(method, self.public_url + path, headers=headers, timeout=TIMEOUT, **kwargs)

    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An admin API call."""
        return requests.request(method, self.admin_url + path, timeout=TIMEOUT, **kwargs)

    def login(self, identifier: str, password: str) -> requests.Response:
        """A password login through the public API (an API flow)."""
        return login(self.public_url, identifier, password)

    def credentials(self, identity_id: str) -> dict[str, Any]:
        """The identity's credentials, by type."""
        params = {"include_credential": ["totp", "password", "oidc"]}
        shown = self.admin("GET", f"/admin/identities/{identity_id}", params=params)
        assert shown.status_code == 200, shown.text
        return shown.json().get("credentials") or {}


def login(public_url: str, identifier: str, password: str) -> requests.Response:
    """A password login through the public API at `public_url` (an API flow)."""
    flow = requests.get(f"{public_url}/self-service/login/api", timeout=TIMEOUT)
    assert flow.status_code == 200, flow.text
    body = {"method": "password", "identifier": identifier, "password": password}
    return requests.post(
        f"{public_url}/self-service/login", params={"flow": flow.json()["id"]}, json=body, timeout=TIMEOUT
    )


async def route_url(ops_test: OpsTest, unit: str, endpoint: str) -> str:
    """The URL Traefik published on the unit's `endpoint` relation (`scheme://external_host`)."""
    info = await show_unit(ops_test, unit)
    for relation in info.get("relation-info", []):
        if relation["endpoint"] == endpoint:
            data = relation.get("application-data") or {}
            if data.get("external_host"):
                return f"{data.get('scheme') or 'http'}://{data['external_host']}"
    raise AssertionError(f"{unit} has no {endpoint} relation with an external_host")
