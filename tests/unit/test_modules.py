"""Module-level behaviour: config validation, resource requirements, admin client errors, results."""

import pytest
from lightkube import ApiError
from lightkube.resources.apps_v1 import StatefulSet

from actions import to_results
from admin_client import AdminAPIError, AdminClient
from configs import CharmConfig, InvalidConfigError, RenderInputs, render_kratos_config
from resources import ResourcePatcher, ResourcePatchError, resource_requirements


def test_config_accepts_schemas_as_strings_and_trims():
    config = CharmConfig.from_mapping(
        {"identity_schemas": '{"a": "{\\"type\\": \\"object\\"}"}', "cpu": " 2 ", "log_level": " Warning "}
    )
    assert config.identity_schemas == {"a": {"type": "object"}}
    assert config.cpu == "2"
    assert config.log_level == "warning"


@pytest.mark.parametrize(
    ("value", "message"),
    [('{"a": "{bad"}', "schema 'a' is not valid JSON"), ('{"a": 1}', "schema 'a' must be a JSON object")],
)
def test_bad_schema_values(value, message):
    with pytest.raises(InvalidConfigError, match=message):
        CharmConfig.from_mapping({"identity_schemas": value})


def test_render_is_deterministic():
    inputs = RenderInputs(CharmConfig())
    assert render_kratos_config(inputs) == render_kratos_config(inputs)


def test_resource_requirements_keep_requests_below_limits():
    assert resource_requirements("50m", "100Mi") == {
        "limits": {"cpu": "50m", "memory": "100Mi"},
        "requests": {"cpu": "50m", "memory": "100Mi"},
    }
    assert resource_requirements("2", None)["requests"] == {"cpu": "100m", "memory": "200Mi"}


class FakeClient:
    """Stands in for lightkube's Client: there is no Kubernetes API here."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.patches: list[dict] = []

    def patch(self, resource, name, namespace, obj, patch_type):
        if self.error:
            raise self.error
        assert resource is StatefulSet
        self.patches.append({"name": name, "namespace": namespace, "obj": obj, "type": patch_type.value})


def api_error(code: int, message: str) -> ApiError:
    from lightkube.models.meta_v1 import Status

    return ApiError(status=Status(code=code, message=message))


def test_patcher_patches_the_statefulset():
    client = FakeClient()
    ResourcePatcher("kratos", "model", lambda: client).apply("1", "1Gi")
    (patch,) = client.patches
    assert patch["name"] == "kratos"
    assert patch["namespace"] == "model"
    (container,) = patch["obj"]["spec"]["template"]["spec"]["containers"]
    assert container["name"] == "kratos"
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (api_error(403, "forbidden"), "run `juju trust kratos --scope=cluster`"),
        (api_error(422, "invalid"), "Cannot set cpu/memory limits: invalid"),
        (RuntimeError("no kubeconfig"), "Cannot set cpu/memory limits: no kubeconfig"),
    ],
)
def test_patcher_errors(error, message):
    with pytest.raises(ResourcePatchError, match=message.replace("`", ".").replace("(", ".")):
        ResourcePatcher("kratos", "model", lambda: FakeClient(error)).apply("1", None)


def test_admin_client_unreachable():
    with pytest.raises(AdminAPIError, match="cannot reach the Kratos admin API"):
        AdminClient("http://127.0.0.1:9", timeout=1).get_identity("x")


def test_to_results_sanitises_keys():
    assert to_results({"Schema_ID": "a", "x.y": {"firstName": 1, "n": None}, "l": [1]}) == {
        "schema-id": "a",
        "x-y": {"firstname": 1},
        "l": "[1]",
    }
