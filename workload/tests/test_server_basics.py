"""Health, version, metrics, schemas and start-up behaviour of ``kratos serve``."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import ory_kratos_client
import pytest
from kratos_process import DATA, KratosProcess, free_port, kratos_command
from ory_kratos_client import IdentityApi, MetadataApi
from postgres import find_bindir, start_postgres

from kratos import __version__


def test_health_and_version(kratos: KratosProcess, admin_client: ory_kratos_client.ApiClient) -> None:
    metadata = MetadataApi(admin_client)
    assert metadata.is_alive().status == "ok"
    assert metadata.is_ready().status == "ok"
    assert metadata.get_version().version == __version__
    assert httpx.get(f"{kratos.public_url}/health/ready").json() == {"status": "ok"}


def test_metrics_count_requests_by_route(kratos: KratosProcess) -> None:
    httpx.get(f"{kratos.admin_url}/admin/identities")
    body = httpx.get(f"{kratos.admin_url}/metrics/prometheus").text
    assert 'http_requests_total{method="GET",path="/identities",port="admin",status="200"}' in body
    assert httpx.get(f"{kratos.admin_url}/admin/metrics/prometheus").status_code == 200


def test_schemas_on_both_ports(kratos: KratosProcess, public_client: ory_kratos_client.ApiClient) -> None:
    raw = json.loads((DATA / "identity.default.schema.json").read_text())
    for base in (kratos.public_url, kratos.admin_url):
        listed = httpx.get(f"{base}/schemas").json()
        assert [entry["id"] for entry in listed] == ["default", "customer"]
        assert listed[0]["schema"] == raw
        assert httpx.get(f"{base}/schemas/default").json() == raw
    encoded = base64.urlsafe_b64encode(b"default").decode().rstrip("=")
    assert httpx.get(f"{kratos.public_url}/schemas/{encoded}").json() == raw
    missing = httpx.get(f"{kratos.public_url}/schemas/unknown")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == 404
    sdk = IdentityApi(public_client)
    assert [s.id for s in sdk.list_identity_schemas()] == ["default", "customer"]
    assert sdk.get_identity_schema("customer")["properties"]["traits"]["required"] == ["phone"]


def test_schema_url_of_an_identity_resolves(kratos: KratosProcess, identity_api: IdentityApi) -> None:
    created = identity_api.create_identity(
        create_identity_body=ory_kratos_client.CreateIdentityBody(
            schema_id="customer", traits={"phone": "+4917612345678"}
        )
    )
    assert httpx.get(created.schema_url).json()["properties"]["traits"]["required"] == ["phone"]
    assert created.verifiable_addresses[0].via == "sms"


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    server = KratosProcess(tmp_path, f"sqlite://{tmp_path}/fresh.sqlite?_fk=true")
    server.write_config()
    result = subprocess.run(
        kratos_command("serve", "-c", str(server.config_path), "--dev"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "kratos migrate sql" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_an_invalid_config_naming_the_key(tmp_path: Path) -> None:
    server = KratosProcess(tmp_path, "memory", overrides={"serve": {"public": {"port": "not-a-port"}}})
    server.write_config()
    result = subprocess.run(
        kratos_command("serve", "-c", str(server.config_path)), capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "serve.public.port" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_unimplemented_features(tmp_path: Path) -> None:
    server = KratosProcess(tmp_path, "memory", overrides={"tracing": {"provider": "jaeger"}})
    server.write_config()
    result = subprocess.run(
        kratos_command("serve", "-c", str(server.config_path)), capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "tracing.provider: tracing is not implemented yet" in result.stderr


def test_memory_dsn_migrates_itself_and_env_overrides_apply(tmp_path: Path) -> None:
    server = KratosProcess(tmp_path, "sqlite:///nonexistent/dir/never-used.sqlite")
    server.write_config()
    env_dsn = {"DSN": "memory", "LOG_LEVEL": "info"}
    old = {key: os.environ.get(key) for key in env_dsn}
    os.environ.update(env_dsn)
    try:
        server.start()
        response = httpx.post(
            f"{server.admin_url}/admin/identities",
            json={"schema_id": "default", "traits": {"email": "memory@example.com"}},
        )
        assert response.status_code == 201
        assert (
            httpx.get(f"{server.admin_url}/admin/identities").json()[0]["traits"]["email"]
            == "memory@example.com"
        )
    finally:
        server.stop()
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    log = server.log_path.read_text()
    assert '"level":"info"' in log or "level=info" in log


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_log_format(tmp_path: Path, fmt: str) -> None:
    server = KratosProcess(tmp_path, "memory", overrides={"log": {"level": "info", "format": fmt}})
    server.start()
    httpx.get(f"{server.admin_url}/admin/identities")
    server.stop()
    lines = [
        line for line in server.log_path.read_text().splitlines() if "completed handling request" in line
    ]
    assert lines
    if fmt == "json":
        entry = json.loads(lines[0])
        assert entry["level"] == "info"
        assert entry["http_response"]["status"] == 200
    else:
        assert lines[0].startswith("time=")


def test_readme_quickstart_config_migrates_and_serves(tmp_path: Path) -> None:
    """The README's SQLite quickstart, with ports and database moved aside so it cannot clash."""
    repo = Path(__file__).resolve().parents[2]
    config = "workload/examples/quickstart/kratos.yml"
    public, admin = free_port(), free_port()
    env = {
        **os.environ,
        "DSN": f"sqlite://{tmp_path}/quickstart.sqlite?_fk=true&mode=rwc",
        "SERVE_PUBLIC_PORT": str(public),
        "SERVE_ADMIN_PORT": str(admin),
        "SERVE_PUBLIC_BASE_URL": f"http://127.0.0.1:{public}/",
    }
    migrated = subprocess.run(
        kratos_command("-c", config, "migrate", "sql", "-e", "--yes"),  # upstream: -c before the command
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert migrated.returncode == 0, migrated.stderr
    process = subprocess.Popen(kratos_command("serve", "-c", config, "--dev"), cwd=repo, env=env)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{admin}/health/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        created = httpx.post(
            f"http://127.0.0.1:{admin}/admin/identities",
            json={"schema_id": "default", "traits": {"email": "ada@example.com"}},
        )
        assert created.status_code == 201, created.text
        assert created.json()["schema_url"] == f"http://127.0.0.1:{public}/schemas/ZGVmYXVsdA"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_watch_courier_runs_the_courier_in_the_server(tmp_path: Path) -> None:
    server = KratosProcess(tmp_path, "memory", overrides={"log": {"level": "info"}})
    server.start("--watch-courier")
    server.stop()
    assert "the courier is watching for messages" in server.log_path.read_text()


def test_public_cors_follows_the_config(tmp_path: Path) -> None:
    cors = {"enabled": True, "allowed_origins": ["https://*.example.com", "http://127.0.0.1:4455"]}
    server = KratosProcess(tmp_path, "memory", overrides={"serve": {"public": {"cors": cors}}})
    server.start()
    try:
        preflight = {
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-Session-Token",
        }
        allowed = httpx.options(
            f"{server.public_url}/schemas", headers={"Origin": "https://app.example.com", **preflight}
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        assert allowed.headers["access-control-allow-credentials"] == "true"
        refused = httpx.options(
            f"{server.public_url}/schemas", headers={"Origin": "https://evil.test", **preflight}
        )
        assert "access-control-allow-origin" not in refused.headers
        simple = httpx.get(f"{server.public_url}/schemas", headers={"Origin": "http://127.0.0.1:4455"})
        assert simple.headers["access-control-allow-origin"] == "http://127.0.0.1:4455"
        admin = httpx.get(
            f"{server.admin_url}/admin/identities", headers={"Origin": "https://app.example.com"}
        )
        assert "access-control-allow-origin" not in admin.headers
    finally:
        server.stop()


def test_health_checks_can_stay_out_of_the_request_log(tmp_path: Path) -> None:
    quiet = {"request_log": {"disable_for_health": True}}
    server = KratosProcess(
        tmp_path, "memory", overrides={"log": {"level": "info"}, "serve": {"admin": quiet, "public": quiet}}
    )
    server.start()
    for _ in range(3):
        httpx.get(f"{server.admin_url}/admin/health/alive")
    httpx.get(f"{server.admin_url}/admin/identities")
    server.stop()
    logged = [
        line for line in server.log_path.read_text().splitlines() if "completed handling request" in line
    ]
    assert logged
    assert not any("/health/" in line for line in logged)


def test_argon2_hasher_from_the_config(tmp_path: Path) -> None:
    argon2 = {"algorithm": "argon2", "argon2": {"memory": "16MB", "iterations": 2, "parallelism": 1}}
    server = KratosProcess(tmp_path, "memory", overrides={"hashers": argon2})
    server.start()
    try:
        created = httpx.post(
            f"{server.admin_url}/admin/identities",
            json={
                "schema_id": "default",
                "traits": {"email": "argon@example.com"},
                "credentials": {"password": {"config": {"password": "a password here"}}},
            },
        ).json()
        identity = httpx.get(
            f"{server.admin_url}/admin/identities/{created['id']}", params={"include_credential": "password"}
        ).json()
    finally:
        server.stop()
    hashed = identity["credentials"]["password"]["config"]["hashed_password"]
    assert hashed.startswith("$argon2id$v=19$m=16384,t=2,p=1$")


def test_serve_says_which_database_does_not_answer(tmp_path: Path) -> None:
    server = KratosProcess(tmp_path, f"postgres://kratos:hunter2@127.0.0.1:{free_port()}/kratos")
    server.write_config()
    result = subprocess.run(
        kratos_command("serve", "-c", str(server.config_path)), capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "does not answer" in result.stderr
    assert "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_outage_is_a_503_and_readiness_fails(tmp_path: Path) -> None:
    if find_bindir() is None and not os.environ.get("CI"):
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    with start_postgres() as cluster:
        server = KratosProcess(tmp_path, cluster.create_database("outage"))
        server.migrate()
        server.start()
        try:
            assert httpx.get(f"{server.admin_url}/admin/identities").status_code == 200
            cluster.stop()
            listed = httpx.get(f"{server.admin_url}/admin/identities")
            assert listed.status_code == 503, listed.text
            assert listed.json()["error"]["code"] == 503
            assert httpx.get(f"{server.admin_url}/health/ready").status_code == 503
            assert httpx.get(f"{server.admin_url}/health/alive").status_code == 200
        finally:
            server.stop()


def test_public_port_redirects_admin_paths(kratos: KratosProcess) -> None:
    for path in ("/identities", "/admin/identities", "/admin/identities/abc"):
        response = httpx.get(f"{kratos.public_url}{path}", params={"page_size": 5})
        assert response.status_code == 307
        expected = f"{kratos.admin_url}/admin{path.removeprefix('/admin')}?page_size=5"
        assert response.headers["location"] == expected
    followed = httpx.get(f"{kratos.public_url}/identities", follow_redirects=True)
    assert followed.status_code == 200
    assert isinstance(followed.json(), list)
