"""``kratos serve --workers N``: worker processes sharing the ports, and the CPU count that sizes them."""

from __future__ import annotations

import http.client
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from config_data import MINIMAL
from kratos_process import KratosProcess, kratos_command
from netutil import free_port

from kratos.cli.serve import in_memory
from kratos.config import KratosConfig, load_config
from kratos.driver.cpus import available_cpus, cpu_limit
from kratos.driver.supervisor import Endpoint, StartError, Supervisor, WorkerMain
from kratos.persistence.dsn import parse_dsn

# --- the CPU count ---------------------------------------------------------------------------------


@pytest.fixture
def eight_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(8)))


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _v1_quota(mount: Path, quota: str, period: str) -> None:
    _write(mount / "cpu.cfs_quota_us", quota)
    _write(mount / "cpu.cfs_period_us", period)


@pytest.mark.usefixtures("eight_cpus")
@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [("max 100000", 8), ("200000 100000", 2), ("150000 100000", 2), ("20000 100000", 1), ("bogus", 8)],
)
def test_cgroup_v2_quota_caps_the_cpus(tmp_path: Path, cpu_max: str, expected: int) -> None:
    _write(tmp_path / "cgroup" / "cpu.max", cpu_max)
    assert available_cpus(tmp_path / "cgroup", _write(tmp_path / "self", "0::/\n")) == expected


@pytest.mark.usefixtures("eight_cpus")
def test_cgroup_v2_on_a_host_reads_the_process_cgroup_and_its_parents(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _write(root / "kubepods" / "cpu.max", "300000 100000")
    _write(root / "kubepods" / "pod1" / "app" / "cpu.max", "max 100000")
    self_cgroup = _write(tmp_path / "self", "0::/kubepods/pod1/app\n")
    assert cpu_limit(root, self_cgroup) == 3.0
    assert available_cpus(root, self_cgroup) == 3


@pytest.mark.usefixtures("eight_cpus")
def test_cgroup_v1_quota_in_a_container(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _v1_quota(root / "cpu,cpuacct", "250000\n", "100000\n")
    # The container sees its own cgroup at the mount point; the path names the host's hierarchy.
    self_cgroup = _write(
        tmp_path / "self", "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/\n"
    )
    assert cpu_limit(root, self_cgroup) == 2.5
    assert available_cpus(root, self_cgroup) == 3


@pytest.mark.usefixtures("eight_cpus")
def test_no_quota_means_the_affinity(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _v1_quota(root / "cpu", "-1", "100000")
    assert available_cpus(root, _write(tmp_path / "self", "3:cpu:/\n0::/\n")) == 8
    assert available_cpus(tmp_path / "missing", tmp_path / "missing-self") == 8


def test_affinity_is_respected(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {3})
    _write(tmp_path / "cgroup" / "cpu.max", "400000 100000")
    assert available_cpus(tmp_path / "cgroup", _write(tmp_path / "self", "0::/\n")) == 1


@pytest.mark.parametrize(
    "dsn",
    [
        "memory",
        "sqlite://",
        "sqlite://:memory:?_fk=true",
        "sqlite:///tmp/a.sqlite?mode=memory",
        "sqlite:///tmp/a.sqlite?_fk=true",
        "sqlite3://file::memory:",
        "file::memory:?cache=shared",
        "file:///tmp/a.sqlite",
        "sqlite://file:///tmp/a.sqlite?mode=ro",
        "postgres://kratos:secret@127.0.0.1:5432/kratos",
    ],
)
def test_the_parent_tells_in_memory_databases_as_parse_dsn_does(dsn: str) -> None:
    assert in_memory(dsn) == parse_dsn(dsn).is_memory


# --- metrics in multiprocess mode ------------------------------------------------------------------

_METRICS_UNDER_GC = """
import gc
gc.set_threshold(1)  # a collection at nearly every allocation, inside metric updates too
from prometheus_client import generate_latest
from kratos.http import metrics
for i in range(5000):
    metrics.observe("admin", "GET", f"/path/{i % 50}", 200, 0.001)
    if i % 1000 == 0:
        metrics._COLLECTIONS.due = 0.0
print(generate_latest(metrics._registry()).decode())
"""


def test_metrics_survive_collections_during_updates(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _METRICS_UNDER_GC],
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert 'http_requests_total{method="GET",path="/path/7",port="admin",status="200"} 100.0' in result.stdout
    collections = re.search(
        r'^python_gc_collections_total\{generation="0"\} (\S+)$', result.stdout, re.MULTILINE
    )
    assert collections is not None
    assert float(collections.group(1)) > 0


# --- the supervisor, with stand-in workers ---------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> KratosConfig:
    path = tmp_path / "kratos.yml"
    path.write_text(MINIMAL)
    return load_config([path], env={})


def _supervise(config: KratosConfig, workers: int, main: WorkerMain) -> None:
    before = signal.getsignal(signal.SIGTERM)
    try:
        endpoints = (Endpoint.resolve("127.0.0.1", free_port()), Endpoint.resolve("127.0.0.1", free_port()))
        Supervisor(config, endpoints, workers, main).run()
    finally:
        assert signal.getsignal(signal.SIGTERM) == before


def _claim(path: Path) -> bool:
    """True in exactly one process."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return False
    return True


def _ready(channel: socket.socket) -> None:
    channel.sendall(b'{"ready": true}\n')


def test_a_worker_failing_beside_a_serving_one_is_restarted(
    config: KratosConfig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def main(_config: KratosConfig, _sockets: object, channel: socket.socket) -> int:
        if _claim(tmp_path / "serving"):
            _ready(channel)
            _claim(tmp_path / "ready")
        elif _claim(tmp_path / "failing"):
            _wait_for(lambda: (tmp_path / "ready").exists())
            channel.sendall(b'{"error": "the database went away"}\n')
            return 3
        else:  # the replacement
            _ready(channel)
            os.kill(os.getppid(), signal.SIGTERM)
        signal.pause()  # serve until SIGTERM
        return 0

    caplog.set_level(logging.INFO, "kratos.driver.supervisor")
    _supervise(config, 2, main)
    assert "exited with code 3: the database went away: restarting it in 0 s" in caplog.text
    assert "is serving again" in caplog.text
    assert caplog.text.count("serving the public API on port 4433 and the admin API on port 4434") == 1


def test_workers_that_cannot_start_are_one_error(config: KratosConfig) -> None:
    def main(_config: KratosConfig, _sockets: object, channel: socket.socket) -> int:
        channel.sendall(b'{"error": "the database schema is not up to date"}\n')
        return 3

    with pytest.raises(StartError, match=r"^the database schema is not up to date$"):
        _supervise(config, 3, main)


def test_a_worker_crashing_at_start_is_named(config: KratosConfig) -> None:
    def main(_config: KratosConfig, _sockets: object, _channel: socket.socket) -> int:
        raise RuntimeError("a bug")

    with pytest.raises(StartError, match=r"^worker \d \(pid \d+\) exited with code 1 while starting$"):
        _supervise(config, 2, main)


# --- the real server -------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _listening(port: int) -> int:
    """How many sockets listen on ``port`` (one per ready worker)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(
        1 for line in lines if line.split()[3] == "0A" and int(line.split()[1].split(":")[1], 16) == port
    )


def _socket_inode(server_port: int, client_port: int) -> str:
    """The inode of the server's end of a loopback connection, from ``/proc/net/tcp``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.split(":")[1], 16) for address in fields[1:3])
        if (local, remote) == (server_port, client_port):
            return fields[9]
    raise AssertionError(f"no connection from port {client_port} to {server_port}")


def _owner(inode: str, pids: list[int]) -> int:
    for pid in pids:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no process among {pids} holds socket {inode}")


def _get(port: int, path: str, pids: list[int]) -> tuple[int, str]:
    """GET ``path`` on a new connection: the pid of the worker that served it, and the body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read().decode()
        assert response.status == 200, body
        assert connection.sock is not None
        client_port = connection.sock.getsockname()[1]
        return _owner(_socket_inode(port, client_port), pids), body
    finally:
        connection.close()


def _wait_for(condition: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _migrated(workdir: Path, overrides: dict[str, Any] | None = None) -> KratosProcess:
    server = KratosProcess(workdir, f"sqlite://{workdir}/kratos.sqlite?_fk=true", overrides=overrides or {})
    server.migrate()
    return server


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KratosProcess]:
    server = _migrated(tmp_path_factory.mktemp("workers")).start("--workers", "2")
    assert server.process is not None
    _wait_for(lambda: _listening(server.public_port) == _listening(server.admin_port) == 2)
    yield server
    server.stop()


def _workers(server: KratosProcess) -> list[int]:
    assert server.process is not None
    return _children(server.process.pid)


def test_requests_are_served_by_both_workers(two_workers: KratosProcess) -> None:
    workers = _workers(two_workers)
    assert len(workers) == 2
    served = {_get(two_workers.public_port, "/health/alive", workers)[0] for _ in range(24)}
    assert served == set(workers)
    served = {_get(two_workers.admin_port, "/health/ready", workers)[0] for _ in range(24)}
    assert served == set(workers)


def test_metrics_are_totals_across_workers(two_workers: KratosProcess) -> None:
    workers = _workers(two_workers)
    before = _count(_get(two_workers.admin_port, "/metrics/prometheus", workers)[1], "/version")
    served = [_get(two_workers.admin_port, "/version", workers)[0] for _ in range(30)]
    assert set(served) == set(workers)
    answers: dict[int, str] = {}
    for _ in range(50):
        pid, body = _get(two_workers.admin_port, "/metrics/prometheus", workers)
        answers.setdefault(pid, body)
        if len(answers) == 2:
            break
    assert set(answers) == set(workers), "every worker answered a scrape"
    for body in answers.values():
        assert _count(body, "/version") == before + 30
        cpu = re.search(r"^process_cpu_seconds_total (\S+)$", body, re.MULTILINE)
        assert cpu is not None
        assert float(cpu.group(1)) > 0
        assert re.search(r'^python_gc_collections_total\{generation="0"\} ', body, re.MULTILINE)


def _count(body: str, path: str) -> float:
    pattern = (
        rf'^http_requests_total\{{method="GET",path="{re.escape(path)}",port="admin",status="200"\}} (\S+)$'
    )
    match = re.search(pattern, body, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_a_worker_that_dies_is_restarted(two_workers: KratosProcess) -> None:
    assert two_workers.process is not None
    victim, survivor = _workers(two_workers)
    os.kill(victim, signal.SIGKILL)
    _wait_for(lambda: len(set(_workers(two_workers)) - {survivor, victim}) == 1)
    replacement = (set(_workers(two_workers)) - {survivor, victim}).pop()
    workers = [survivor, replacement]
    # The survivor serves every request meanwhile; the replacement takes its share once it is ready.
    _wait_for(
        lambda: replacement in {_get(two_workers.public_port, "/health/alive", workers)[0] for _ in range(8)}
    )
    assert two_workers.process.poll() is None
    assert "was killed by SIGKILL: restarting it" in two_workers.log_path.read_text()


def test_sigterm_stops_every_process_and_one_of_them_runs_the_courier(tmp_path: Path) -> None:
    server = _migrated(tmp_path, {"log": {"level": "info"}}).start("--workers", "2", "--watch-courier")
    try:
        assert server.process is not None
        _wait_for(lambda: _listening(server.public_port) == _listening(server.admin_port) == 2)
        workers = _children(server.process.pid)
        _get(server.admin_port, "/version", workers)  # a worker writes the metrics files it maps
        maps = " ".join(Path(f"/proc/{pid}/maps").read_text() for pid in workers)
        metrics_files = re.findall(r"\S*/kratos-metrics-[^/\s]+/\S+\.db", maps)
        assert metrics_files
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=20) == 0
    finally:
        server.stop()
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists()
    assert not Path(metrics_files[0]).parent.exists()
    assert server.log_path.read_text().count("the courier is watching for messages") == 1


def test_one_worker_is_this_process(tmp_path: Path) -> None:
    server = _migrated(tmp_path).start("--workers", "1")
    try:
        assert server.process is not None
        assert _children(server.process.pid) == []
    finally:
        server.stop()


def _serve(
    server: KratosProcess, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    server.write_config()
    return subprocess.run(
        kratos_command("serve", "-c", str(server.config_path), "--dev", *args),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_an_unmigrated_database_is_one_clear_error(tmp_path: Path) -> None:
    server = KratosProcess(tmp_path, f"sqlite://{tmp_path}/fresh.sqlite?_fk=true")
    result = _serve(server, env={"SERVE_WORKERS": "2"})
    assert result.returncode == 1
    assert result.stderr.count("kratos migrate sql -e --yes") == 1, result.stderr
    assert result.stderr.startswith("Error: the database schema is not up to date")
    assert "Traceback" not in result.stderr


def test_a_port_in_use_is_one_clear_error(tmp_path: Path) -> None:
    server = _migrated(tmp_path)
    with socket.socket() as taken:
        # Even a listener that would share the port (a kratos still running, say) is refused.
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", server.public_port))
        taken.listen()
        result = _serve(server, "--workers", "2")
    assert result.returncode == 1
    assert result.stderr.count(f"cannot listen on 127.0.0.1:{server.public_port}") == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_an_in_memory_database_refuses_several_workers(tmp_path: Path) -> None:
    result = _serve(KratosProcess(tmp_path, "memory"), env={"SERVE_WORKERS": "2"})
    assert result.returncode == 2
    assert "SERVE_WORKERS=2: an in-memory database lives inside one process" in result.stderr
