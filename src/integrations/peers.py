"""The peer relation's application databag: JSON values shared by all units."""

import json
from typing import Any

import ops

from constants import PEER_RELATION


class PeerData:
    """JSON-encoded values in the peer relation's app databag (only the leader writes)."""

    def __init__(self, model: ops.Model, relation_name: str = PEER_RELATION) -> None:
        self._model = model
        self._relation_name = relation_name

    @property
    def relation(self) -> ops.Relation | None:
        """The peer relation, once Juju has created it."""
        return self._model.get_relation(self._relation_name)

    def get(self, key: str) -> Any:
        """Return the decoded value of `key`, or None."""
        if not (relation := self.relation):
            return None
        raw = relation.data[self._model.app].get(key)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw

    def set(self, key: str, value: Any) -> bool:
        """Store `value` under `key`; False when this unit may not write (not leader, no relation)."""
        if not (relation := self.relation) or not self._model.unit.is_leader():
            return False
        relation.data[self._model.app][key] = json.dumps(value)
        return True

    def pop(self, key: str) -> None:
        """Remove `key` (leader only; a no-op elsewhere)."""
        if (relation := self.relation) and self._model.unit.is_leader():
            relation.data[self._model.app].pop(key, None)

    @staticmethod
    def migration_key(relation_id: int) -> str:
        """Return the key recording the workload version the database was migrated to."""
        return f"migration_version_{relation_id}"

    def migration_version(self, relation_id: int) -> str | None:
        """Return the workload version the database of `relation_id` was migrated to."""
        value = self.get(self.migration_key(relation_id))
        return str(value) if value is not None else None

    def set_migration_version(self, relation_id: int, version: str) -> bool:
        """Record that the database of `relation_id` is migrated to `version`."""
        return self.set(self.migration_key(relation_id), version)
