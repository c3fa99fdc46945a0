"""`list-oidc-accounts` and `unlink-oidc-account` on a link made for real.

The workload runs with the config the charm renders for a kratos-external-idp provider; a browser signs up
through a real OpenID provider on loopback (the workload tests' authlib server), and the actions then list
and remove that link.
"""

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from ops import testing
from test_actions import running_state

from charm import KratosCharm
from integrations.identity import ExternalProvider

pytest.importorskip("flask", reason="the workload's test extras are installed by `tox -e unit`")
pytest.importorskip("kratos", reason="the workload package is installed by `tox -e unit`")
from live_kratos import LiveKratos

sys.path.insert(0, str(Path(__file__).parents[2] / "workload" / "tests"))
from oidc_provider import OpenIdProvider

EMAIL = "grace@example.com"
CLIENT_ID, CLIENT_SECRET = "charm-client", "charm-secret"


@pytest.fixture
def provider() -> Iterator[OpenIdProvider]:
    with OpenIdProvider() as running:
        running.user = {"sub": "grace-1", "email": EMAIL, "email_verified": True, "name": "Grace"}
        yield running


@pytest.fixture
def kratos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider: OpenIdProvider) -> Iterator[LiveKratos]:
    idp = ExternalProvider(
        provider="generic",
        id="sso",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        issuer_url=provider.issuer,
    )
    options = {"enforce_mfa": False, "dev": True}  # dev: cookies without Secure, for http://127.0.0.1
    with LiveKratos(tmp_path, options, own_public_url=True, oidc_providers=[idp.kratos_config()]) as live:
        provider.add_client(CLIENT_ID, CLIENT_SECRET, [f"{live.public}{idp.redirect_path}"])
        monkeypatch.setattr(KratosCharm, "admin_url", live.admin)
        yield live


def sign_up_through_the_provider(kratos: LiveKratos) -> str:
    """A browser presses "Sign up with sso" and follows the provider back; the new identity's id."""
    browser = requests.Session()
    started = browser.get(f"{kratos.public}/self-service/registration/browser", allow_redirects=False)
    flow_id = parse_qs(urlsplit(started.headers["location"]).query)["flow"][0]
    flow = browser.get(f"{kratos.public}/self-service/registration/flows", params={"id": flow_id}).json()
    assert "ui" in flow, (started.headers, flow)
    csrf = next(n for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token")
    answer = browser.post(
        f"{kratos.public}/self-service/registration",
        params={"flow": flow_id},
        data={"csrf_token": csrf["attributes"]["value"], "provider": "sso"},
        allow_redirects=False,
    )
    while answer.is_redirect and not answer.headers["location"].startswith("http://localhost"):
        answer = browser.get(answer.headers["location"], allow_redirects=False)
    whoami = browser.get(f"{kratos.public}/sessions/whoami")
    assert whoami.status_code == 200, (answer.status_code, answer.headers.get("location"), whoami.text)
    return whoami.json()["identity"]["id"]


def test_list_and_unlink_a_real_oidc_link(ctx: testing.Context[KratosCharm], kratos: LiveKratos) -> None:
    identity_id = sign_up_through_the_provider(kratos)
    listed = ctx.run(ctx.on.action("list-oidc-accounts", params={"email": EMAIL}), running_state())
    assert ctx.action_results == {
        "identity-id": identity_id,
        "identifiers": json.dumps(["sso:grace-1"]),
        "count": 1,
    }
    assert listed.unit_status is not None
    unlink = ctx.on.action("unlink-oidc-account", params={"email": EMAIL, "credential-id": "sso:grace-1"})
    with pytest.raises(testing.ActionFailed) as last:
        ctx.run(unlink, running_state())  # the only way to sign in stays
    assert "You cannot remove the last first factor credential" in last.value.message
    identity = requests.get(f"{kratos.admin}/admin/identities/{identity_id}", timeout=10).json()
    with_password = {
        "schema_id": identity["schema_id"],
        "traits": identity["traits"],
        "state": "active",
        "credentials": {"password": {"config": {"password": "a-Long-passphrase-42"}}},
    }
    updated = requests.put(f"{kratos.admin}/admin/identities/{identity_id}", json=with_password, timeout=10)
    assert updated.status_code == 200, updated.text
    ctx.run(unlink, running_state())
    assert ctx.action_results == {"identity-id": identity_id, "unlinked": "sso:grace-1"}
    stored = requests.get(
        f"{kratos.admin}/admin/identities/{identity_id}", params={"include_credential": "oidc"}, timeout=10
    ).json()
    assert not stored["credentials"].get("oidc", {}).get("identifiers")  # the link is gone
    with pytest.raises(testing.ActionFailed) as again:
        ctx.run(unlink, running_state())
    assert "has no linked account sso:grace-1" in again.value.message
