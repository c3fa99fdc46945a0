"""This server answers the flows exactly as upstream Ory Kratos v26.2.0 did (recorded in data/upstream/)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from kratos_process import DATA, KratosProcess
from server_fixtures import running_kratos
from upstream_cases import CASES, overrides, run


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KratosProcess]:
    """A server with the configuration upstream was recorded with."""
    yield from running_kratos(request, tmp_path_factory, overrides(str(DATA)))


def recorded(name: str) -> list[dict[str, Any]]:
    return json.loads((DATA / "upstream" / f"{name}.json").read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_answers_match_upstream(server: KratosProcess, name: str) -> None:
    ours = json.loads(json.dumps(run(name, server.public_url), sort_keys=True))
    theirs = recorded(name)
    assert [a["step"] for a in ours] == [a["step"] for a in theirs]
    for mine, upstream in zip(ours, theirs, strict=True):
        if mine != upstream:
            lines = difflib.unified_diff(
                json.dumps(upstream, indent=1, sort_keys=True).splitlines(),
                json.dumps(mine, indent=1, sort_keys=True).splitlines(),
                "upstream",
                "ours",
                lineterm="",
            )
            pytest.fail(f"step {mine['step']} of {name} differs from upstream:\n" + "\n".join(lines))
