"""Second-factor benchmark: what TOTP and backup-code verification add to a login, ours beside upstream.

Both servers get the same config (TOTP and backup codes on) and their own database on one throwaway
PostgreSQL. Each of N identities signs up through the admin API, sets up an authenticator app and backup
codes through the settings API (as the login UI does), then signs in with its password (an aal1 session).
This process (a client beside the server, on loopback) then submits the aal2 step one request at a time:

- ``wrong``: a six-digit code that is not the app's (refused after parsing, flow stored again);
- ``totp``: the app's next code (accepted: verified, the time step claimed, the session stepped up);
- ``backup``: an unused backup code (accepted: matched, marked used, the session stepped up);

and reports each step's p50 and p99. ``totp - wrong`` is what a correct code costs beyond a refused one:
the verification and its database writes. Usage:

    python benchmarks/mfa/run.py [--identities 200] [--servers ours,upstream] [--upstream PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pyotp

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from machine import cpu_model  # noqa: E402
from servers import PASSWORD, Server  # noqa: E402

sys.path.insert(0, str(HERE.parent.parent / "workload" / "tests"))
from postgres import start_postgres  # noqa: E402

MFA = {"selfservice": {"methods": {"totp": {"enabled": True}, "lookup_secret": {"enabled": True}}}}


@dataclass
class Account:
    """An identity with its app and backup codes."""

    email: str
    app: pyotp.TOTP
    codes: list[str]


def node(flow: dict[str, Any], name: str) -> dict[str, Any]:
    nodes = flow["ui"]["nodes"]
    return next(n for n in nodes if name in (n["attributes"].get("name"), n["attributes"].get("id")))


def login(client: httpx.Client, email: str) -> str:
    flow = client.get("/self-service/login/api").raise_for_status().json()
    answer = client.post(
        "/self-service/login",
        params={"flow": flow["id"]},
        json={"method": "password", "identifier": email, "password": PASSWORD},
    )
    return answer.raise_for_status().json()["session_token"]


def set_up(client: httpx.Client, email: str) -> Account:
    """Sign in, set up an app and backup codes in settings, as a user does."""
    headers = {"X-Session-Token": login(client, email)}
    flow = client.get("/self-service/settings/api", headers=headers).raise_for_status().json()
    app = pyotp.TOTP(node(flow, "totp_secret_key")["attributes"]["text"]["context"]["secret"])
    body = {"method": "totp", "totp_code": app.now()}
    client.post(
        "/self-service/settings", params={"flow": flow["id"]}, headers=headers, json=body
    ).raise_for_status()
    flow = client.get("/self-service/settings/api", headers=headers).raise_for_status().json()
    body = {"method": "lookup_secret", "lookup_secret_regenerate": True}
    shown = client.post("/self-service/settings", params={"flow": flow["id"]}, headers=headers, json=body)
    secrets = node(shown.raise_for_status().json(), "lookup_secret_codes")["attributes"]["text"]["context"]
    body = {"method": "lookup_secret", "lookup_secret_confirm": True}
    client.post(
        "/self-service/settings", params={"flow": flow["id"]}, headers=headers, json=body
    ).raise_for_status()
    return Account(email, app, [s["context"]["secret"] for s in secrets["secrets"]])


def seed(server: Server, count: int) -> list[Account]:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    emails = [f"mfa{n}@bench.example.com" for n in range(count)]
    with httpx.Client(base_url=server.admin_url, timeout=120) as admin:
        for start in range(0, count, 100):
            batch = [
                {
                    "create": {
                        "schema_id": "default",
                        "traits": {"email": email, "name": {"first": "Bench", "last": email}},
                        "credentials": {"password": {"config": {"hashed_password": hashed}}},
                    }
                }
                for email in emails[start : start + 100]
            ]
            admin.patch("/admin/identities", json={"identities": batch}).raise_for_status()
    with httpx.Client(base_url=server.public_url, timeout=60) as client, ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda email: set_up(client, email), emails))


def step(
    client: httpx.Client, account: Account, body: Callable[[Account], dict[str, Any]], status: int
) -> float:
    """One aal2 submission after a fresh password login: its latency in ms (the login is not timed)."""
    headers = {"X-Session-Token": login(client, account.email)}
    flow = client.get("/self-service/login/api", params={"aal": "aal2"}, headers=headers).raise_for_status()
    started = time.perf_counter()
    answer = client.post(
        "/self-service/login", params={"flow": flow.json()["id"]}, headers=headers, json=body(account)
    )
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != status:
        sys.exit(
            f"{body(account)['method']}: expected {status}, got {answer.status_code}: {answer.text[:300]}"
        )
    return elapsed


def wrong_code(account: Account) -> dict[str, Any]:
    code = account.app.at(time.time() + 30)
    return {"method": "totp", "totp_code": "000000" if code != "000000" else "111111"}


def next_code(account: Account) -> dict[str, Any]:
    return {"method": "totp", "totp_code": account.app.at(time.time() + 30)}


def backup_code(account: Account) -> dict[str, Any]:
    return {"method": "lookup_secret", "lookup_secret": account.codes.pop()}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(server: Server, accounts: list[Account]) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"wrong": [], "totp": [], "backup": []}
    with httpx.Client(base_url=server.public_url, timeout=60) as client:
        for account in accounts[:20]:  # warm up both paths
            step(client, account, wrong_code, 400)
        for account in accounts:
            results["wrong"].append(step(client, account, wrong_code, 400))
            results["totp"].append(step(client, account, next_code, 200))
            results["backup"].append(step(client, account, backup_code, 200))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--identities", type=int, default=200)
    parser.add_argument("--servers", default="ours,upstream")
    parser.add_argument("--upstream", default="/tmp/kratos-upstream/kratos")
    args = parser.parse_args()
    commands = {"ours": [sys.executable, "-m", "kratos"], "upstream": [args.upstream]}
    names = [name for name in args.servers.split(",") if name]
    totp = pyotp.TOTP(pyotp.random_base32(32))
    verify_us = timeit.timeit(lambda: totp.verify(totp.now(), valid_window=1), number=2000) / 2000 * 1e6
    print(f"# {cpu_model()}; pyotp verification with one step of skew: {verify_us:.0f} µs of CPU per code")
    with tempfile.TemporaryDirectory() as tmp, start_postgres() as cluster:
        for name in names:
            workdir = Path(tmp) / name
            workdir.mkdir()
            dsn = cluster.create_database(f"mfa_{name}")
            server = Server(workdir, dsn, name=name, cli=commands[name])
            server.migrate()
            server.serve(cost=4, extra=MFA)
            try:
                accounts = seed(server, args.identities)
                results = measure(server, accounts)
            finally:
                server.stop()
            medians = {kind: statistics.median(samples) for kind, samples in results.items()}
            for kind, samples in results.items():
                print(
                    f"{name:9} {kind:7} p50 {medians[kind]:6.2f} ms  p99 {percentile(samples, 0.99):6.2f} ms"
                )
            print(f"{name:9} totp - wrong (p50): {medians['totp'] - medians['wrong']:+.2f} ms")


if __name__ == "__main__":
    main()
