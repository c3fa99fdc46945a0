"""Admin API benchmark: get-identity and list-identities (pages of 250) over 10,000 identities on PostgreSQL.

Starts a throwaway PostgreSQL and ``kratos serve`` pinned to one core, seeds the identities through the
batch API, then drives the admin port with wrk pinned to the other core. Usage:

    python benchmarks/identities/run.py [--identities 10000] [--duration 15] [--connections 32]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import bcrypt
import httpx

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "workload" / "tests"))

from kratos_process import KratosProcess  # noqa: E402
from postgres import PostgresCluster, start_postgres  # noqa: E402


def seed(server: KratosProcess, count: int) -> list[str]:
    """Create ``count`` identities with imported bcrypt hashes, 1,000 per batch request."""
    hashed = bcrypt.hashpw(b"benchmark password", bcrypt.gensalt(10)).decode()
    ids: list[str] = []
    with httpx.Client(base_url=server.admin_url, timeout=120) as client:
        for start in range(0, count, 1000):
            batch = [
                {
                    "create": {
                        "schema_id": "default",
                        "traits": {
                            "email": f"user{n}@bench.example.com",
                            "name": {"first": "Bench", "last": str(n)},
                        },
                        "metadata_public": {"n": n},
                        "credentials": {"password": {"config": {"hashed_password": hashed}}},
                    }
                }
                for n in range(start, min(start + 1000, count))
            ]
            response = client.patch("/admin/identities", json={"identities": batch})
            response.raise_for_status()
            ids.extend(result["identity"] for result in response.json()["identities"])
    return ids


def page_tokens(server: KratosProcess) -> list[str]:
    """The token of every page of 250 (``first`` for the first page)."""
    tokens = ["first"]
    with httpx.Client(base_url=server.admin_url, timeout=60) as client:
        response = client.get("/admin/identities", params={"page_size": 250})
        while "next" in response.links:
            token = httpx.URL(response.links["next"]["url"]).params["page_token"]
            tokens.append(token)
            response = client.get("/admin/identities", params={"page_size": 250, "page_token": token})
    return tokens


def settle(cluster: PostgresCluster) -> None:
    """Let PostgreSQL finish what the seeding started (vacuum, statistics, checkpoint) before measuring."""
    for statement in ("VACUUM ANALYZE", "CHECKPOINT"):
        cluster.psql("bench", statement)


def wrk(
    server: KratosProcess, script: str, env: dict[str, str], args: argparse.Namespace, duration: int
) -> str:
    """Run wrk on the second core against the admin port."""
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{duration}s", "--latency", "-s", str(HERE / script)]
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        command = ["taskset", "-c", "1", *command]
    result = subprocess.run(
        [*command, server.admin_url], env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--identities", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp, start_postgres() as cluster:
        workdir = Path(tmp)
        server = KratosProcess(workdir, cluster.create_database("bench"))
        server.migrate()
        server.start()
        if shutil.which("taskset") and (os.cpu_count() or 1) > 1 and server.process:
            subprocess.run(
                ["taskset", "-a", "-p", "-c", "0", str(server.process.pid)], check=True, capture_output=True
            )
        try:
            ids = seed(server, args.identities)
            (workdir / "ids.txt").write_text("\n".join(ids) + "\n")
            tokens = page_tokens(server)
            (workdir / "tokens.txt").write_text("\n".join(tokens) + "\n")
            settle(cluster)
            print(f"seeded {len(ids)} identities, {len(tokens)} pages of 250\n")
            scenarios = [
                ("GET /admin/identities/{id}", "get_identity.lua", {"IDS_FILE": str(workdir / "ids.txt")}),
                (
                    "GET /admin/identities?page_size=250&page_token=...",
                    "list_identities.lua",
                    {"TOKENS_FILE": str(workdir / "tokens.txt")},
                ),
            ]
            for title, script, env in scenarios:
                wrk(server, script, env, args, duration=3)  # warm-up: connections, statement caches
                print(f"== {title}")
                print(wrk(server, script, env, args, duration=args.duration))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
