"""A benchmarked ``kratos serve``: ours or upstream's binary, optionally pinned to core 0, with its CPU."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "workload" / "tests"))

from kratos_process import KratosProcess, _deep_merge  # noqa: E402

PASSWORD = "a benchmark passphrase 42"
HASH_COST = 12  # the configured bcrypt cost (upstream's default)
PINNABLE = bool(shutil.which("taskset")) and (os.cpu_count() or 1) > 1


@dataclass
class Server(KratosProcess):
    """One ``kratos serve`` (ours or upstream's, by ``cli``) on its own database and ports."""

    name: str = "ours"
    cli: list[str] = field(default_factory=lambda: [sys.executable, "-m", "kratos"])
    pinned: bool = False

    def command(self, *args: str) -> list[str]:
        """``cli`` with ``args``; ``serve`` on core 0 when pinned."""
        prefix = ["taskset", "-c", "0"] if self.pinned and PINNABLE and args[0] == "serve" else []
        return [*prefix, *self.cli, *args]

    def serve(self, pinned: bool = False, cost: int = HASH_COST, extra: dict[str, Any] | None = None) -> None:
        """Start (on core 0 when ``pinned``), hashing at bcrypt ``cost``, and wait until ready."""
        self.pinned = pinned
        self.overrides = {
            "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": cost}},
            "courier": {"smtp": {"connection_uri": "smtp://127.0.0.1:1/?disable_starttls=true"}},
            "selfservice": {"methods": {"password": {"config": {"haveibeenpwned_enabled": False}}}},
        }
        _deep_merge(self.overrides, extra or {})
        self.start(timeout=30)

    def processes(self) -> int:
        """How many processes serve (the server and its workers)."""
        assert self.process
        return 1 + len(_children(self.process.pid))

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and its workers."""
        assert self.process
        total = 0.0
        for pid in (self.process.pid, *_children(self.process.pid)):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
