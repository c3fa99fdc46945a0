"""The workload's admin API (plain Kratos API on 127.0.0.1:4434), used by the actions."""

from typing import Any
from urllib.parse import quote

import requests

from constants import ADMIN_URL


class AdminAPIError(Exception):
    """The admin API refused a request or could not be reached; the message says why."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class IdentityNotFoundError(AdminAPIError):
    """No identity matches."""


def _error_message(response: requests.Response) -> str:
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        error = {}
    parts = [error.get("message") or response.reason or "error", error.get("reason")]
    return ": ".join(str(p) for p in parts if p)


class AdminClient:
    """A small typed client for the endpoints the actions use."""

    def __init__(self, base_url: str = ADMIN_URL, timeout: float = 10) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._session = requests.Session()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self._base_url}{path}"
        try:
            response = self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as e:
            raise AdminAPIError(f"cannot reach the Kratos admin API at {self._base_url}: {e}") from None
        if response.status_code == 404:
            raise IdentityNotFoundError(f"not found: {_error_message(response)}", 404)
        if response.status_code >= 400:
            raise AdminAPIError(
                f"{method} {path} failed ({response.status_code}): {_error_message(response)}",
                response.status_code,
            )
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    @staticmethod
    def _id(identity_id: str) -> str:
        return quote(identity_id, safe="")

    def get_identity(self, identity_id: str, include_credentials: list[str] | None = None) -> dict[str, Any]:
        """GET /admin/identities/{id}."""
        params = {"include_credential": include_credentials} if include_credentials else None
        return self._request("GET", f"/admin/identities/{self._id(identity_id)}", params=params)

    def find_identity_id(self, identifier: str) -> str:
        """Return the id of the one identity logging in with `identifier` (e.g. an email address)."""
        found = self._request("GET", "/admin/identities", params={"credentials_identifier": identifier}) or []
        if not found:
            raise IdentityNotFoundError(f"no identity has the identifier {identifier!r}")
        if len(found) > 1:
            raise AdminAPIError(
                f"{len(found)} identities have the identifier {identifier!r}; use identity-id"
            )
        return found[0]["id"]

    def create_identity(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /admin/identities."""
        return self._request("POST", "/admin/identities", json=body)

    def update_identity(self, identity_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT /admin/identities/{id}."""
        return self._request("PUT", f"/admin/identities/{self._id(identity_id)}", json=body)

    def delete_identity(self, identity_id: str) -> None:
        """DELETE /admin/identities/{id}."""
        self._request("DELETE", f"/admin/identities/{self._id(identity_id)}")

    def delete_identity_sessions(self, identity_id: str) -> None:
        """DELETE /admin/identities/{id}/sessions."""
        self._request("DELETE", f"/admin/identities/{self._id(identity_id)}/sessions")

    def delete_credential(
        self, identity_id: str, credential_type: str, identifier: str | None = None
    ) -> None:
        """DELETE /admin/identities/{id}/credentials/{type}[?identifier=]."""
        params = {"identifier": identifier} if identifier else None
        path = f"/admin/identities/{self._id(identity_id)}/credentials/{quote(credential_type, safe='')}"
        self._request("DELETE", path, params=params)

    def create_recovery_code(self, identity_id: str, expires_in: str = "1h") -> dict[str, Any]:
        """POST /admin/recovery/code: a recovery link and code for the identity."""
        return self._request(
            "POST", "/admin/recovery/code", json={"identity_id": identity_id, "expires_in": expires_in}
        )
