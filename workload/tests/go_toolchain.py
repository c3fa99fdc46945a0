"""A Go toolchain for building test servers from the Go module proxy (Hydra here, Pebble for the charm).

The installed ``go`` is used when it is new enough; otherwise a toolchain zip is fetched from the module
proxy (``golang.org/toolchain``) into a cache directory, once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

TOOLCHAIN = "v0.0.1-go1.25.14"  # fetched from the proxy where the installed Go is missing or too old


class GoUnavailable(Exception):
    """Neither a usable Go nor the Go module proxy can be reached: the caller skips."""


def module_proxy() -> str:
    """The first HTTP(S) entry of ``GOPROXY`` (default: proxy.golang.org)."""
    for entry in re.split(r"[,|]", os.environ.get("GOPROXY", "https://proxy.golang.org")):
        if entry.startswith(("http://", "https://")):
            return entry.rstrip("/")
    return "https://proxy.golang.org"


def proxy_get(path: str, timeout: float = 30.0) -> bytes:
    """``GET <proxy>/<path>``; raises :class:`GoUnavailable` when the proxy cannot be reached."""
    url = f"{module_proxy()}/{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.read()
    except (urllib.error.URLError, OSError) as exc:
        raise GoUnavailable(f"the Go module proxy is not reachable ({url}: {exc})") from None


def go_directive(go_mod: str) -> tuple[int, ...]:
    """The version a ``go.mod`` asks for (its ``go`` line), e.g. ``(1, 22)``."""
    found = re.search(r"^go\s+(\d+)\.(\d+)", go_mod, re.MULTILINE)
    if found is None:
        raise ValueError("go.mod has no 'go' directive")
    return int(found[1]), int(found[2])


def go_version(go: str) -> tuple[int, ...]:
    """``(major, minor)`` of the ``go`` command at ``go``, or ``()`` when it does not run."""
    try:
        done = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False)
    except OSError:
        return ()
    digits = done.stdout.strip().removeprefix("go").split(".")[:2] if done.returncode == 0 else []
    return tuple(int(d) for d in digits if d.isdigit())


def go_command(needed: tuple[int, ...], cache: Path) -> str:
    """A ``go`` of at least version ``needed``: the installed one, else a toolchain cached in ``cache``."""
    installed = shutil.which("go")
    if installed and go_version(installed) >= needed:
        return installed
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine)
    if arch is None:
        raise GoUnavailable(f"no Go toolchain for {os.uname().machine} and no Go >= {needed} installed")
    name = f"{TOOLCHAIN}.linux-{arch}"
    go = cache / f"golang.org/toolchain@{name}" / "bin" / "go"
    if not go.exists():
        cache.mkdir(parents=True, exist_ok=True)
        archive = cache / f"{name}.zip"
        archive.write_bytes(proxy_get(f"golang.org/toolchain/@v/{name}.zip", timeout=600))
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.infolist():
                path = Path(zipped.extract(member, cache))
                path.chmod((member.external_attr >> 16) & 0o777 or 0o644)
        archive.unlink()
    return str(go)
