"""Record upstream Ory Kratos's answers to ``upstream_cases`` into ``data/upstream/`` (a developer tool).

usage: python workload/tests/record_upstream.py [/tmp/kratos-upstream/kratos]
Build upstream first with ../shared/tools/upstream-kratos.sh. The tests never run upstream themselves.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from kratos_process import DATA, KratosProcess
from upstream_cases import CASES, overrides, run


class UpstreamProcess(KratosProcess):
    """Upstream's binary instead of ours."""

    binary: str = "/tmp/kratos-upstream/kratos"

    def command(self, *args: str) -> list[str]:
        return [self.binary, *args]


def main() -> None:
    binary = sys.argv[1] if len(sys.argv) > 1 else UpstreamProcess.binary
    for name in CASES:
        with tempfile.TemporaryDirectory() as work:
            server = UpstreamProcess(
                Path(work), f"sqlite://{work}/db.sqlite?_fk=true&mode=rwc", overrides(str(DATA))
            )
            server.binary = binary
            server.migrate()
            server.start()
            try:
                recorded = run(name, server.public_url)
            finally:
                server.stop()
        (DATA / "upstream" / f"{name}.json").write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        print(f"recorded {name}: {len(recorded)} answers")


if __name__ == "__main__":
    main()
