"""The remote identity commands against the real server: import, get, list, delete, validate."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import bcrypt
from kratos_process import KratosProcess, kratos_command


def run(kratos: KratosProcess, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        kratos_command(*args),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KRATOS_ADMIN_URL": kratos.admin_url},
    )


def test_import_get_list_delete_round_trip(kratos: KratosProcess, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"schema_id": "default", "traits": {"email": f"one-{tag}@example.com"}}))
    many = tmp_path / "many.json"
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()
    many.write_text(
        json.dumps(
            [
                {
                    "schema_id": "default",
                    "traits": {"email": f"many{i}-{tag}@example.com"},
                    "credentials": {"password": {"config": {"hashed_password": hashed}}},
                }
                for i in range(5)
            ]
        )
    )
    imported = run(kratos, "import", "identities", str(single), str(many), "--format", "json")
    assert imported.returncode == 0, imported.stderr
    identities = json.loads(imported.stdout)
    assert sorted(i["traits"]["email"] for i in identities) == sorted(
        [f"one-{tag}@example.com"] + [f"many{i}-{tag}@example.com" for i in range(5)]
    )

    ids = [identity["id"] for identity in identities]
    got = run(kratos, "get", "identity", ids[0], "--format", "json")
    assert json.loads(got.stdout)["id"] == ids[0]
    table = run(kratos, "get", "identity", ids[0])
    assert table.stdout.splitlines()[0].split()[:2] == ["ID", "VERIFIED"]
    assert ids[0] in table.stdout

    listed = run(kratos, "list", "identities", "--page-size", "500", "--quiet")
    assert set(ids) <= set(listed.stdout.split())

    deleted = run(kratos, "delete", "identity", *ids[:2])
    assert deleted.returncode == 0
    missing = run(kratos, "get", "identity", ids[0])
    assert missing.returncode != 0
    assert "404" in missing.stderr or "Not Found" in missing.stderr


def test_import_from_stdin_and_duplicate_reporting(kratos: KratosProcess) -> None:
    email = f"stdin-{uuid.uuid4().hex[:8]}@example.com"
    body = json.dumps({"schema_id": "default", "traits": {"email": email}})
    first = run(kratos, "import", "identities", "--quiet", stdin=body)
    assert first.returncode == 0, first.stderr
    uuid.UUID(first.stdout.strip())
    again = run(kratos, "import", "identities", stdin=body)
    assert again.returncode != 0
    assert "exists already" in again.stderr  # the batch entry's error, in upstream's words


def test_validate_reports_the_bad_field(kratos: KratosProcess, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"schema_id": "default", "traits": {"email": "valid@example.com"}}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema_id": "default", "traits": {"email": "nope"}}))
    assert run(kratos, "validate", "identity", str(good)).returncode == 0
    result = run(kratos, "validate", "identity", str(bad))
    assert result.returncode != 0
    assert "bad.json" in result.stderr
    assert "#/traits/email" in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert "not valid JSON" in run(kratos, "validate", "identity", str(broken)).stderr


def test_remote_commands_need_an_endpoint() -> None:
    env = {key: value for key, value in os.environ.items() if key != "KRATOS_ADMIN_URL"}
    result = subprocess.run(kratos_command("list", "identities"), capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert "KRATOS_ADMIN_URL" in result.stderr


def test_import_reports_a_refused_file_and_creates_the_others(kratos: KratosProcess, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"schema_id": "default", "traits": {"email": f"good-{tag}@example.com"}}))
    bad.write_text(
        json.dumps(
            {
                "schema_id": "default",
                "traits": {"email": f"bad-{tag}@example.com"},
                "credentials": {"password": {"config": {"hashed_password": "$nope$x"}}},
            }
        )
    )
    imported = run(kratos, "import", "identities", str(good), str(bad), "--format", "json")
    assert imported.returncode == 1
    assert [i["traits"]["email"] for i in json.loads(imported.stdout)] == [f"good-{tag}@example.com"]
    assert f"{bad}: The imported password does not match any known hash format." in imported.stderr
