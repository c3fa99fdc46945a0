"""Two units on one database: both run their courier, and each email still goes out once."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from conftest import Unit, deploy, leader_state, public
from ops import testing
from postgres import PostgresCluster
from smtp_sink import SmtpSink

SIGN_UPS = 12


def follower_state(leader: Unit) -> testing.State:
    """A second unit: the leader's relations, peer data and secrets, as Juju shares them."""
    return dataclasses.replace(
        leader.state,
        leader=False,
        containers=frozenset(),
        relations={
            dataclasses.replace(r, local_unit_data={}) if isinstance(r, testing.Relation) else r
            for r in leader.state.relations
        },
    )


def sign_up(email: str) -> None:
    flow = public("GET", "/self-service/registration/api").json()
    body = {"method": "password", "password": "Tw0-units-one-database", "traits": {"email": email}}
    answer = public("POST", "/self-service/registration", params={"flow": flow["id"]}, json=body)
    assert answer.status_code == 200, answer.text


def test_two_units_send_each_verification_email_once(
    tmp_path: Path, postgres: PostgresCluster, smtp: SmtpSink
) -> None:
    state = leader_state(postgres, smtp, tmp_path.name, enable_verification=True)
    with deploy(tmp_path / "unit-0", state) as leader:
        assert leader.refresh().unit_status == testing.ActiveStatus()
        with deploy(tmp_path / "unit-1", follower_state(leader), ports=(4443, 4444)) as follower:
            assert follower.pebble.client.get_services(["kratos"])[0].is_running()
            assert follower.refresh().unit_status == testing.ActiveStatus()
            assert "--watch-courier" in follower.pebble.client.get_plan().services["kratos"].command
            emails = [f"unit-test-{tmp_path.name}-{n}@example.com" for n in range(SIGN_UPS)]
            for email in emails:
                sign_up(email)
            for email in emails:
                assert len(smtp.wait_for(email, timeout=30)) >= 1
            time.sleep(3)  # both couriers poll every second: a duplicate would have come by now
            received = [to for r in list(smtp.received) for to in r.rcpt_tos if to in emails]
            assert sorted(received) == sorted(emails)
