"""whoami benchmark: this server and upstream Ory Kratos side by side, on one throwaway PostgreSQL.

Both servers get the same config and their own database on the same PostgreSQL server. 500 identities are
imported through the admin API and logged in through the API login flow; wrk then asks
``GET /sessions/whoami`` with their session tokens in rotation, at 32 and 128 connections, each server
first pinned to core 0 (wrk on core 1), then unpinned. ``pgbench -S -M prepared`` on the same database
gives the physical limit, and a password login is compared with one hash of the configured cost. Usage:

    python benchmarks/whoami/run.py [--identities 500] [--duration 15] [--connections 32,128]
        [--servers ours,upstream] [--placements pinned,unpinned] [--upstream /tmp/kratos-upstream/kratos]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import httpx

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "workload" / "tests"))
sys.path.insert(0, str(HERE.parent))

from machine import cpu_model  # noqa: E402
from postgres import PostgresCluster, start_postgres  # noqa: E402
from servers import HASH_COST, PASSWORD, PINNABLE, Server  # noqa: E402


def seed(server: Server, count: int, hashed: str) -> list[str]:
    """Import ``count`` identities (100 per batch request) and log each in: their session tokens."""
    emails = [f"user{n}@bench.example.com" for n in range(count)]
    with httpx.Client(base_url=server.admin_url, timeout=120) as client:
        for start in range(0, count, 100):
            batch = [
                {
                    "create": {
                        "schema_id": "default",
                        "traits": {"email": email, "name": {"first": "Bench", "last": email}},
                        "metadata_public": {"n": start + n},
                        "credentials": {"password": {"config": {"hashed_password": hashed}}},
                    }
                }
                for n, email in enumerate(emails[start : start + 100])
            ]
            client.patch("/admin/identities", json={"identities": batch}).raise_for_status()
    with httpx.Client(base_url=server.public_url, timeout=60) as client, ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda email: login(client, email)["session_token"], emails))


def login(client: httpx.Client, email: str) -> dict[str, Any]:
    """An API login flow with the password: the answer (``session_token``, ``session``)."""
    flow = client.get("/self-service/login/api").raise_for_status().json()
    answer = client.post(
        "/self-service/login",
        params={"flow": flow["id"]},
        json={"method": "password", "identifier": email, "password": PASSWORD},
    )
    return answer.raise_for_status().json()


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    failures: int
    cpu_ms: float = 0.0  # the server's CPU time per request


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"wrk printed an unknown latency {text!r}")
    number, unit = match.groups()
    return float(number) * _UNITS[unit]


def wrk(server: Server, tokens_file: Path, connections: int, duration: int) -> WrkResult:
    """wrk on core 1 against the public port's whoami."""
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "-s",
        str(HERE / "whoami.lua"),
    ]
    if PINNABLE:
        command = ["taskset", "-c", "1", *command]
    cpu_before = server.cpu_seconds()
    output = subprocess.run(
        [*command, server.public_url],
        env={**os.environ, "TOKENS_FILE": str(tokens_file)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = server.cpu_seconds() - cpu_before
    failures = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    failures += sum(int(n) for n in errors.groups()) if errors else 0
    found = {
        name: re.search(pattern, output, re.MULTILINE)
        for name, pattern in (
            ("rate", r"Requests/sec:\s+([\d.]+)"),
            ("p50", r"^\s*50%\s+(\S+)"),
            ("p99", r"^\s*99%\s+(\S+)"),
        )
    }
    if not all(found.values()):
        sys.exit(f"wrk against {server.name} printed no result:\n{output}")
    rate = float(found["rate"].group(1))  # type: ignore[union-attr]
    return WrkResult(
        requests_per_second=rate,
        p50_ms=_ms(found["p50"].group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(found["p99"].group(1)),  # type: ignore[union-attr]
        failures=failures,
        cpu_ms=cpu * 1000 / max(1.0, rate * duration),
    )


def pgbench(cluster: PostgresCluster, database: str, duration: int) -> float:
    """``pgbench -S -M prepared -c 32`` (on core 1) against ``database``: transactions per second."""
    connect = ["-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres"]
    binary = str(cluster.bindir / "pgbench")
    subprocess.run([binary, *connect, "-i", "-s", "10", "-q", database], check=True, capture_output=True)
    command = [binary, *connect, "-S", "-M", "prepared", "-c", "32", "-j", "1", "-T", str(duration), database]
    if PINNABLE:
        command = ["taskset", "-c", "1", *command]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return float(re.search(r"tps = ([\d.]+)", output).group(1))  # type: ignore[union-attr]


@dataclass
class LoginResult:
    login_ms: float  # median of a whole API login (flow, then password)
    hash_ms: float  # median of one verification at the configured cost, here, on the server's core
    overhead_ms: float  # median of (login - the mean of the hashes just before and after it)


def login_latency(server: Server, email: str, hashed: bytes, rounds: int) -> LoginResult:
    """An identity with a cost-12 hash logs in ``rounds`` times, each between two hashes measured alone.

    Pairing each login with hashes measured next to it (on the same core when the server is pinned) keeps
    the machine's changing load out of the difference.
    """
    logins, hashes, overheads = [], [], []
    with httpx.Client(base_url=server.public_url, timeout=60) as client:
        login(client, email)  # warm-up
        for _ in range(rounds):
            before = hash_once(hashed, pinned=server.pinned)
            started = time.perf_counter()
            login(client, email)
            took = (time.perf_counter() - started) * 1000
            after = hash_once(hashed, pinned=server.pinned)
            logins.append(took)
            hashes.extend((before, after))
            overheads.append(took - (before + after) / 2)
    return LoginResult(statistics.median(logins), statistics.median(hashes), statistics.median(overheads))


def hash_once(hashed: bytes, pinned: bool) -> float:
    """Milliseconds of one bcrypt verification in this process (on core 0 when ``pinned``)."""
    affinity = os.sched_getaffinity(0)
    if pinned and PINNABLE:
        os.sched_setaffinity(0, {0})
    try:
        started = time.perf_counter()
        assert bcrypt.checkpw(PASSWORD.encode(), hashed)
        return (time.perf_counter() - started) * 1000
    finally:
        os.sched_setaffinity(0, affinity)


def settle(cluster: PostgresCluster, databases: list[str]) -> None:
    for database in databases:
        cluster.psql(database, "VACUUM ANALYZE")
    cluster.psql(databases[0], "CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--identities", type=int, default=500)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", default="32,128")
    parser.add_argument("--servers", default="ours,upstream")
    parser.add_argument("--placements", default="pinned,unpinned")
    parser.add_argument("--upstream", default="/tmp/kratos-upstream/kratos")
    parser.add_argument("--login-rounds", type=int, default=20)
    parser.add_argument("--skip-pgbench", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    commands = {"ours": [sys.executable, "-m", "kratos"], "upstream": [args.upstream]}
    names = args.servers.split(",")
    connections = [int(n) for n in args.connections.split(",")]
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; pinning {'on' if PINNABLE else 'unavailable'}")
    with tempfile.TemporaryDirectory() as tmp, start_postgres() as cluster:
        workdir = Path(tmp)
        databases = {name: cluster.create_database(name) for name in names}
        servers = []
        for name in names:
            (workdir / name).mkdir()
            servers.append(Server(workdir / name, databases[name], name=name, cli=commands[name]))
        cheap = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
        costly = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(HASH_COST))
        tokens: dict[str, Path] = {}
        rows: list[tuple[str, int, str, WrkResult]] = []
        logins: dict[str, LoginResult] = {}
        for server in servers:
            server.migrate()
        try:
            # Seeded at cost 4 (the identities' hash has it too, so no login re-hashes), measured at 12.
            for server in servers:
                server.serve(pinned=False, cost=4)
                tokens[server.name] = workdir / f"{server.name}.tokens"
                tokens[server.name].write_text("\n".join(seed(server, args.identities, cheap)) + "\n")
                _import(server, "login@bench.example.com", costly.decode())
                server.stop()
            settle(cluster, names)
            for placement in args.placements.split(","):
                for server in servers:
                    server.serve(pinned=placement == "pinned")
                    print(f"{server.name} ({placement}): {server.processes()} process(es)")
                for count in connections:
                    for server in servers:
                        wrk(server, tokens[server.name], count, duration=3)  # warm-up
                        result = wrk(server, tokens[server.name], count, args.duration)
                        rows.append((placement, count, server.name, result))
                        print(f"  {placement} c={count} {server.name}: {_describe(result)}", flush=True)
                if args.login_rounds and (placement == "pinned" or not logins):
                    for server in servers:
                        logins[server.name] = login_latency(
                            server, "login@bench.example.com", costly, args.login_rounds
                        )
                for server in servers:
                    server.stop()
            tps = None if args.skip_pgbench else pgbench(cluster, names[0], args.duration)
        finally:
            for server in servers:
                server.stop()
    report(rows, logins, tps)


def _import(server: Server, email: str, hashed: str) -> None:
    identity = {
        "schema_id": "default",
        "traits": {"email": email},
        "credentials": {"password": {"config": {"hashed_password": hashed}}},
    }
    httpx.post(f"{server.admin_url}/admin/identities", json=identity, timeout=30).raise_for_status()


def _describe(result: WrkResult) -> str:
    failed = f", {result.failures} failed" if result.failures else ""
    return (
        f"{result.requests_per_second:,.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
        f"{result.cpu_ms:.2f} ms CPU/request{failed}"
    )


def report(
    rows: list[tuple[str, int, str, WrkResult]], logins: dict[str, LoginResult], tps: float | None
) -> None:
    """A Markdown table of the runs, with ours / upstream ratios."""
    print("\n| placement | connections | server | req/s | p50 | p99 | ours / upstream |")
    print("|---|---|---|---|---|---|---|")
    by_key = {(placement, count, name): result for placement, count, name, result in rows}
    for placement, count, name, result in rows:
        ratio = ""
        upstream = by_key.get((placement, count, "upstream"))
        if name == "ours" and upstream:
            ratio = f"{result.requests_per_second / upstream.requests_per_second:.2f}x"
        print(
            f"| {placement} | {count} | {name} | {result.requests_per_second:,.0f} | {result.p50_ms:.1f} ms "
            f"| {result.p99_ms:.1f} ms | {ratio} |"
        )
    if tps is not None:
        print(f"\npgbench -S -M prepared -c 32: {tps:,.0f} tps")
        for placement, count, name, result in rows:
            if name == "ours":
                print(f"  ours {placement} c={count}: {result.requests_per_second / tps:.2f}x pgbench")
    for name, result in logins.items():
        print(
            f"{name}: API login {result.login_ms:.1f} ms, bcrypt cost {HASH_COST} alone "
            f"{result.hash_ms:.1f} ms, login minus hash {result.overhead_ms:.1f} ms (medians)"
        )


if __name__ == "__main__":
    main()
