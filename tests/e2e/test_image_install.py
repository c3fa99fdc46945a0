"""The workload as its image has it: image/install.sh, run as the Dockerfile runs it, at the image's paths.

The session's install (``conftest.image``) stages into a DESTDIR and is copied to ``/`` as
``COPY --from=build /rootfs/ /`` does; the real Pebble of the other tests runs this ``kratos``.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import CLEAN_ENV, VERSION, WORKLOAD, Installed
from kratos_process import KratosProcess


@pytest.fixture
def installed(image: Installed) -> Installed:
    return image


def run_kratos(installed: Installed, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed.kratos), *args],
        env={**CLEAN_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_kratos_version_prints_the_workload_version(installed: Installed) -> None:
    result = run_kratos(installed, "version")
    assert result.returncode == 0, result.stderr
    assert re.search(rf"^Version:\s+{re.escape(VERSION)}$", result.stdout, re.MULTILINE), result.stdout


@dataclass
class InstalledKratos(KratosProcess):
    """The installed `kratos` link instead of this interpreter's package; kratos.yaml in the config dir."""

    binary: Path = Path("/usr/local/bin/kratos")

    def command(self, *args: str) -> list[str]:
        return [str(self.binary), *args]

    @property
    def config_path(self) -> Path:
        return self.workdir / "kratos.yaml"


@pytest.fixture
def served(installed: Installed, tmp_path: Path) -> Iterator[InstalledKratos]:
    """The charm's service command, `serve -c <config dir>/kratos.yaml --watch-courier` (and the helper's
    `--dev`), on SQLite, after `migrate sql -e --yes` as the charm runs it."""
    dsn = f"sqlite://{tmp_path / 'kratos.sqlite'}?_fk=true&mode=rwc"
    server = InstalledKratos(installed.config_dir, dsn, binary=installed.kratos)
    server.migrate()
    server.start("--watch-courier", timeout=60)
    try:
        yield server
    finally:
        server.stop()


def test_the_service_command_serves_both_ports_on_sqlite(served: InstalledKratos) -> None:
    assert httpx.get(f"{served.admin_url}/admin/health/ready", timeout=5).json() == {"status": "ok"}
    assert httpx.get(f"{served.public_url}/health/ready", timeout=5).json() == {"status": "ok"}
    assert httpx.get(f"{served.admin_url}/admin/version", timeout=5).json() == {"version": VERSION}


def test_the_paths_the_image_and_the_charm_use(installed: Installed) -> None:
    assert installed.kratos.is_symlink()
    assert os.readlink(installed.kratos) == str(installed.prefix / "bin" / "kratos")
    config = installed.config_dir.stat()
    assert stat.S_IMODE(config.st_mode) == 0o755
    assert (config.st_uid, config.st_gid) == installed.owner
    # Bytecode compiled at install: a read-only prefix never has to write it.
    assert list((installed.prefix / "lib").glob("python3*/site-packages/kratos/__pycache__/__init__.*.pyc"))


def test_the_non_root_user_can_read_everything_and_change_nothing(installed: Installed) -> None:
    for path in [installed.prefix, *installed.prefix.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            continue
        assert mode & stat.S_IROTH, path
        assert not mode & (stat.S_IWGRP | stat.S_IWOTH), path
        if stat.S_ISDIR(mode) or mode & stat.S_IXUSR:
            assert mode & stat.S_IXOTH, path


def test_nothing_names_the_staging_root(installed: Installed) -> None:
    staged = str(installed.stage).encode()
    texts = [
        installed.prefix / "pyvenv.cfg",
        *(p for p in (installed.prefix / "bin").iterdir() if not p.is_symlink()),
    ]
    assert [p for p in texts if staged in p.read_bytes()] == []
    assert (installed.prefix / "bin" / "kratos").read_text().startswith(f"#!{installed.prefix}/bin/python")


def test_the_source_directory_is_left_as_it_was(installed: Installed) -> None:
    assert frozenset(os.listdir(WORKLOAD)) == installed.source_entries_before


def install_arguments(command: str) -> list[str]:
    """The words after install.sh in one shell command (environment assignments before it left out)."""
    words = shlex.split(command)
    start = next(i for i, word in enumerate(words) if word.endswith("image/install.sh"))
    end = next((i for i, word in enumerate(words[start:], start) if word in {"&&", ";", "||"}), len(words))
    return words[start:end]


def dockerfile_install_command() -> str:
    text = (WORKLOAD / "Dockerfile").read_text().replace("\\\n", " ")
    (command,) = [line for line in text.splitlines() if line.startswith("RUN ") and "install.sh" in line]
    return command.removeprefix("RUN ")


def rockcraft() -> dict[str, object]:
    return yaml.safe_load((WORKLOAD / "rockcraft.yaml").read_text())


def rockcraft_build_script() -> str:
    parts = rockcraft()["parts"]
    assert isinstance(parts, dict)
    return parts["kratos"]["override-build"]


def test_the_dockerfile_and_rockcraft_run_install_sh_alike() -> None:
    (rock_command,) = [line for line in rockcraft_build_script().splitlines() if "install.sh" in line]
    assert install_arguments(dockerfile_install_command()) == ["image/install.sh", ".", "/opt/kratos"]
    assert install_arguments(rock_command) == install_arguments(dockerfile_install_command())


def test_both_images_carry_the_workload_version(tmp_path: Path) -> None:
    assert re.search(
        rf"^ARG VERSION={re.escape(VERSION)}$", (WORKLOAD / "Dockerfile").read_text(), re.MULTILINE
    )
    assert rockcraft()["adopt-info"] == "kratos"
    # The rock's version is what its build script's `version=` line computes in the source directory.
    (line,) = [line for line in rockcraft_build_script().splitlines() if line.startswith("version=")]
    python = tmp_path / "python3"
    python.symlink_to(sys.executable)
    computed = subprocess.run(
        ["sh", "-c", f'{line}\necho "$version"'],
        cwd=WORKLOAD,
        env={**CLEAN_ENV, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert computed.stdout.strip() == VERSION
