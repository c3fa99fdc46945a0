"""Build Ory Hydra from the Go module proxy, once, into a cache shared by test runs and xdist workers.

Hydra's go.mod has replace directives, so ``go install``/``go get`` refuse it. The recipe: download the
module (``go mod download -json github.com/ory/hydra/v2@v2.3.0``), copy its directory somewhere writable,
``go mod edit -dropreplace github.com/ory/hydra-client-go/v2`` (the replacement is a directory the module
zip does not carry), then ``CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=mod" go build``. Built without
CGO it has no SQLite: run it on PostgreSQL.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from go_toolchain import GoUnavailable, go_command, go_directive, proxy_get

HYDRA_VERSION = "v2.3.0"
HYDRA_MODULE = "github.com/ory/hydra/v2"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kratos-tests"


def hydra_binary() -> Path:
    """The cached ``hydra`` binary, built the first time (under a lock: one builder at a time).

    Raises :class:`GoUnavailable` when there is neither a usable Go nor a reachable module proxy.
    """
    binary = CACHE / f"hydra-{HYDRA_VERSION}"
    if binary.exists():
        return binary
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"hydra-{HYDRA_VERSION}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be building: wait for it
        if not binary.exists():
            _build(binary)
    return binary


def _build(binary: Path) -> None:
    needed = go_directive(proxy_get(f"{HYDRA_MODULE}/@v/{HYDRA_VERSION}.mod").decode())
    go = go_command(needed, CACHE)
    env = {**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false -mod=mod"}
    downloaded = subprocess.run(
        [go, "mod", "download", "-json", f"{HYDRA_MODULE}@{HYDRA_VERSION}"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if downloaded.returncode != 0:
        raise GoUnavailable(
            f"go mod download failed: {downloaded.stdout.strip()} {downloaded.stderr.strip()}"
        )
    module_dir = Path(json.loads(downloaded.stdout)["Dir"])
    with tempfile.TemporaryDirectory(prefix="hydra-build-", dir=CACHE) as work:
        source = Path(work) / "hydra"
        shutil.copytree(module_dir, source)
        for path in [source, *source.rglob("*")]:  # the module cache is read-only
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
        partial = binary.with_suffix(".partial")
        for step in (
            ["mod", "edit", "-dropreplace", "github.com/ory/hydra-client-go/v2"],
            ["build", "-o", str(partial), "."],
        ):
            done = subprocess.run(
                [go, *step], cwd=source, env=env, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(
                    f"go {' '.join(step)} failed for Hydra {HYDRA_VERSION}:\n{done.stderr[-4000:]}"
                )
        partial.replace(binary)


if __name__ == "__main__":  # `.ci/run` builds it ahead, beside the first test steps
    try:
        print(hydra_binary())
    except GoUnavailable as unavailable:
        print(f"Hydra not built: {unavailable}")
