"""Records what real Go (text/template, html/template and Sprig) prints for tests/data/gotemplate/cases.json.

usage: cd workload && python tests/record_go_templates.py
(needs `go`; fetches Sprig through the Go module proxy)
Writes tests/data/gotemplate/expected.json, which test_gotemplate.py compares this engine against.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

DATA = Path(__file__).parent / "data" / "gotemplate"


def main() -> None:
    """Build the oracle, feed it every case, store its answers."""
    with tempfile.TemporaryDirectory() as build:
        binary = Path(build) / "oracle"
        env = {**os.environ, "GOFLAGS": "-mod=mod", "TZ": "UTC"}
        subprocess.run(["go", "build", "-o", str(binary), "."], cwd=DATA / "oracle", env=env, check=True)
        cases = (DATA / "cases.json").read_bytes()
        result = subprocess.run([str(binary)], input=cases, env=env, capture_output=True, check=True)
    go_version = subprocess.run(["go", "version"], capture_output=True, text=True, check=True).stdout.strip()
    recorded = {"go": go_version, "results": json.loads(result.stdout)}
    (DATA / "expected.json").write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
