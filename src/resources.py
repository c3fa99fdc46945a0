"""CPU and memory limits of the workload container, patched into the StatefulSet with lightkube."""

import logging
from collections.abc import Callable
from typing import Any

from lightkube import ApiError, Client
from lightkube.resources.apps_v1 import StatefulSet
from lightkube.types import PatchType
from lightkube.utils.quantity import parse_quantity

from constants import WORKLOAD_CONTAINER

logger = logging.getLogger(__name__)

DEFAULT_REQUESTS = {"cpu": "100m", "memory": "200Mi"}


class ResourcePatchError(Exception):
    """The StatefulSet could not be patched; the message says what to do."""


def resource_requirements(cpu: str | None, memory: str | None) -> dict[str, dict[str, str | None]]:
    """Limits as given (None removes one) and requests no higher than the limits."""
    limits = {"cpu": cpu, "memory": memory}
    requests: dict[str, str | None] = {}
    for name, default in DEFAULT_REQUESTS.items():
        limit = limits[name]
        lower = limit is not None and (parse_quantity(limit) or 0) < (parse_quantity(default) or 0)
        requests[name] = limit if lower else default
    return {"limits": limits, "requests": requests}


class ResourcePatcher:
    """Applies resource requirements to the `kratos` container of the application's StatefulSet."""

    def __init__(self, app_name: str, namespace: str, client_factory: Callable[[], Any] = Client) -> None:
        self._app = app_name
        self._namespace = namespace
        self._client_factory = client_factory

    def apply(self, cpu: str | None, memory: str | None) -> None:
        """Patch the StatefulSet (Kubernetes then restarts the pods)."""
        container = {"name": WORKLOAD_CONTAINER, "resources": resource_requirements(cpu, memory)}
        patch = {"spec": {"template": {"spec": {"containers": [container]}}}}
        try:
            self._client_factory().patch(
                StatefulSet,
                name=self._app,
                namespace=self._namespace,
                obj=patch,
                patch_type=PatchType.STRATEGIC,
            )
        except ApiError as e:
            if e.status.code == 403:
                raise ResourcePatchError(
                    "Cannot set cpu/memory limits: no permission; "
                    f"run `juju trust {self._app} --scope=cluster`"
                ) from None
            raise ResourcePatchError(f"Cannot set cpu/memory limits: {e.status.message}") from None
        except Exception as e:  # lightkube raises ConfigError, httpx errors, ...
            raise ResourcePatchError(f"Cannot set cpu/memory limits: {e}") from None
        logger.info("patched the %s StatefulSet resources: %s", self._app, container["resources"])
