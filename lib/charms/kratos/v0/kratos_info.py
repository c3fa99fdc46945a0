# Copyright 2025 Canonical Ltd.
# See LICENSE file for licensing details.
"""Share Kratos's endpoints and enabled features over the `kratos_info` interface.

The provider (the Kratos charm's leader) writes into its application databag:

| key | value |
|---|---|
| `admin_endpoint`, `public_endpoint` | Kratos's admin and public API base URLs |
| `login_browser_endpoint` | `<public URL>/self-service/login/browser` |
| `sessions_endpoint` | `<public URL>/sessions/whoami` |
| `providers_configmap_name`, `schemas_configmap_name` | `oidc-providers`, `identity-schemas` |
| `configmaps_namespace` | the ConfigMaps' namespace (the provider's model) |
| `mfa_enabled`, `oidc_webauthn_sequencing_enabled`, `verification_enabled` | `"True"` or `"False"` |
| `feature_flags` | optional comma list from password, webauthn, totp, backup_codes, account_linking |

`feature_flags` names what users can do: sign in with a password, a security key (webauthn), an
authenticator app (totp) or backup codes, and link accounts of external identity providers.
Every key that earlier requirers read is always sent.

Requirer usage:

```python
from charms.kratos.v0.kratos_info import KratosInfoRequirer

class MyCharm(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        self.kratos_info = KratosInfoRequirer(self)
        framework.observe(self.kratos_info.on.kratos_info_changed, self._configure)

    def _configure(self, event):
        if info := self.kratos_info.get_kratos_info():
            public = info.public_endpoint
```

Provider usage: `KratosInfoProvider(self).send_info_relation_data(KratosInfo(...))` on the leader, for
example when its `ready` event fires (a requirer joined) and whenever the endpoints change.
"""

import dataclasses
import logging

from ops import CharmBase, EventBase, EventSource, Object, ObjectEvents, RelationEvent, RelationJoinedEvent

# The unique Charmhub library identifier, never change it
LIBID = "d257e49d130d457cbe0a522d9b6e54bf"

# Increment this major API version when introducing breaking changes
LIBAPI = 0

# Increment this PATCH version before using `charmcraft publish-lib` or reset
# to 0 if you are raising the major API version
LIBPATCH = 2

PYDEPS: list[str] = []

DEFAULT_RELATION_NAME = "kratos-info"
INTERFACE_NAME = "kratos_info"
FEATURE_FLAGS = ("password", "webauthn", "totp", "backup_codes", "account_linking")
PROVIDERS_CONFIGMAP = "oidc-providers"
SCHEMAS_CONFIGMAP = "identity-schemas"

logger = logging.getLogger(__name__)


def _flag(value: bool) -> str:
    return "True" if value else "False"


@dataclasses.dataclass(frozen=True)
class KratosInfo:
    """What a Kratos deployment tells its requirers."""

    admin_endpoint: str
    public_endpoint: str
    login_browser_endpoint: str
    sessions_endpoint: str
    mfa_enabled: bool = False
    oidc_webauthn_sequencing_enabled: bool = False
    verification_enabled: bool = False
    feature_flags: tuple[str, ...] = ()
    providers_configmap_name: str = PROVIDERS_CONFIGMAP
    schemas_configmap_name: str = SCHEMAS_CONFIGMAP
    configmaps_namespace: str | None = None

    def to_databag(self) -> dict[str, str]:
        """Return the databag content (strings; `feature_flags` and the namespace left out when unset)."""
        unknown = set(self.feature_flags) - set(FEATURE_FLAGS)
        if unknown:
            raise ValueError(f"unknown feature flags: {', '.join(sorted(unknown))}")
        data = {
            "admin_endpoint": self.admin_endpoint,
            "public_endpoint": self.public_endpoint,
            "login_browser_endpoint": self.login_browser_endpoint,
            "sessions_endpoint": self.sessions_endpoint,
            "mfa_enabled": _flag(self.mfa_enabled),
            "oidc_webauthn_sequencing_enabled": _flag(self.oidc_webauthn_sequencing_enabled),
            "verification_enabled": _flag(self.verification_enabled),
        }
        if self.feature_flags:
            data["feature_flags"] = ",".join(self.feature_flags)
        for key in ("providers_configmap_name", "schemas_configmap_name", "configmaps_namespace"):
            if value := getattr(self, key):
                data[key] = value
        return data

    @classmethod
    def from_databag(cls, data: dict[str, str]) -> "KratosInfo | None":
        """Parse a provider databag; None while the required keys are missing."""
        required = ("admin_endpoint", "public_endpoint", "login_browser_endpoint", "sessions_endpoint")
        if any(not data.get(key) for key in required):
            return None
        flags = tuple(f.strip() for f in data.get("feature_flags", "").split(",") if f.strip())
        return cls(
            admin_endpoint=data["admin_endpoint"],
            public_endpoint=data["public_endpoint"],
            login_browser_endpoint=data["login_browser_endpoint"],
            sessions_endpoint=data["sessions_endpoint"],
            mfa_enabled=data.get("mfa_enabled") == "True",
            oidc_webauthn_sequencing_enabled=data.get("oidc_webauthn_sequencing_enabled") == "True",
            verification_enabled=data.get("verification_enabled") == "True",
            feature_flags=flags,
            providers_configmap_name=data.get("providers_configmap_name") or PROVIDERS_CONFIGMAP,
            schemas_configmap_name=data.get("schemas_configmap_name") or SCHEMAS_CONFIGMAP,
            configmaps_namespace=data.get("configmaps_namespace") or None,
        )


class KratosInfoRelationReadyEvent(EventBase):
    """A requirer joined: the provider should send its data."""


class KratosInfoProviderEvents(ObjectEvents):
    """Events of the provider."""

    ready = EventSource(KratosInfoRelationReadyEvent)


class KratosInfoProvider(Object):
    """The provider side, used by the Kratos charm."""

    on = KratosInfoProviderEvents()  # pyright: ignore[reportAssignmentType]

    def __init__(self, charm: CharmBase, relation_name: str = DEFAULT_RELATION_NAME) -> None:
        super().__init__(charm, relation_name)
        self._charm = charm
        self._relation_name = relation_name
        self.framework.observe(charm.on[relation_name].relation_created, self._on_relation_created)

    def _on_relation_created(self, event: EventBase) -> None:
        self.on.ready.emit()

    def send_info_relation_data(self, info: KratosInfo) -> None:
        """Write `info` into every kratos-info relation (leader only; others do nothing).

        Without a `configmaps_namespace` the provider's model name is sent.
        """
        if not self._charm.unit.is_leader():
            return
        if not info.configmaps_namespace:
            info = dataclasses.replace(info, configmaps_namespace=self._charm.model.name)
        data = info.to_databag()
        for relation in self._charm.model.relations[self._relation_name]:
            bag = relation.data[self._charm.app]
            for key in set(bag.keys()) - set(data):
                del bag[key]
            bag.update(data)

    def clear_info_relation_data(self) -> None:
        """Remove our data from every kratos-info relation (leader only)."""
        if not self._charm.unit.is_leader():
            return
        for relation in self._charm.model.relations[self._relation_name]:
            relation.data[self._charm.app].clear()


class KratosInfoChangedEvent(RelationEvent):
    """The provider's data changed."""


class KratosInfoRemovedEvent(RelationEvent):
    """The relation with Kratos is gone."""


class KratosInfoRequirerEvents(ObjectEvents):
    """Events of the requirer."""

    kratos_info_changed = EventSource(KratosInfoChangedEvent)
    kratos_info_removed = EventSource(KratosInfoRemovedEvent)


class KratosInfoRequirer(Object):
    """The requirer side, for charms that need Kratos's endpoints."""

    on = KratosInfoRequirerEvents()  # pyright: ignore[reportAssignmentType]

    def __init__(self, charm: CharmBase, relation_name: str = DEFAULT_RELATION_NAME) -> None:
        super().__init__(charm, relation_name)
        self._charm = charm
        self._relation_name = relation_name
        events = charm.on[relation_name]
        self.framework.observe(events.relation_changed, self._on_relation_changed)
        self.framework.observe(events.relation_broken, self._on_relation_broken)

    def _on_relation_changed(self, event: RelationJoinedEvent) -> None:
        if event.app and self.get_kratos_info(event.relation.id):
            self.on.kratos_info_changed.emit(event.relation, app=event.app, unit=event.unit)

    def _on_relation_broken(self, event: RelationEvent) -> None:
        self.on.kratos_info_removed.emit(event.relation, app=event.app, unit=event.unit)

    def is_ready(self, relation_id: int | None = None) -> bool:
        """Whether Kratos has published its data."""
        return self.get_kratos_info(relation_id) is not None

    def get_kratos_info(self, relation_id: int | None = None) -> KratosInfo | None:
        """Return the published data, or None while there is none."""
        relation = self._charm.model.get_relation(self._relation_name, relation_id)
        if not relation or not relation.app:
            return None
        return KratosInfo.from_databag(dict(relation.data[relation.app]))
