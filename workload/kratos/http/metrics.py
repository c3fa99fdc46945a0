"""Prometheus metrics for both ports.

With several worker processes, ``PROMETHEUS_MULTIPROC_DIR`` is set before this module is imported: each
worker then writes its samples to files there, and any worker answers with the totals of all of them,
including the ``process_*`` (the parent and every worker, summed) and ``python_gc_*`` metrics.
"""

from __future__ import annotations

import functools
import gc
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")

REQUESTS = Counter("http_requests_total", "HTTP requests handled.", ["port", "method", "path", "status"])
DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to handle an HTTP request.",
    ["port", "method", "path"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def observe(port: str, method: str, path: str, status: int, seconds: float) -> None:
    """Count one request and its duration."""
    REQUESTS.labels(port, method, path, str(status)).inc()
    DURATION.labels(port, method, path).observe(seconds)
    if MULTIPROCESS_DIR and time.monotonic() >= _COLLECTIONS.due:
        _COLLECTIONS.count()


async def prometheus(_: Request) -> Response:
    """``GET /metrics/prometheus``: the text exposition format."""
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


@functools.cache
def _registry() -> CollectorRegistry:
    """The process's own registry, or one that sums every worker's in multiprocess mode."""
    if not MULTIPROCESS_DIR:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=MULTIPROCESS_DIR)
    registry.register(_ServerProcesses())
    PlatformCollector(registry=registry)
    return registry


# prometheus_client's GCCollector reads this process only: in multiprocess mode its counts go to the
# shared files instead, from gc.get_stats() after a request (at most once a second). Never from a
# gc.callbacks hook: a collection can start inside a metric update, which holds prometheus_client's
# (non-reentrant) multiprocess lock, and the hook would wait for it forever.
_GC = (
    (
        "collections",
        Counter(
            "python_gc_collections",
            "Number of times this generation was collected",
            ["generation"],
            registry=None,
        ),
    ),
    (
        "collected",
        Counter("python_gc_objects_collected", "Objects collected during gc", ["generation"], registry=None),
    ),
    (
        "uncollectable",
        Counter(
            "python_gc_objects_uncollectable",
            "Uncollectable objects found during GC",
            ["generation"],
            registry=None,
        ),
    ),
)


class _Collections:
    """The worker's garbage collections, moved to the shared counters now and then."""

    def __init__(self) -> None:
        self.counted = gc.get_stats()
        self.due = 0.0

    def count(self) -> None:
        """Add the collections since the last call."""
        self.due = time.monotonic() + 1.0
        stats = gc.get_stats()
        for generation, (now, before) in enumerate(zip(stats, self.counted, strict=True)):
            for key, counter in _GC:
                if now[key] > before[key]:
                    counter.labels(str(generation)).inc(now[key] - before[key])
        self.counted = stats


_COLLECTIONS = _Collections()


class _ServerProcesses:
    """``process_*`` of the whole server: the parent's start time and limits, the sum of the rest."""

    _SUMMED = frozenset(
        {
            "process_cpu_seconds",
            "process_resident_memory_bytes",
            "process_virtual_memory_bytes",
            "process_open_fds",
        }
    )

    def collect(self) -> Iterable[Metric]:
        """Read ``/proc`` for the parent and each worker."""
        parent = os.getppid()
        families: dict[str, Metric] = {}
        for pid in (parent, *_children(parent)):
            for family in ProcessCollector(pid=lambda pid=pid: pid, registry=None).collect():
                known = families.setdefault(family.name, family)
                if known is not family and family.name in self._SUMMED:
                    known.samples[0] = known.samples[0]._replace(
                        value=known.samples[0].value + family.samples[0].value
                    )
        return families.values()


def _children(pid: int) -> Iterator[int]:
    try:
        yield from (int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    except OSError:  # a kernel without CONFIG_PROC_CHILDREN
        yield os.getpid()
