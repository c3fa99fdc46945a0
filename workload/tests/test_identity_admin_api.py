"""The identity admin API, driven with the official ory-kratos-client SDK against the real server."""

from __future__ import annotations

import uuid
from typing import Any

import bcrypt
import httpx
import pytest
from kratos_process import KratosProcess
from ory_kratos_client import (
    CreateIdentityBody,
    IdentityApi,
    IdentityWithCredentials,
    IdentityWithCredentialsOidc,
    IdentityWithCredentialsOidcConfig,
    IdentityWithCredentialsOidcConfigProvider,
    IdentityWithCredentialsPassword,
    IdentityWithCredentialsPasswordConfig,
    JsonPatch,
    UpdateIdentityBody,
)
from ory_kratos_client.exceptions import (
    ApiException,
    BadRequestException,
    ConflictException,
    NotFoundException,
)

JSON = {"Content-Type": "application/json"}


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@Example.COM"


def create(api: IdentityApi, email: str | None = None, password: str | None = None, **extra: Any):
    credentials = None
    if password:
        credentials = IdentityWithCredentials(
            password=IdentityWithCredentialsPassword(
                config=IdentityWithCredentialsPasswordConfig(password=password)
            )
        )
    body = CreateIdentityBody(
        schema_id="default",
        traits={"email": email or unique_email(), **extra.pop("traits", {})},
        credentials=credentials,
        **extra,
    )
    return api.create_identity(create_identity_body=body)


def test_create_returns_201_with_derived_addresses_and_credentials(
    identity_api: IdentityApi, kratos: KratosProcess
) -> None:
    email = unique_email()
    response = identity_api.create_identity_with_http_info(
        create_identity_body=CreateIdentityBody(
            schema_id="default",
            traits={"email": email, "name": {"first": "Ada", "last": "Lovelace"}},
            metadata_public={"plan": "pro"},
            metadata_admin={"notes": "vip"},
            credentials=IdentityWithCredentials(
                password=IdentityWithCredentialsPassword(
                    config=IdentityWithCredentialsPasswordConfig(password="a long enough password")
                )
            ),
        )
    )
    assert response.status_code == 201
    identity = response.data
    headers = {key.lower(): value for key, value in response.headers.items()}
    assert headers["location"] == f"{kratos.admin_url}/identities/{identity.id}"  # upstream's, without /admin
    assert identity.schema_id == "default"
    assert identity.schema_url.startswith(kratos.public_url + "/schemas/")
    assert identity.state == "active"
    assert identity.traits["email"] == email
    assert identity.metadata_public == {"plan": "pro"}
    assert identity.metadata_admin == {"notes": "vip"}
    assert [(a.value, a.via, a.verified, a.status) for a in identity.verifiable_addresses] == [
        (email.lower(), "email", False, "pending")
    ]
    assert [(a.value, a.via) for a in identity.recovery_addresses] == [(email.lower(), "email")]
    assert identity.credentials["password"].identifiers == [email.lower()]
    assert identity.credentials["password"].config is None


def test_password_is_stored_hashed_and_only_declassified_on_request(identity_api: IdentityApi) -> None:
    created = create(identity_api, password="correct horse battery staple")
    plain = identity_api.get_identity(created.id)
    assert plain.credentials["password"].config is None
    declassified = identity_api.get_identity(created.id, include_credential=["password"])
    hashed = declassified.credentials["password"].config["hashed_password"]
    assert hashed.startswith("$2a$")
    assert bcrypt.checkpw(b"correct horse battery staple", hashed.encode())


def test_imported_hash_is_kept_verbatim(identity_api: IdentityApi) -> None:
    hashed = bcrypt.hashpw(b"imported secret", bcrypt.gensalt(4)).decode()
    body = CreateIdentityBody(
        schema_id="default",
        traits={"email": unique_email()},
        credentials=IdentityWithCredentials(
            password=IdentityWithCredentialsPassword(
                config=IdentityWithCredentialsPasswordConfig(hashed_password=hashed)
            )
        ),
    )
    created = identity_api.create_identity(create_identity_body=body)
    fetched = identity_api.get_identity(created.id, include_credential=["password"])
    assert fetched.credentials["password"].config["hashed_password"] == hashed


def test_unknown_hash_format_is_refused(identity_api: IdentityApi) -> None:
    body = CreateIdentityBody(
        schema_id="default",
        traits={"email": unique_email()},
        credentials=IdentityWithCredentials(
            password=IdentityWithCredentialsPassword(
                config=IdentityWithCredentialsPasswordConfig(hashed_password="$nope$abc")
            )
        ),
    )
    with pytest.raises(BadRequestException) as error:
        identity_api.create_identity(create_identity_body=body)
    assert "does not match any known hash format" in error.value.body


def test_oidc_credentials_are_imported_with_provider_identifiers(identity_api: IdentityApi) -> None:
    body = CreateIdentityBody(
        schema_id="default",
        traits={"email": unique_email()},
        credentials=IdentityWithCredentials(
            oidc=IdentityWithCredentialsOidc(
                config=IdentityWithCredentialsOidcConfig(
                    providers=[
                        IdentityWithCredentialsOidcConfigProvider(provider="github", subject="12345"),
                        IdentityWithCredentialsOidcConfigProvider(provider="google", subject="abc"),
                    ]
                )
            )
        ),
    )
    created = identity_api.create_identity(create_identity_body=body)
    assert sorted(created.credentials["oidc"].identifiers) == ["github:12345", "google:abc"]
    fetched = identity_api.get_identity(created.id, include_credential=["oidc"])
    providers = fetched.credentials["oidc"].config["providers"]
    assert {(p["provider"], p["subject"]) for p in providers} == {("github", "12345"), ("google", "abc")}

    identity_api.delete_identity_credentials(created.id, "oidc", identifier="github:12345")
    after = identity_api.get_identity(created.id, include_credential=["oidc"])
    assert after.credentials["oidc"].identifiers == ["google:abc"]
    with pytest.raises(BadRequestException) as error:  # the last way to sign in stays
        identity_api.delete_identity_credentials(created.id, "oidc", identifier="google:abc")
    assert "last first factor" in error.value.body


def test_invalid_traits_are_a_400_naming_the_field(identity_api: IdentityApi) -> None:
    with pytest.raises(BadRequestException) as error:
        identity_api.create_identity(
            create_identity_body=CreateIdentityBody(schema_id="default", traits={"email": "x"})
        )
    assert "#/traits/email" in error.value.body
    with pytest.raises(BadRequestException) as error:
        identity_api.create_identity(create_identity_body=CreateIdentityBody(schema_id="default", traits={}))
    assert "email" in error.value.body


def test_unknown_schema_is_a_400(identity_api: IdentityApi) -> None:
    with pytest.raises(BadRequestException) as error:
        identity_api.create_identity(
            create_identity_body=CreateIdentityBody(schema_id="nope", traits={"email": unique_email()})
        )
    assert "nope" in error.value.body


def test_duplicate_identifier_is_a_409_and_nothing_is_stored(identity_api: IdentityApi) -> None:
    email = unique_email()
    create(identity_api, email)
    with pytest.raises(ConflictException) as error:
        create(identity_api, email.upper())
    assert "conflicts with another identity" in error.value.body
    assert len(identity_api.list_identities(credentials_identifier=email.lower())) == 1


def test_external_id_is_unique_and_resolvable(identity_api: IdentityApi) -> None:
    external = f"ext-{uuid.uuid4().hex[:8]}"
    created = create(identity_api, external_id=external)
    assert created.external_id == external
    assert identity_api.get_identity_by_external_id(external).id == created.id
    with pytest.raises(ConflictException):
        create(identity_api, external_id=external)
    with pytest.raises(NotFoundException):
        identity_api.get_identity_by_external_id("does-not-exist")


def test_get_unknown_or_malformed_id_is_404(identity_api: IdentityApi) -> None:
    with pytest.raises(NotFoundException):
        identity_api.get_identity(str(uuid.uuid4()))
    with pytest.raises(NotFoundException):
        identity_api.get_identity("not-a-uuid")


def test_update_replaces_traits_state_and_metadata(identity_api: IdentityApi) -> None:
    created = create(identity_api, password="first password here")
    new_email = unique_email("renamed")
    updated = identity_api.update_identity(
        created.id,
        UpdateIdentityBody(
            schema_id="default", traits={"email": new_email}, state="inactive", metadata_public={"a": 1}
        ),
    )
    assert updated.state == "inactive"
    assert updated.state_changed_at > created.state_changed_at
    assert updated.traits == {"email": new_email}
    assert [a.value for a in updated.verifiable_addresses] == [new_email.lower()]
    assert updated.credentials["password"].identifiers == [new_email.lower()]
    fetched = identity_api.get_identity(created.id, include_credential=["password"])
    assert fetched.credentials["password"].config["hashed_password"].startswith("$2a$")
    assert identity_api.list_identities(credentials_identifier=new_email.lower())[0].id == created.id


def test_json_patch_updates_fields_and_protects_id(identity_api: IdentityApi) -> None:
    created = create(identity_api, traits={"username": "patchme"})
    patched = identity_api.patch_identity(
        created.id,
        [
            JsonPatch(op="replace", path="/traits/username", value="patched"),
            JsonPatch(op="add", path="/metadata_admin", value={"k": "v"}),
            JsonPatch(op="replace", path="/state", value="inactive"),
        ],
    )
    assert patched.traits["username"] == "patched"
    assert patched.metadata_admin == {"k": "v"}
    assert patched.state == "inactive"
    assert "patched" in patched.credentials["password"].identifiers
    with pytest.raises(BadRequestException):
        identity_api.patch_identity(
            created.id, [JsonPatch(op="replace", path="/id", value=str(uuid.uuid4()))]
        )
    with pytest.raises(BadRequestException):
        identity_api.patch_identity(created.id, [JsonPatch(op="replace", path="/state", value="deleted")])
    with pytest.raises(BadRequestException):
        identity_api.patch_identity(
            created.id, [JsonPatch(op="test", path="/traits/username", value="other")]
        )
    assert identity_api.get_identity(created.id).traits["username"] == "patched"


def test_json_patch_can_mark_an_address_verified(identity_api: IdentityApi) -> None:
    created = create(identity_api)
    patched = identity_api.patch_identity(
        created.id,
        [
            JsonPatch(op="replace", path="/verifiable_addresses/0/verified", value=True),
            JsonPatch(op="replace", path="/verifiable_addresses/0/status", value="completed"),
        ],
    )
    assert patched.verifiable_addresses[0].verified is True
    assert patched.verifiable_addresses[0].id == created.verifiable_addresses[0].id


def test_delete_identity_and_its_identifiers(identity_api: IdentityApi) -> None:
    email = unique_email()
    created = create(identity_api, email)
    identity_api.delete_identity(created.id)
    with pytest.raises(NotFoundException):
        identity_api.get_identity(created.id)
    with pytest.raises(NotFoundException):
        identity_api.delete_identity(created.id)
    create(identity_api, email)


def test_delete_password_credentials_but_not_code(identity_api: IdentityApi) -> None:
    created = identity_api.create_identity(
        create_identity_body=CreateIdentityBody(
            schema_id="default",
            traits={"email": unique_email()},
            credentials=IdentityWithCredentials(
                password=IdentityWithCredentialsPassword(
                    config=IdentityWithCredentialsPasswordConfig(password="some password value")
                ),
                oidc=IdentityWithCredentialsOidc(
                    config=IdentityWithCredentialsOidcConfig(
                        providers=[IdentityWithCredentialsOidcConfigProvider(provider="github", subject="7")]
                    )
                ),
            ),
        )
    )
    identity_api.delete_identity_credentials(created.id, "password")
    # As upstream: the credential stays, with its identifiers and without its hash.
    password = identity_api.get_identity(created.id, include_credential=["password"]).credentials["password"]
    assert password.identifiers == [created.traits["email"].lower()]
    assert password.config == {}
    with pytest.raises(BadRequestException) as error:
        identity_api.delete_identity_credentials(created.id, "oidc", identifier="github:7")
    assert "last first factor" in error.value.body
    with pytest.raises(BadRequestException) as error:
        identity_api.delete_identity_credentials(created.id, "code")
    assert "Credentials type code cannot be deleted." in error.value.body
    with pytest.raises(NotFoundException):
        identity_api.delete_identity_credentials(created.id, "totp")


def test_keyset_pagination_walks_every_identity_once(
    identity_api: IdentityApi, kratos: KratosProcess
) -> None:
    mine = {create(identity_api).id for _ in range(7)}
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        response = identity_api.list_identities_with_http_info(page_size=3, page_token=token)
        seen.extend(identity.id for identity in response.data)
        pages += 1
        headers = {key.lower(): value for key, value in response.headers.items()}
        link = httpx.Response(200, headers={"Link": headers["link"]}).links
        assert link["first"]["url"].startswith("/admin/identities?")  # relative, as upstream sends it
        if "next" not in link:
            break
        token = httpx.URL(link["next"]["url"]).params["page_token"]
    assert len(seen) == len(set(seen))
    assert mine <= set(seen)
    assert pages >= 3


def test_list_filters_by_ids_and_identifier(identity_api: IdentityApi) -> None:
    first, second, _ = (create(identity_api) for _ in range(3))
    by_ids = identity_api.list_identities(ids=[first.id, second.id, str(uuid.uuid4())])
    assert {identity.id for identity in by_ids} == {first.id, second.id}
    by_identifier = identity_api.list_identities(credentials_identifier=first.traits["email"])
    assert [identity.id for identity in by_identifier] == [first.id]
    assert by_identifier[0].credentials["password"].identifiers == [first.traits["email"].lower()]


def test_batch_create_reports_each_entry(identity_api: IdentityApi, kratos: KratosProcess) -> None:
    taken = create(identity_api).traits["email"]
    good = unique_email()
    patch_ids = [str(uuid.uuid4()) for _ in range(3)]
    response = httpx.patch(
        f"{kratos.admin_url}/admin/identities",
        json={
            "identities": [
                {"create": {"schema_id": "default", "traits": {"email": good}}, "patch_id": patch_ids[0]},
                {"create": {"schema_id": "default", "traits": {"email": taken}}, "patch_id": patch_ids[1]},
                {"create": {"schema_id": "default", "traits": {"email": 5}}, "patch_id": patch_ids[2]},
            ]
        },
    )
    assert response.status_code == 200
    results = response.json()["identities"]
    assert [r["action"] for r in results] == ["create", "error", "error"]
    assert [r["patch_id"] for r in results] == patch_ids
    assert results[1]["error"]["code"] == 409
    assert results[2]["error"]["code"] == 400
    assert identity_api.get_identity(results[0]["identity"]).traits["email"] == good
    assert len(identity_api.list_identities(credentials_identifier=taken.lower())) == 1


def test_batch_with_only_failures_is_a_200_with_each_error(kratos: KratosProcess) -> None:
    response = httpx.patch(
        f"{kratos.admin_url}/admin/identities",
        json={"identities": [{"create": {"schema_id": "default", "traits": {}}}]},
    )
    assert response.status_code == 200  # as upstream: the errors are per entry
    assert response.json()["identities"][0]["action"] == "error"


@pytest.mark.parametrize("prefix", ["", "/admin"])
def test_admin_paths_answer_with_and_without_prefix(kratos: KratosProcess, prefix: str) -> None:
    assert httpx.get(f"{kratos.admin_url}{prefix}/identities").status_code == 200
    assert httpx.get(f"{kratos.admin_url}{prefix}/health/alive").json() == {"status": "ok"}


def test_malformed_requests_get_kratos_errors(kratos: KratosProcess) -> None:
    url = f"{kratos.admin_url}/admin/identities"
    cases: list[tuple[httpx.Response, int]] = [
        (httpx.post(url, content=b"{not json", headers={"Content-Type": "application/json"}), 400),
        (httpx.post(url, content=b"[]", headers={"Content-Type": "application/json"}), 400),
        (httpx.post(url, json={"schema_id": "default", "traits": {}, "unknown": 1}), 400),
        (httpx.post(url, content=b"a=b", headers={"Content-Type": "text/plain"}), 400),
        (httpx.put(f"{url}/{uuid.uuid4()}", content=b"{}", headers={"Content-Type": "text/plain"}), 400),
        (
            httpx.post(
                url, content=b"x" * (5 * 1024 * 1024 + 1), headers={"Content-Type": "application/json"}
            ),
            400,
        ),
        (httpx.get(f"{kratos.admin_url}/admin/nothing-here"), 404),
        (httpx.put(url), 405),
        (httpx.get(url, params={"page_size": "abc"}), 400),
        (httpx.get(url, params={"page_token": "bogus"}), 400),
        (httpx.get(url, params={"ids": "bogus"}), 400),
        (httpx.get(f"{url}/{uuid.uuid4()}", params={"include_credential": "bogus"}), 404),  # looked up first
    ]
    deep: dict = {}
    for _ in range(100):
        deep = {"k": deep}
    hostile = {"schema_id": "default", "traits": {"email": unique_email()}}
    cases += [
        (httpx.post(url, json={**hostile, "metadata_public": {"k": "nul\u0000"}}), 400),
        (httpx.post(url, json={**hostile, "metadata_admin": deep}), 400),
        (httpx.post(url, json={**hostile, "traits": {"email": unique_email(), "username": "u" * 1000}}), 400),
        (httpx.get(f"{url}/by/external/a%00b"), 400),
        (httpx.get(url, params={"credentials_identifier": "a\x00b"}), 400),
        (
            httpx.post(url, content=b'{"schema_id": "default", "traits": {"email": "\xff"}}', headers=JSON),
            400,
        ),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == status
        assert error["message"]


def test_sdk_errors_parse(identity_api: IdentityApi) -> None:
    with pytest.raises(ApiException) as error:
        identity_api.get_identity(str(uuid.uuid4()))
    assert error.value.status == 404


def test_similar_identifier_search_ignores_case_and_wildcards(identity_api: IdentityApi) -> None:
    tag = uuid.uuid4().hex[:8]
    mine = {create(identity_api, f"Sim_{tag}-{n}@example.com").id for n in range(3)}
    create(identity_api, f"other-{tag}@example.com")
    found = identity_api.list_identities(preview_credentials_identifier_similar=f"SIM_{tag}")
    assert {identity.id for identity in found} == mine
    assert identity_api.list_identities(preview_credentials_identifier_similar=f"sim%{tag}") == []
    with pytest.raises(BadRequestException):
        identity_api.list_identities(credentials_identifier="a", preview_credentials_identifier_similar="b")


def test_deprecated_page_numbers_still_page(identity_api: IdentityApi) -> None:
    for _ in range(3):
        create(identity_api)
    first = identity_api.list_identities_with_http_info(page=0, per_page=2)
    second = identity_api.list_identities_with_http_info(page=1, per_page=2)
    assert len(first.data) == 2
    assert {i.id for i in first.data}.isdisjoint({i.id for i in second.data})
    headers = {key.lower(): value for key, value in first.headers.items()}
    links = httpx.Response(200, headers={"Link": headers["link"]}).links
    assert httpx.URL(links["next"]["url"]).params["page"] == "1"


def test_json_patch_sets_and_checks_the_organization(identity_api: IdentityApi) -> None:
    created = create(identity_api)
    organization = str(uuid.uuid4())
    patched = identity_api.patch_identity(
        created.id, [JsonPatch(op="replace", path="/organization_id", value=organization)]
    )
    assert patched.organization_id == organization
    with pytest.raises(BadRequestException):
        identity_api.patch_identity(created.id, [JsonPatch(op="replace", path="/organization_id", value="x")])
    assert identity_api.list_identities(organization_id=organization)[0].id == created.id
