"""The CPU count that sizes ``kratos serve``'s workers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kratos.driver.cpus import available_cpus, cpu_limit

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
