"""The identity admin API answers as upstream Ory Kratos v26.2.0 does: statuses, shapes and texts."""

from __future__ import annotations

import uuid

import httpx
from kratos_process import KratosProcess


def test_errors_are_typed_as_upstream_types_them(kratos: KratosProcess) -> None:
    missing = httpx.get(f"{kratos.admin_url}/admin/identities/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"
    found = httpx.get(f"{kratos.admin_url}/admin/identities")
    assert found.headers["content-type"] == "application/json; charset=utf-8"
