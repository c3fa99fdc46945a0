"""How many CPUs this process may use: its affinity, capped by a cgroup (v2 or v1) CPU quota."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
SELF_CGROUP = Path("/proc/self/cgroup")


def available_cpus(root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP) -> int:
    """The CPUs this process may use, at least 1: a quota of 1.5 CPUs counts as 2, as Go and the JVM do."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    limit = cpu_limit(root, self_cgroup)
    if limit is not None:
        cpus = min(cpus, math.ceil(limit))
    return max(1, cpus)


def cpu_limit(root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP) -> float | None:
    """The tightest CPU quota, in CPUs, of this process's cgroup and its parents; None when there is none.

    cgroup v2 reads ``cpu.max`` (``"<quota> <period>"`` or ``"max <period>"``) under ``root``; cgroup v1
    reads ``cpu.cfs_quota_us`` (-1: none) and ``cpu.cfs_period_us`` under the ``cpu`` controller's mount.
    In a container, ``root`` is the container's own cgroup; on a host, the path in ``self_cgroup`` is.
    """
    limits: list[float] = []
    for controllers, path in _memberships(self_cgroup):
        if not controllers:  # "0::/path": the unified (v2) hierarchy
            for directory in _lineage(root, path):
                limits.extend(_v2_limit(directory))
        elif "cpu" in controllers:
            mount = next((root / name for name in _v1_mounts(controllers) if (root / name).is_dir()), None)
            for directory in _lineage(mount, path) if mount else ():
                limits.extend(_v1_limit(directory))
    return min(limits) if limits else None


def _memberships(self_cgroup: Path) -> Iterator[tuple[list[str], str]]:
    """``(controllers, path)`` per line of ``/proc/self/cgroup`` (``"4:cpu,cpuacct:/docker/abc"``)."""
    try:
        text = self_cgroup.read_text()
    except OSError:
        return
    for line in text.splitlines():
        _, sep, rest = line.partition(":")
        controllers, sep2, path = rest.partition(":")
        if sep and sep2:
            yield [name for name in controllers.split(",") if name], path


def _v1_mounts(controllers: list[str]) -> list[str]:
    """Where the v1 ``cpu`` controller may be mounted under the root: ``cpu,cpuacct`` or ``cpu``."""
    return [",".join(controllers), ",".join(sorted(controllers)), "cpu"]


def _lineage(mount: Path, path: str) -> Iterator[Path]:
    """The process's cgroup directory and its parents, up to the mount.

    Only the mount when the path is not visible there: a container sees its own cgroup at the mount point.
    """
    parts = [part for part in path.split("/") if part]
    if ".." in parts or not (mount.joinpath(*parts)).is_dir():
        parts = []
    for depth in range(len(parts), -1, -1):
        yield mount.joinpath(*parts[:depth])


def _v2_limit(directory: Path) -> list[float]:
    fields = _read(directory / "cpu.max").split()
    if len(fields) == 2 and fields[0] != "max":
        return _ratio(fields[0], fields[1])
    return []


def _v1_limit(directory: Path) -> list[float]:
    return _ratio(_read(directory / "cpu.cfs_quota_us"), _read(directory / "cpu.cfs_period_us"))


def _ratio(quota: str, period: str) -> list[float]:
    try:
        quota_us, period_us = int(quota), int(period)
    except ValueError:
        return []
    return [quota_us / period_us] if quota_us > 0 and period_us > 0 else []


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
