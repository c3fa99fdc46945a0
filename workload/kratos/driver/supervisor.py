"""``kratos serve --workers N``: the parent binds both ports once, forks N workers and keeps them running.

Each worker owns one socket per address, all of one ``SO_REUSEPORT`` group (see :class:`Endpoint`): the
kernel spreads new connections over the workers that listen. The parent binds every socket before the
first fork, so a port in use is reported once; a worker listens only once it is ready, so connections
never wait on one still starting, and a worker that dies takes its socket with it, its share going to
the others until its replacement (bound anew) is ready.

The parent stays small: it imports neither the apps nor the database drivers, which each worker loads
after the fork (in parallel, one per core).
"""

from __future__ import annotations

import contextlib
import ctypes
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kratos.config import KratosConfig

log = logging.getLogger(__name__)

STOP_TIMEOUT = 15.0
"""Seconds the workers get to finish their requests after SIGTERM (uvicorn allows them 10) before SIGKILL."""
RESTART_DELAYS = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)
"""Seconds before restarting a worker that died, by how many times in a row it died early."""
STEADY = 10.0
"""A worker that ran this long resets its slot's restart delay."""
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_PR_SET_PDEATHSIG = 1


Listeners = tuple[list[socket.socket], list[socket.socket]]
"""One worker's listening sockets: the public port's and the admin port's, one per address."""


WorkerMain = Callable[[KratosConfig, Listeners, socket.socket], int]
"""A worker's life after the fork: config, its sockets, the channel to the parent -> the exit code."""


class StartError(Exception):
    """A worker could not start; the message, the first worker's, is for the user."""


@dataclass(eq=False)
class _Worker:
    slot: int
    pid: int
    channel: socket.socket
    started_at: float
    restarted: bool
    ready: bool = False
    error: str | None = None
    buffer: bytes = b""


@dataclass(eq=False)
class _Slot:
    failures: int = 0
    restart_at: float | None = None


class Supervisor:
    """Forks the workers, forwards SIGTERM and SIGINT to them and restarts those that die."""

    def __init__(
        self,
        config: KratosConfig,
        endpoints: tuple[Endpoint, Endpoint],
        workers: int,
        worker: WorkerMain | None = None,
    ) -> None:
        """``workers`` processes on the (public, admin) ``endpoints``, each running ``worker``."""
        self.config = config
        self.endpoints = endpoints
        self.workers = workers
        self._main = worker
        self._parent = os.getpid()
        self._unclaimed: dict[int, Listeners] = {}  # bound sockets whose worker is not forked yet
        self._running: dict[int, _Worker] = {}
        self._slots = [_Slot() for _ in range(workers)]
        self._selector = selectors.DefaultSelector()
        self._wakeup = (-1, -1)
        self._signal: int | None = None
        self._stopping: float | None = None
        self._failure: str | None = None
        self._started = False  # a worker serves: from then on, one that dies is restarted
        self._starting = set(range(self.workers))  # the first workers not serving yet

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT; raise :class:`StartError` when a port or a worker cannot start."""
        try:
            for slot in range(self.workers):
                self._unclaimed[slot] = self._bind()
        except OSError as exc:
            self._close_unclaimed()
            raise StartError(f"unable to start: {exc}") from None
        self._wakeup = os.pipe()
        for fd in self._wakeup:
            os.set_blocking(fd, False)
        self._selector.register(self._wakeup[0], selectors.EVENT_READ)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        previous[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, self._on_signal)
        old_wakeup = signal.set_wakeup_fd(self._wakeup[1])
        try:
            for slot in range(self.workers):
                self._spawn(slot, restarted=False)
            self._loop()
        finally:
            signal.set_wakeup_fd(old_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._selector.close()
            for fd in self._wakeup:
                os.close(fd)
            self._close_unclaimed()
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

    def _bind(self) -> Listeners:
        public = self.endpoints[0].bind()
        try:
            return public, self.endpoints[1].bind()
        except OSError:
            for sock in public:
                sock.close()
            raise

    def _close_unclaimed(self) -> None:
        for public, admin in self._unclaimed.values():
            for sock in (*public, *admin):
                sock.close()
        self._unclaimed.clear()

    def _spawn(self, slot: int, *, restarted: bool) -> None:
        sockets = self._unclaimed.pop(slot, None)
        if sockets is None:
            try:
                sockets = self._bind()
            except OSError as exc:
                self._retry(slot, f"cannot bind its sockets: {exc}")
                return
        parent_end, child_end = socket.socketpair()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            parent_end.close()
            os._exit(self._child(slot, sockets, child_end))
        child_end.close()
        for sock in (*sockets[0], *sockets[1]):  # the worker owns them now
            sock.close()
        parent_end.setblocking(False)
        worker = _Worker(slot, pid, parent_end, time.monotonic(), restarted)
        self._running[pid] = worker
        self._selector.register(parent_end, selectors.EVENT_READ, worker)

    def _child(self, slot: int, sockets: Listeners, channel: socket.socket) -> int:
        """The worker's life, after the fork; its exit code (it never returns into the parent's code).

        Only worker 0 runs the courier (``watch-courier``): one dispatcher per server, restarted with it.
        """
        code = 1
        try:
            _die_with_parent(self._parent)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C reaches the parent, which sends SIGTERM
            self._selector.close()
            for fd in self._wakeup:
                os.close(fd)
            for worker in self._running.values():
                worker.channel.close()
            self._close_unclaimed()
            main = self._main or importlib.import_module("kratos.driver.worker").run
            config = self.config
            if slot != 0 and config.watch_courier:
                config = config.model_copy(update={"watch_courier": False})
            code = main(config, sockets, channel)
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
        self._started = True
        if worker.restarted:
            log.info("worker %d (pid %d) is serving again", worker.slot, worker.pid)
        if worker.slot in self._starting:
            self._starting.discard(worker.slot)
            if self._starting:
                return
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
        if not self._started:  # no worker ever served: fail once, with the first worker's message
            self._failure = worker.error or f"worker {worker.slot} (pid {worker.pid}) {how} while starting"
            self._stop()
            return
        if worker.ready and time.monotonic() - worker.started_at >= STEADY:
            self._slots[worker.slot].failures = 0
        self._retry(worker.slot, f"(pid {worker.pid}) {how}" + (f": {worker.error}" if worker.error else ""))

    def _retry(self, index: int, why: str) -> None:
        """Start the slot's worker again, later each time it fails in a row."""
        slot = self._slots[index]
        delay = RESTART_DELAYS[min(slot.failures, len(RESTART_DELAYS) - 1)]
        slot.failures += 1
        slot.restart_at = time.monotonic() + delay
        log.error("worker %d %s: restarting it in %.0f s", index, why, delay)

    def _restart_due(self) -> None:
        now = time.monotonic()
        for index, slot in enumerate(self._slots):
            if slot.restart_at is not None and slot.restart_at <= now and self._stopping is None:
                slot.restart_at = None
                self._spawn(index, restarted=True)

    @staticmethod
    def _kill(pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def serve(config: KratosConfig, workers: int) -> None:
    """Serve with ``workers`` processes until SIGTERM or SIGINT.

    Raises :class:`StartError` when a port cannot be bound or no worker can start. Prometheus metrics
    are kept in a temporary directory shared by the workers (prometheus_client's multiprocess mode), so
    any worker answers ``/metrics/prometheus`` with the totals; the directory is removed on exit.
    """
    endpoints = (
        Endpoint.resolve(config.serve.public.host, config.serve.public.port),
        Endpoint.resolve(config.serve.admin.host, config.serve.admin.port),
    )
    metrics_dir = tempfile.mkdtemp(prefix="kratos-metrics-")
    previous = os.environ.get(METRICS_ENV)
    os.environ[METRICS_ENV] = metrics_dir
    try:
        Supervisor(config, endpoints, workers).run()
    finally:
        if previous is None:
            os.environ.pop(METRICS_ENV, None)
        else:
            os.environ[METRICS_ENV] = previous
        shutil.rmtree(metrics_dir, ignore_errors=True)


@dataclass(frozen=True)
class Endpoint:
    """A port and the addresses its host resolves to, one listening socket per address in each worker.

    A worker's sockets join a ``SO_REUSEPORT`` group per address: the kernel gives each new connection
    to one of the listening ones by a hash of its addresses, so the workers get even shares, even of
    connections opened all at once and kept alive (one shared socket lets the first worker to wake
    accept a whole burst: 7 and 25 of 32 connections in a test, and half the throughput).
    """

    host: str
    port: int
    addresses: tuple[tuple[socket.AddressFamily, socket.SocketKind, int, Any], ...]

    @classmethod
    def resolve(cls, host: str, port: int) -> Endpoint:
        """Every address of ``host`` (every interface when empty), checked free; else :class:`StartError`.

        Free means nobody listens there, not even another ``SO_REUSEPORT`` group (a kratos still running).
        """
        host = host or "0.0.0.0"  # noqa: S104 - upstream listens on every interface by default
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
            addresses = tuple(dict.fromkeys((info[0], info[1], info[2], info[4]) for info in infos))
            for family, kind, proto, address in addresses:
                with socket.socket(family, kind, proto) as probe:
                    _options(probe, reuse_port=False)
                    probe.bind(address)
        except OSError as exc:
            raise StartError(
                f"unable to start: cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None
        return cls(host, port, addresses)

    def bind(self) -> list[socket.socket]:
        """One worker's sockets, bound but not listening: the worker listens when it is ready."""
        sockets: list[socket.socket] = []
        try:
            for family, kind, proto, address in self.addresses:
                sock = socket.socket(family, kind, proto)
                sockets.append(sock)
                _options(sock, reuse_port=True)
                sock.bind(address)
        except OSError as exc:
            for sock in sockets:
                sock.close()
            raise OSError(exc.errno, f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        return sockets


def _options(sock: socket.socket, *, reuse_port: bool) -> None:
    """The options asyncio gives a server socket, and ``SO_REUSEPORT``."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill the worker when the parent dies (Linux).

    Even a worker stuck in a loop or on a lock must not outlive the process that restarts and stops it.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before that
        os._exit(1)


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
