"""Courier throughput: this server's ``kratos courier watch`` and upstream's, to a local SMTP sink.

One throwaway PostgreSQL, one database per implementation (ours migrated with ``kratos migrate sql``,
upstream's with its own binary). Before each run the queue is emptied and N ``recovery_code_valid`` emails
are inserted straight into ``courier_messages`` in one statement, each with its own recipient and its own
recovery code. A fresh SMTP sink (``sink.py``, its own process, pinned to core 1) counts what arrives; the
courier processes (pinned to core 0) start, and the run ends when the sink has every code. Reported: wall
time from the couriers' start to the last email (start-up included), the steady rate between the first
and the last email, duplicates (codes received more than once), and the couriers' CPU time per message.
Upstream runs one courier (it does not share its queue between workers). Usage:

    python benchmarks/courier/run.py [--messages 5000] [--workers 1,4] [--pull-counts 10,100]
        [--servers ours,upstream] [--upstream /tmp/kratos-upstream/kratos] [--timeout 900]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import yaml

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "workload" / "tests"))
sys.path.insert(0, str(HERE.parent))

from kratos_process import base_config, merged  # noqa: E402
from machine import cpu_model  # noqa: E402
from netutil import free_port  # noqa: E402
from postgres import PostgresCluster, start_postgres  # noqa: E402

PINNABLE = bool(shutil.which("taskset")) and (os.cpu_count() or 1) > 1
PULL_WAIT = "1s"
SETTLE = 2.0  # seconds to wait after the last email for any duplicate still on its way
EXPIRES_IN_MINUTES = 15

# The stored subject and plain-text body: upstream's built-in recovery_code_valid templates, rendered.
# Both implementations send these as the text part and render the HTML part from template_data.
_SUBJECT = "'Use code ' || code || ' to recover access to your account'"
_BODY = (
    "'Recover access to your account by entering the following code:' || E'\\n\\n' || code || E'\\n\\n'"
    f" || 'If this was not you, do nothing. This code expires in {EXPIRES_IN_MINUTES} minutes.' || E'\\n'"
)
_ROWS = """
    SELECT n, lpad(n::text, 6, '0') AS code,
           'user' || lpad(n::text, 6, '0') || '@bench.example.com' AS recipient,
           gen_random_uuid() AS identity_id,
           (now() AT TIME ZONE 'utc') - ({count} - n) * interval '1 millisecond' AS at
    FROM generate_series(0, {count} - 1) AS n
"""
_IDENTITY = (
    "jsonb_build_object('id', identity_id, 'schema_id', 'default', 'state', 'active',"
    " 'traits', jsonb_build_object('email', recipient, 'name', jsonb_build_object('first', 'Bench',"
    " 'last', code)), 'metadata_public', NULL, 'created_at', at, 'updated_at', at)"
)
_REQUEST_URL = "'http://127.0.0.1:4433/self-service/recovery/browser'"
SEED_OURS = f"""
INSERT INTO courier_messages (id, type, status, recipient, subject, body, template_type, template_data,
                              channel, send_count, created_at, updated_at)
SELECT gen_random_uuid(), 'email', 'queued', recipient, {_SUBJECT}, {_BODY}, 'recovery_code_valid',
       jsonb_build_object('To', recipient, 'RecoveryCode', code, 'Identity', {_IDENTITY},
                          'RequestURL', {_REQUEST_URL}, 'RequestURLDomain', '127.0.0.1',
                          'TransientPayload', jsonb_build_object(), 'ExpiresInMinutes', {EXPIRES_IN_MINUTES}),
       'email', 0, at, at
FROM ({_ROWS}) AS seed
"""
"""Our table: text status and type; template data as our sender queues it (Go template names)."""
SEED_UPSTREAM = f"""
INSERT INTO networks (id, created_at, updated_at)
SELECT gen_random_uuid(), now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc'
WHERE NOT EXISTS (SELECT 1 FROM networks);
INSERT INTO courier_messages (id, nid, type, status, recipient, subject, body, template_type, template_data,
                              channel, send_count, created_at, updated_at)
SELECT gen_random_uuid(), (SELECT id FROM networks ORDER BY created_at LIMIT 1), 1, 1, recipient,
       {_SUBJECT}, {_BODY}, 'recovery_code_valid',
       convert_to(jsonb_build_object('to', recipient, 'recovery_code', code, 'identity', {_IDENTITY},
                                     'request_url', {_REQUEST_URL}, 'transient_payload', jsonb_build_object(),
                                     'expires_in_minutes', {EXPIRES_IN_MINUTES})::text, 'UTF8'),
       'email', 0, at, at
FROM ({_ROWS}) AS seed
"""
"""Upstream's table: integer status (1 queued) and type (1 email), its network's ``nid``, template data as
the JSON of its ``RecoveryCodeValidModel`` in a ``bytea``."""
STATUS = {"ours": "status::text", "upstream": "CASE status WHEN 1 THEN 'queued' WHEN 2 THEN 'sent' "
          "WHEN 3 THEN 'processing' WHEN 4 THEN 'abandoned' END"}  # fmt: skip


def query(cluster: PostgresCluster, database: str, sql: str) -> str:
    """Run ``sql`` in ``database``: psql's unaligned output."""
    command = [str(cluster.bindir / "psql"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres"]
    result = subprocess.run(
        [*command, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql, database],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql in {database} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def seed(cluster: PostgresCluster, database: str, implementation: str, count: int) -> None:
    """Empty the queue and queue ``count`` emails in one statement, then settle the database."""
    query(cluster, database, "TRUNCATE courier_message_dispatches, courier_messages")
    sql = SEED_OURS if implementation == "ours" else SEED_UPSTREAM
    query(cluster, database, sql.format(count=count))
    query(cluster, database, "VACUUM ANALYZE courier_messages")
    query(cluster, database, "CHECKPOINT")
    queued = int(query(cluster, database, "SELECT count(*) FROM courier_messages"))
    if queued != count:
        raise RuntimeError(f"{database}: {queued} messages queued, expected {count}")


@dataclass
class Sink:
    """``sink.py`` in its own process (core 1), and what it reported so far."""

    workdir: Path
    port: int = field(default_factory=free_port)
    arrivals: list[tuple[float, str]] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Sink:
        command = [sys.executable, str(HERE / "sink.py"), "--port", str(self.port)]
        if PINNABLE:
            command = ["taskset", "-c", "1", *command]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=(self.workdir / "sink.log").open("wb")
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if not first.startswith(b"ready"):
            raise RuntimeError(f"the SMTP sink did not start:\n{(self.workdir / 'sink.log').read_text()}")
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()
        return self

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            at, token = line.decode().split()
            with self._lock:
                self.arrivals.append((float(at), token))

    def snapshot(self) -> list[tuple[float, str]]:
        with self._lock:
            return list(self.arrivals)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid) if self.process else 0.0

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of ``pid`` so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    implementation: str
    workers: int
    pull_count: int
    messages: int
    received: int  # emails the sink accepted
    distinct: int  # distinct recovery codes among them
    wall: float  # seconds from the couriers' start to the last new code
    steady: float  # seconds from the first email to the last new code
    courier_cpu: float  # CPU seconds of all courier processes
    sink_cpu: float
    statuses: dict[str, int]

    @property
    def duplicates(self) -> int:
        return self.received - self.distinct

    @property
    def rate(self) -> float:
        return self.distinct / self.wall if self.wall else 0.0

    @property
    def steady_rate(self) -> float:
        return (self.distinct - 1) / self.steady if self.steady else 0.0


def write_config(workdir: Path, dsn: str, smtp_port: int, pull_count: int) -> Path:
    """The same config for both: the test schemas, the SMTP sink, ``courier.worker``, log level warning."""
    config = merged(
        base_config(dsn, free_port(), free_port()),
        {
            "courier": {
                "smtp": {"connection_uri": f"smtp://127.0.0.1:{smtp_port}/?disable_starttls=true"},
                "worker": {"pull_count": pull_count, "pull_wait": PULL_WAIT},
            }
        },
    )
    path = workdir / "kratos.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_couriers(
    cli: list[str],
    cluster: PostgresCluster,
    database: str,
    implementation: str,
    workers: int,
    pull_count: int,
    args: argparse.Namespace,
    workdir: Path,
) -> Result:
    """Seed, start a sink and ``workers`` couriers, wait for every code; what happened."""
    count = args.messages
    seed(cluster, database, implementation, count)
    sink = Sink(workdir).start()
    config = write_config(workdir, cluster.dsn(database), sink.port, pull_count)
    prefix = ["taskset", "-c", "0"] if PINNABLE else []
    couriers: list[subprocess.Popen[bytes]] = []
    logs = [workdir / f"courier-{n}.log" for n in range(workers)]
    started = time.monotonic()
    try:
        for log in logs:
            couriers.append(
                subprocess.Popen(
                    [*prefix, *cli, "courier", "watch", "-c", str(config)],
                    stdout=log.open("wb"),
                    stderr=subprocess.STDOUT,
                )
            )
        last_new, seen = started, 0
        while True:
            arrivals = sink.snapshot()
            codes = {token for _, token in arrivals}
            if len(codes) > seen:
                last_new, seen = time.monotonic(), len(codes)
            if len(codes) >= count:
                break
            now = time.monotonic()
            if now - started > args.timeout or now - last_new > 60:
                print(f"  gave up after {now - started:.0f} s with {len(codes)} of {count}", flush=True)
                break
            if any(courier.poll() is not None for courier in couriers):
                tails = "\n".join(log.read_text(errors="replace")[-2000:] for log in logs)
                raise RuntimeError(f"a courier exited early:\n{tails}")
            time.sleep(0.05)
        time.sleep(SETTLE)
        courier_cpu = sum(cpu_seconds(courier.pid) for courier in couriers)
        sink_cpu = sink.cpu_seconds()
    finally:
        for courier in couriers:
            if courier.poll() is None:
                courier.terminate()
        for courier in couriers:
            try:
                courier.wait(timeout=20)
            except subprocess.TimeoutExpired:
                courier.kill()
                courier.wait()
        sink.stop()
    arrivals = sink.snapshot()
    first_at: dict[str, float] = {}
    for at, token in arrivals:
        first_at.setdefault(token, at)
    first_at.pop("-", None)  # an email without a code: counted as received, never as delivered
    end = max(first_at.values(), default=started)
    statuses = query(
        cluster, database, f"SELECT {STATUS[implementation]}, count(*) FROM courier_messages GROUP BY 1"
    )
    return Result(
        implementation=implementation,
        workers=workers,
        pull_count=pull_count,
        messages=count,
        received=len(arrivals),
        distinct=len(first_at),
        wall=end - started,
        steady=end - min(first_at.values(), default=end),
        courier_cpu=courier_cpu,
        sink_cpu=sink_cpu,
        statuses={status: int(n) for status, n in (line.split("|") for line in statuses.splitlines())},
    )


def describe(result: Result) -> str:
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(result.statuses.items()))
    return (
        f"{result.distinct}/{result.messages} in {result.wall:.2f} s: {result.rate:,.0f} emails/s "
        f"(steady {result.steady_rate:,.0f}/s), {result.duplicates} duplicates, "
        f"courier CPU {result.courier_cpu * 1000 / max(1, result.distinct):.2f} ms/email, "
        f"sink CPU {result.sink_cpu * 1000 / max(1, result.received):.2f} ms/email; in the table: {statuses}"
    )


def report(results: list[Result]) -> None:
    """A Markdown table of the runs."""
    print(
        "\n| courier | workers | pull_count | delivered | wall time | emails/s | steady emails/s "
        "| duplicates | courier CPU per email |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.implementation} | {r.workers} | {r.pull_count} | {r.distinct:,}/{r.messages:,} "
            f"| {r.wall:.1f} s | {r.rate:,.0f} | {r.steady_rate:,.0f} | {r.duplicates} "
            f"| {r.courier_cpu * 1000 / max(1, r.distinct):.2f} ms |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--workers", default="1,4", help="our courier processes per run")
    parser.add_argument("--pull-counts", default="10", help="courier.worker.pull_count per round")
    parser.add_argument("--servers", default="ours,upstream")
    parser.add_argument("--upstream", default="/tmp/kratos-upstream/kratos")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a run may take at most")
    args = parser.parse_args()
    if not 1 <= args.messages <= 999_999:
        sys.exit("--messages: between 1 and 999,999 (the codes have six digits)")
    names = args.servers.split(",")
    if "upstream" in names and not Path(args.upstream).is_file():
        sys.exit(f"--upstream: {args.upstream} not found (build it with ../shared/tools/upstream-kratos.sh)")
    clis = {"ours": [sys.executable, "-m", "kratos"], "upstream": [args.upstream]}
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; pinning {'on' if PINNABLE else 'unavailable'}")
    print(f"{args.messages} messages per run; courier.worker.pull_wait {PULL_WAIT}", flush=True)
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp, start_postgres() as cluster:
        databases: dict[str, str] = {}
        for name in names:
            databases[name] = name
            dsn = cluster.create_database(name)
            migrate = [*clis[name], "migrate", "sql", "-e", "--yes"]
            subprocess.run(migrate, env={**os.environ, "DSN": dsn}, check=True, capture_output=True)
        for pull_count in (int(n) for n in args.pull_counts.split(",")):
            for name in names:
                for workers in [int(n) for n in args.workers.split(",")] if name == "ours" else [1]:
                    workdir = Path(tmp) / f"{name}-{workers}-{pull_count}"
                    workdir.mkdir()
                    result = run_couriers(
                        clis[name], cluster, databases[name], name, workers, pull_count, args, workdir
                    )
                    results.append(result)
                    load = os.getloadavg()[0]
                    print(
                        f"  {name} x{workers}, pull_count {pull_count}: {describe(result)} (load {load:.1f})",
                        flush=True,
                    )
    report(results)


if __name__ == "__main__":
    main()
