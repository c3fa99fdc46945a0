"""Is the charm packable on its base? Run by ``tox -e unit``.

1. ``charmcraft expand-extensions`` (the current charmcraft, from PyPI) loads and validates charmcraft.yaml
   with metadata.yaml, config.yaml and actions.yaml.
2. requirements.txt is installed for the base's Python as the charm plugin installs it (its own pip command,
   strict dependencies: sources except the binary-allowed packages), and ``pip check`` passes.
3. That Python imports the charm (``src/charm.py``) with what was installed.

Usage: ``python tests/pack/check_pack.py [WORKDIR]`` (a reused WORKDIR keeps the venvs).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHARMCRAFT = "charmcraft==4.5.0"
BASE_PYTHON = {"ubuntu@20.04": "3.8", "ubuntu@22.04": "3.10", "ubuntu@24.04": "3.12"}


def fail(message: str) -> None:
    sys.exit(f"check_pack: {message}")


def run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a command; on failure, exit with its output."""
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        fail(f"{' '.join(map(str, command))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def find_python(version: str) -> str:
    """An interpreter of ``version``: on the PATH, under pyenv, or one uv knows."""
    candidates = [f"python{version}"]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"), reverse=True)
    for candidate in candidates:
        path = shutil.which(candidate)
        if path is None:
            continue
        probe = subprocess.run(
            [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return path
    if shutil.which("uv"):
        found = subprocess.run(["uv", "python", "find", version], capture_output=True, text=True, check=False)
        if found.returncode == 0:
            return found.stdout.strip()
    fail(f"no Python {version} here (the base's); install it to run this check")
    raise AssertionError


def venv(python: str, where: Path) -> Path:
    """A venv at ``where`` (kept if it exists), and its bin directory."""
    if not (where / "bin" / "python").exists():
        run(python, "-m", "venv", where)
        run(where / "bin" / "pip", "install", "-q", "--disable-pip-version-check", "--upgrade", "pip")
    return where / "bin"


def main(workdir: Path) -> None:
    project = yaml.safe_load((ROOT / "charmcraft.yaml").read_text())
    base = project.get("base")
    if base not in BASE_PYTHON:
        fail(f"charmcraft.yaml base {base!r} is not one of {sorted(BASE_PYTHON)}")
    python = find_python(BASE_PYTHON[base])
    part = project["parts"]["charm"]

    tools = venv(python, workdir / "charmcraft")
    if uv := shutil.which("uv"):  # many times faster for charmcraft's tree (the charm's install stays pip's)
        run(uv, "pip", "install", "-q", "--python", tools / "python", CHARMCRAFT)
    else:
        run(tools / "pip", "install", "-q", "--disable-pip-version-check", CHARMCRAFT)
    env = {**os.environ, "HOME": str(workdir)}  # charmcraft keeps its logs under $HOME
    run(tools / "charmcraft", "expand-extensions", cwd=ROOT, env=env)
    print(f"charmcraft.yaml: valid for {CHARMCRAFT}, base {base}")

    charm = venv(python, workdir / "charm")
    command = [str(charm / "pip"), "install", "-q", "--disable-pip-version-check"]
    if part.get("charm-strict-dependencies"):
        command.append("--no-deps")
    requirements = [str(ROOT / path) for path in part.get("charm-requirements", ["requirements.txt"])]
    binary = part.get("charm-binary-python-packages", [])
    # The charm plugin's own pip command, from charmcraft's code in its venv.
    build = (
        "import json, pathlib, sys; from charmcraft.utils.package import get_pip_command; "
        "prefix, files, binary = json.loads(sys.argv[1]); "
        "files = [pathlib.Path(f) for f in files]; "
        "print(json.dumps(get_pip_command(prefix, files, binary_deps=binary)))"
    )
    pip_command = json.loads(run(tools / "python", "-c", build, json.dumps([command, requirements, binary])))
    run(*pip_command, cwd=ROOT)
    run(charm / "pip", "check")
    version = run(
        charm / "python",
        "-c",
        "import charm, sys; print(sys.version.split()[0])",
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT / 'lib'}"},
    )
    print(
        f"requirements.txt: installed as the charm plugin does, and src/charm.py imports on Python {version}"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]).resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="kratos-pack-") as tmp:
            main(Path(tmp))
