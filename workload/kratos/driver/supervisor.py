"""``kratos serve --workers N``: the parent binds both ports once, forks N workers and keeps them running.

Each worker gets its own listening socket per address, all of one ``SO_REUSEPORT`` group (see
:func:`listen`). The parent binds them before forking, so a port in use is reported once, and holds them
for the workers' whole life: while a worker is restarted, the connections the kernel gives its socket
wait in that socket's queue instead of being refused or reset.

The parent stays small: it imports neither the apps nor the database drivers, which each worker loads
after the fork (in parallel, one per core).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import selectors
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kratos.config import KratosConfig

log = logging.getLogger(__name__)

BACKLOG = 2048
"""Connections the kernel queues per listening socket (uvicorn's default)."""
STOP_TIMEOUT = 15.0
"""Seconds the workers get to finish their requests after SIGTERM (uvicorn allows them 10) before SIGKILL."""
RESTART_DELAYS = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)
"""Seconds before restarting a worker that died, by how many times in a row it died early."""
STEADY = 10.0
"""A worker that ran this long resets its slot's restart delay."""
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"


Listeners = tuple[list[socket.socket], list[socket.socket]]
"""One worker's listening sockets: the public port's and the admin port's, one per address."""


class StartError(Exception):
    """A worker could not start; the message, the first worker's, is for the user."""


@dataclass(eq=False)
class _Worker:
    slot: int
    pid: int
    channel: socket.socket
    started_at: float
    ready: bool = False
    error: str | None = None
    buffer: bytes = b""


@dataclass(eq=False)
class _Slot:
    failures: int = 0
    restart_at: float | None = None


class Supervisor:
    """Forks the workers, forwards SIGTERM and SIGINT to them and restarts those that die."""

    def __init__(self, config: KratosConfig, listeners: list[Listeners]) -> None:
        self.config = config
        self.workers = len(listeners)
        self.listeners = listeners
        self._running: dict[int, _Worker] = {}
        self._slots = [_Slot() for _ in listeners]
        self._selector = selectors.DefaultSelector()
        self._wakeup = (-1, -1)
        self._signal: int | None = None
        self._stopping: float | None = None
        self._failure: str | None = None
        self._serving = False

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT; raise :class:`StartError` when a worker cannot start."""
        self._wakeup = os.pipe()
        for fd in self._wakeup:
            os.set_blocking(fd, False)
        self._selector.register(self._wakeup[0], selectors.EVENT_READ)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        previous[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, self._on_signal)
        old_wakeup = signal.set_wakeup_fd(self._wakeup[1])
        try:
            for slot in range(self.workers):
                self._spawn(slot)
            self._loop()
        finally:
            signal.set_wakeup_fd(old_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._selector.close()
            for fd in self._wakeup:
                os.close(fd)
        if self._failure is not None:
            raise StartError(self._failure)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum != signal.SIGCHLD:
            self._signal = signum

    def _loop(self) -> None:
        while self._running or (self._stopping is None and self._signal is None):
            now = time.monotonic()
            if self._signal is not None and self._stopping is None:
                self._stop()
            if self._stopping is not None and now > self._stopping:
                for worker in self._running.values():
                    log.error("worker %d (pid %d) did not stop in time: killing it", worker.slot, worker.pid)
                    self._kill(worker.pid, signal.SIGKILL)
                self._stopping = float("inf")
            for event, _ in self._selector.select(self._timeout(now)):
                if event.data is None:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wakeup[0], 512)
                else:
                    self._receive(event.data)
            self._reap()
            self._restart_due()

    def _timeout(self, now: float) -> float | None:
        deadlines = [slot.restart_at for slot in self._slots if slot.restart_at is not None]
        if self._stopping is not None and self._stopping != float("inf"):
            deadlines.append(self._stopping)
        return max(0.0, min(deadlines) - now) if deadlines else None

    def _stop(self) -> None:
        """SIGTERM every worker (a starting one may ignore SIGINT): each finishes its requests and exits."""
        self._stopping = time.monotonic() + STOP_TIMEOUT
        for slot in self._slots:
            slot.restart_at = None
        for worker in self._running.values():
            self._kill(worker.pid, signal.SIGTERM)

    def _spawn(self, slot: int) -> None:
        parent_end, child_end = socket.socketpair()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            parent_end.close()
            os._exit(self._child(slot, child_end))
        child_end.close()
        parent_end.setblocking(False)
        worker = _Worker(slot, pid, parent_end, time.monotonic())
        self._running[pid] = worker
        self._selector.register(parent_end, selectors.EVENT_READ, worker)

    def _child(self, slot: int, channel: socket.socket) -> int:
        """The worker's life, after the fork; its exit code (it never returns into the parent's code)."""
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C reaches the parent, which sends SIGTERM
            self._selector.close()
            for fd in self._wakeup:
                os.close(fd)
            for worker in self._running.values():
                worker.channel.close()
            for other, (public, admin) in enumerate(self.listeners):
                for sock in (*public, *admin) if other != slot else ():
                    sock.close()
            worker_module = importlib.import_module("kratos.driver.worker")
            code = worker_module.run(self.config, self.listeners[slot], channel)
        except BaseException:
            logging.getLogger(__name__).exception("worker %d failed", os.getpid())
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        return code

    def _receive(self, worker: _Worker) -> None:
        """Read the worker's JSON lines: ``{"ready": true}`` or ``{"error": message}``."""
        try:
            data = worker.channel.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._selector.unregister(worker.channel)
            return
        worker.buffer += data
        *lines, worker.buffer = worker.buffer.split(b"\n")
        for line in lines:
            message = _json(line)
            if message.get("ready"):
                worker.ready = True
                self._on_ready(worker)
            elif isinstance(error := message.get("error"), str):
                worker.error = error

    def _on_ready(self, worker: _Worker) -> None:
        if self._serving:
            log.info("worker %d (pid %d) is serving again", worker.slot, worker.pid)
        elif all(w.ready for w in self._running.values()) and len(self._running) == self.workers:
            self._serving = True
            log.info(
                "serving the public API on port %d and the admin API on port %d with %d workers",
                self.config.serve.public.port,
                self.config.serve.admin.port,
                self.workers,
            )

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self._running.pop(pid, None)
            if worker is not None:
                self._exited(worker, status)

    def _exited(self, worker: _Worker, status: int) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(worker.channel)
        worker.channel.setblocking(True)
        worker.channel.settimeout(1.0)
        with contextlib.suppress(OSError):
            while data := worker.channel.recv(65536):
                worker.buffer += data
        for line in worker.buffer.split(b"\n"):
            error = _json(line).get("error")
            worker.error = error if isinstance(error, str) else worker.error
        worker.channel.close()
        _forget_live_metrics(worker.pid)
        if self._stopping is not None:
            return
        how = _describe(status)
        if not self._serving:  # the first start: fail once, with the first worker's message
            self._failure = worker.error or f"worker {worker.slot} (pid {worker.pid}) {how} while starting"
            self._stop()
            return
        slot = self._slots[worker.slot]
        slot.failures = (
            0 if worker.ready and time.monotonic() - worker.started_at >= STEADY else slot.failures
        )
        delay = RESTART_DELAYS[min(slot.failures, len(RESTART_DELAYS) - 1)]
        slot.failures += 1
        slot.restart_at = time.monotonic() + delay
        log.error(
            "worker %d (pid %d) %s%s: restarting it in %.0f s",
            worker.slot,
            worker.pid,
            how,
            f": {worker.error}" if worker.error else "",
            delay,
        )

    def _restart_due(self) -> None:
        now = time.monotonic()
        for index, slot in enumerate(self._slots):
            if slot.restart_at is not None and slot.restart_at <= now and self._stopping is None:
                slot.restart_at = None
                self._spawn(index)

    @staticmethod
    def _kill(pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def serve(config: KratosConfig, workers: int) -> None:
    """Serve with ``workers`` processes until SIGTERM or SIGINT.

    Raises :class:`StartError` when a port cannot be bound or a worker cannot start. Prometheus metrics
    are kept in a temporary directory shared by the workers (prometheus_client's multiprocess mode), so
    any worker answers ``/metrics/prometheus`` with the totals; the directory is removed on exit.
    """
    metrics_dir = tempfile.mkdtemp(prefix="kratos-metrics-")
    previous = os.environ.get(METRICS_ENV)
    os.environ[METRICS_ENV] = metrics_dir
    opened: list[socket.socket] = []
    try:
        public = listen(config.serve.public.host, config.serve.public.port, workers, opened)
        admin = listen(config.serve.admin.host, config.serve.admin.port, workers, opened)
        Supervisor(config, list(zip(public, admin, strict=True))).run()
    finally:
        for sock in opened:
            sock.close()
        if previous is None:
            os.environ.pop(METRICS_ENV, None)
        else:
            os.environ[METRICS_ENV] = previous
        shutil.rmtree(metrics_dir, ignore_errors=True)


def listen(host: str, port: int, copies: int, opened: list[socket.socket]) -> list[list[socket.socket]]:
    """``copies`` sets of listening sockets (one per worker) on each address of ``host``.

    An empty host means every interface. Each socket is added to ``opened``; :class:`StartError` names the
    address that cannot be bound.

    The copies of an address form a ``SO_REUSEPORT`` group: the kernel gives each new connection to one
    of them by a hash of its addresses, so the workers get an even share even of connections opened all
    at once and kept alive (one shared socket lets the first worker to wake accept a whole burst). A port
    someone already listens on is refused, even by another ``SO_REUSEPORT`` group (a kratos still running).
    """
    host = host or "0.0.0.0"  # noqa: S104 - upstream listens on every interface by default
    sets: list[list[socket.socket]] = [[] for _ in range(copies)]
    try:
        for family, kind, proto, _, address in dict.fromkeys(
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        ):
            with socket.socket(family, kind, proto) as probe:  # binds only if nobody listens there
                _options(probe, reuse_port=False)
                probe.bind(address)
            for sockets in sets:
                sock = socket.socket(family, kind, proto)
                opened.append(sock)
                _options(sock, reuse_port=True)
                sock.bind(address)
                sock.listen(BACKLOG)
                sockets.append(sock)
    except OSError as exc:
        raise StartError(f"unable to start: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sets


def _options(sock: socket.socket, *, reuse_port: bool) -> None:
    """The options asyncio gives a server socket, and ``SO_REUSEPORT``."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)


def _json(line: bytes) -> dict[str, object]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"


def _forget_live_metrics(pid: int) -> None:
    """What ``prometheus_client.multiprocess.mark_process_dead`` does, without importing it here."""
    directory = os.environ.get(METRICS_ENV)
    for path in Path(directory).glob(f"gauge_live*_{pid}.db") if directory else ():
        path.unlink(missing_ok=True)
