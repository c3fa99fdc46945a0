"""Property-based fuzzing of the implemented admin operations from upstream's OpenAPI spec: never a 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from kratos_process import DATA, KratosProcess
from schemathesis.checks import not_a_server_error

# Upstream's spec (the wire contract); only the operations this server implements so far.
schema = (
    schemathesis.openapi.from_path(DATA / "kratos-openapi.json")
    .include(path_regex=r"^/(admin/identities|schemas|health|admin/health|admin/version)")
    .exclude(path_regex="sessions")
)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_input_makes_the_admin_api_fail(case: schemathesis.Case, kratos: KratosProcess) -> None:
    case.call_and_validate(base_url=kratos.admin_url, checks=[not_a_server_error])
