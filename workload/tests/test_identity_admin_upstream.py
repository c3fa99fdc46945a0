"""The identity admin API answers as upstream Ory Kratos v26.2.0 does: statuses, shapes and texts."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from kratos_process import KratosProcess

LIMIT = 5 * 1024 * 1024
BAD_REQUEST = "The request was malformed or contained invalid parameters"


def unique_email(prefix: str = "up") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def admin(kratos: KratosProcess) -> httpx.Client:
    return httpx.Client(base_url=f"{kratos.admin_url}/admin", timeout=30)


def entry(email: str, **extra: Any) -> dict[str, Any]:
    return {"create": {"schema_id": "default", "traits": {"email": email}, **extra}}


def reason(response: httpx.Response) -> str:
    return response.json()["error"].get("reason", "")


def test_a_body_over_5_mb_is_a_400_in_upstream_words(kratos: KratosProcess) -> None:
    url = f"{kratos.admin_url}/admin/identities"
    body = {"schema_id": "default", "traits": {"email": unique_email()}, "metadata_public": "x" * LIMIT}
    created = httpx.post(url, json={"schema_id": "default", "traits": {"email": unique_email()}})

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"schema_id": "default", "traits": {}, "metadata_public": "'
        for _ in range(6):
            yield b"x" * 1024 * 1024

    answers = [
        httpx.post(url, json=body),
        httpx.put(f"{url}/{created.json()['id']}", json=body),
        httpx.patch(url, json={"identities": [{"create": body}]}),
        httpx.post(url, content=chunks(), headers={"Content-Type": "application/json"}),
    ]
    for response in answers:
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {
            "error": {"code": 400, "status": "Bad Request", "message": "http: request body too large"}
        }
    assert httpx.get(url, params={"credentials_identifier": body["traits"]["email"]}).json() == []


def test_errors_are_typed_as_upstream_types_them(kratos: KratosProcess) -> None:
    missing = httpx.get(f"{kratos.admin_url}/admin/identities/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"
    found = httpx.get(f"{kratos.admin_url}/admin/identities")
    assert found.headers["content-type"] == "application/json; charset=utf-8"


def test_answers_have_upstreams_keys(kratos: KratosProcess) -> None:
    with admin(kratos) as client:
        email = unique_email()
        password = {"password": {"config": {"password": "correct horse battery staple"}}}
        created = client.post(
            "/identities", json={"schema_id": "default", "traits": {"email": email}, "credentials": password}
        )
        assert created.status_code == 201
        identity = created.json()
        assert created.headers["location"] == f"{kratos.admin_url}/identities/{identity['id']}"
        assert "metadata_admin" not in identity  # not sent: left out of this answer only
        assert identity["credentials"]["password"]["version"] == 0  # upgraded to 1 when read back
        assert "verified_at" not in identity["verifiable_addresses"][0]
        fetched = client.get(f"/identities/{identity['id']}").json()
        assert fetched["metadata_admin"] is None
        assert fetched["credentials"]["password"]["version"] == 1
        assert "config" not in fetched["credentials"]["password"]
        with_admin = client.post(
            "/identities",
            json={"schema_id": "default", "traits": {"email": unique_email()}, "metadata_admin": None},
        ).json()
        assert "metadata_admin" in with_admin
        updated = client.put(
            f"/identities/{identity['id']}", json={"schema_id": "default", "traits": {"email": email}}
        ).json()
        assert "metadata_admin" not in updated
        patched = client.patch(f"/identities/{identity['id']}", json=[]).json()
        assert patched["metadata_admin"] is None
        verified = client.post(
            "/identities",
            json={
                "schema_id": "default",
                "traits": {"email": (other := unique_email())},
                "verifiable_addresses": [
                    {"value": other, "via": "email", "verified": True, "status": "completed",
                     "verified_at": "2024-01-02T03:04:05Z"},
                ],
            },
        ).json()  # fmt: skip
        assert verified["verifiable_addresses"][0]["verified_at"] == "2024-01-02T03:04:05Z"

        listed = client.get("/identities", params={"ids": identity["id"]}).json()
        assert "credentials" not in listed[0]
        by_identifier = client.get("/identities", params={"credentials_identifier": email}).json()
        assert "config" not in by_identifier[0]["credentials"]["password"]
        declassified = client.get(
            "/identities", params={"ids": identity["id"], "include_credential": "password"}
        ).json()
        assert declassified[0]["credentials"]["password"]["config"]["hashed_password"].startswith("$2a$")


def test_errors_have_upstreams_words(kratos: KratosProcess) -> None:
    with admin(kratos) as client:
        missing = client.get(f"/identities/{uuid.uuid4()}")
        assert missing.json() == {
            "error": {"code": 404, "status": "Not Found", "message": "Unable to locate the resource"}
        }
        body = {"schema_id": "default", "traits": {"email": unique_email()}}
        identity = client.post("/identities", json=body).json()
        taken = client.post("/identities", json=body).json()["error"]
        assert taken["message"] == "The resource could not be created due to a conflict"
        assert taken["reason"] == "This identity conflicts with another identity that already exists."
        bogus = client.get(f"/identities/{identity['id']}", params={"include_credential": ["password", "x"]})
        assert reason(bogus) == "Invalid value `[password]` for parameter `include_credential`."
        unknown_schema = client.post("/identities", json={"schema_id": "nope", "traits": {}})
        assert reason(unknown_schema) == "Unable to find JSON Schema ID: nope"
        state = client.post("/identities", json={**body, "state": "asleep"})
        assert reason(state) == "identity state is not valid"
        patched = client.patch(
            f"/identities/{identity['id']}", json=[{"op": "replace", "path": "/state", "value": "asleep"}]
        )
        assert patched.json()["error"]["message"] == "identity state is not valid"
        assert reason(patched) == (
            "The supplied state ('asleep') was not valid. Valid states are ('active', 'inactive')."
        )


def test_social_sign_in_links_are_shown_as_upstream_shows_them(kratos: KratosProcess) -> None:
    links = {"providers": [{"provider": "github", "subject": "42", "use_auto_link": True}]}
    password = {"password": {"config": {"password": "correct horse battery staple"}}}
    with admin(kratos) as client:
        identity = client.post(
            "/identities",
            json={
                "schema_id": "default",
                "traits": {"email": unique_email()},
                "credentials": {**password, "oidc": {"config": links}},
            },
        ).json()
        path = f"/identities/{identity['id']}"
        shown = client.get(path, params={"include_credential": "oidc"}).json()["credentials"]["oidc"]
        assert shown["config"] == {
            "providers": [
                {
                    "provider": "github",
                    "subject": "42",
                    "use_auto_link": True,
                    "initial_id_token": "",
                    "initial_access_token": "",
                    "initial_refresh_token": "",
                }
            ]
        }
        assert (
            client.delete(f"{path}/credentials/oidc", params={"identifier": "github:42"}).status_code == 204
        )
        unlinked = client.get(path, params={"include_credential": "oidc"}).json()["credentials"]["oidc"]
        assert unlinked["identifiers"] == []
        assert "config" not in unlinked  # no link left: nothing to show


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "invalid character 'n' looking for beginning of object key string"),
        (b"", "EOF"),
        (b'{"schema_id": "default"', "unexpected EOF"),
        (b"[]", "json: cannot unmarshal array into Go value of type identity.CreateIdentityBody"),
        (b'{"schema_id": 5}',
         "json: cannot unmarshal number into Go struct field CreateIdentityBody.schema_id of type string"),
        (b'{"traits": {}, "unknown": 1}', 'json: unknown field "unknown"'),
        (b'{"credentials": {"password": {"config": {"password": 5}}}}',
         "json: cannot unmarshal number into Go struct field AdminIdentityImportCredentialsPasswordConfig"
         ".credentials.password.config.password of type string"),
        (b'{"organization_id": "x"}', 'uuid: incorrect UUID length 1 in string "x"'),
        (b'{"a":1.}', "invalid character '}' after decimal point in numeric literal"),
        (b'{"a":"\\x"}', "invalid character 'x' in string escape code"),
    ],
)  # fmt: skip
def test_bodies_are_refused_in_gos_words(kratos: KratosProcess, body: bytes, message: str) -> None:
    with admin(kratos) as client:
        response = client.post("/identities", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": {"code": 400, "status": "Bad Request", "message": message}}


def test_bodies_are_read_as_upstream_reads_them(kratos: KratosProcess) -> None:
    with admin(kratos) as client:
        email = unique_email()
        # Any content type, and only the first JSON value, as Go's decoder reads it.
        created = client.post(
            "/identities",
            content=f'{{"traits": {{"email": "{email}"}}}} and the rest'.encode(),
            headers={"Content-Type": "text/plain"},
        )
        assert created.status_code == 201, created.text
        assert created.json()["schema_id"] == "default"  # no schema id: the default one
        path = f"/identities/{created.json()['id']}"
        ignored = client.put(path, json={"schema_id": "default", "traits": {"email": email}, "unknown": 1})
        assert ignored.status_code == 200  # PUT ignores unknown fields
        plain = client.put(path, content=b"{}", headers={"Content-Type": "text/plain"})
        assert reason(plain) == (
            'HTTP PUT Request used unknown HTTP Header "Content-Type: text/plain", '
            "only [application/json] are supported."
        )
        broken = client.put(path, content=b"{", headers={"Content-Type": "application/json"})
        assert reason(broken) == "Unable to decode JSON payload: unexpected EOF"
        patch = client.patch(path, content=b"[] x")
        assert patch.json()["error"]["reason"] == "failed to unmarshal JSON patch"
        assert patch.json()["error"]["message"] == "invalid character 'x' after top-level value"


def test_page_sizes_and_filters_as_upstream(kratos: KratosProcess) -> None:
    with admin(kratos) as client:
        ids = [
            client.post("/identities", json=entry(unique_email())["create"]).json()["id"] for _ in range(3)
        ]
        for size in ("0", "-1"):
            default = client.get("/identities", params={"page_size": size})
            assert default.status_code == 200
            assert "page_size=250" in default.headers["link"]
        clamped = client.get("/identities", params={"page_size": "100000"})
        assert "page_size=500" in clamped.headers["link"]
        assert reason(client.get("/identities", params={"page_size": "abc"})) == (
            'strconv.Atoi: parsing "abc": invalid syntax'
        )
        assert reason(client.get("/identities", params={"page_token": "bogus"})) == (
            "The page token is invalid, do not craft your own page tokens"
        )
        assert reason(client.get("/identities", params={"ids": "bogus"})) == (
            "Invalid UUID value `bogus` for parameter `ids`."
        )
        combined = client.get("/identities", params={"ids": ids[0], "credentials_identifier": "x"})
        assert reason(combined) == "You cannot combine multiple filters in this API"
        first = client.get("/identities", params={"ids": ids, "page_size": 2})
        assert len(first.json()) == 2  # ids page like any listing
        assert first.headers["link"].startswith("</admin/identities?ids=")
        links = httpx.Response(200, headers={"Link": first.headers["link"]}).links
        assert "page_token=00000000-0000-0000-0000-000000000000" in links["first"]["url"]
        rest = client.get(links["next"]["url"].removeprefix("/admin"))
        assert sorted(i["id"] for i in [*first.json(), *rest.json()]) == sorted(ids)


def test_a_batch_answers_per_entry_as_upstream(kratos: KratosProcess) -> None:
    with admin(kratos) as client:
        taken, good = unique_email(), unique_email()
        client.post("/identities", json=entry(taken)["create"])
        patch_ids = [str(uuid.uuid4()) for _ in range(3)]
        response = client.patch(
            "/identities",
            json={
                "identities": [
                    {**entry(good), "patch_id": patch_ids[0]},
                    {**entry(5), "patch_id": patch_ids[1]},  # type: ignore[arg-type]
                    {**entry(taken), "patch_id": patch_ids[2]},
                    {"patch_id": str(uuid.uuid4())},
                ]
            },
        )
        assert response.status_code == 200
        created, invalid, conflict, nothing = response.json()["identities"]
        assert (created["action"], created["patch_id"]) == ("create", patch_ids[0])
        assert client.get(f"/identities/{created['identity']}").json()["traits"]["email"] == good
        assert invalid["error"] == {
            "code": 400,
            "status": "Bad Request",
            "message": BAD_REQUEST,
            "reason": "I[#/traits/email] S[#/properties/traits/properties/email/type] "
            "expected string, but got number",
        }
        assert conflict["error"] == {
            "code": 409,
            "status": "Conflict",
            "message": "Unable to insert or update resource because a resource with that value exists "
            "already",
        }
        assert nothing is None
        failed = client.patch("/identities", json={"identities": [entry(unique_email()) | {"create": {}}]})
        assert failed.status_code == 200
        assert failed.json()["identities"][0]["action"] == "error"


def test_a_batch_is_refused_whole_before_anything_is_stored(kratos: KratosProcess) -> None:
    password = {"credentials": {"password": {"config": {"password": "correct horse battery staple"}}}}
    emails = [unique_email("many") for _ in range(201)]
    bad_hash = {"credentials": {"password": {"config": {"hashed_password": "$nope$x"}}}}
    with admin(kratos) as client:
        for entries, words in [
            (
                [entry(email, **password) for email in emails],
                "The maximum number of identities per request that can be created with a plaintext "
                "password is 200.",
            ),
            ([entry(emails[0]), entry(emails[1], **bad_hash)], "The imported password does not match any "
             "known hash format."),
            ([entry(emails[0])] * 1001, "The maximum number of identities per request that can be created or "
             "deleted at once is 1000."),
        ]:  # fmt: skip
            response = client.patch("/identities", json={"identities": entries})
            assert response.status_code == 400
            assert reason(response) == words
        for email in emails[:2]:
            assert client.get("/identities", params={"credentials_identifier": email}).json() == []


def _raw(kratos: KratosProcess, request: bytes) -> httpx.Response:
    """Send ``request`` as it is (httpx refuses URLs this long); the answer, read until the server closes."""
    with socket.create_connection(("127.0.0.1", kratos.admin_port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(line.split(": ", 1)) for line in lines]
    return httpx.Response(int(status_line.split()[1]), headers=headers, content=body)


def _get(kratos: KratosProcess, query: dict[str, Any]) -> httpx.Response:
    target = f"/admin/identities?{urlencode(query, doseq=True)}".encode()
    return _raw(kratos, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")


def test_long_urls_reach_their_handler_and_what_the_parser_refuses_is_error_json(
    kratos: KratosProcess,
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(2000)]  # a query of 74 KB
    assert reason(_get(kratos, {"ids": ids})) == "The number of ids to filter must not exceed 500."
    token = _get(kratos, {"page_token": "a" * 100_000})
    assert reason(token) == "The page token is invalid, do not craft your own page tokens"
    padded = _get(kratos, {"ids": ids[:500], "padding": "x" * 100_000})
    assert padded.status_code == 200
    assert padded.json() == []
    too_long = _get(kratos, {"page_token": "a" * 2**21})
    assert too_long.status_code == 414
    assert too_long.headers["content-type"] == "application/json"
    assert too_long.json()["error"]["code"] == 414
    garbage = _raw(kratos, b"NOT HTTP AT ALL\r\n\r\n")
    assert garbage.status_code == 400
    assert garbage.json()["error"]["reason"] == "Invalid HTTP request received."
