"""The database relations: `pg-database` (postgresql_client v0) and the legacy `db` (pgsql)."""

import json
import logging
from dataclasses import dataclass
from urllib.parse import quote

import ops
import pgsql
from pgconnstr import ConnectionString

from constants import LEGACY_DB_RELATION, PG_DATABASE_RELATION

logger = logging.getLogger(__name__)

REQUESTED_SECRETS = ["username", "password", "tls", "tls-ca", "uris", "read-only-uris"]


@dataclass(frozen=True)
class DatabaseInfo:
    """Where and how the workload connects to its database."""

    relation_id: int
    endpoint: str
    database: str
    username: str
    password: str

    @property
    def dsn(self) -> str:
        """The workload's DSN (`postgres://user:password@host:port/database`)."""
        user = quote(self.username, safe="")
        password = quote(self.password, safe="")
        return f"postgres://{user}:{password}@{self.endpoint}/{quote(self.database, safe='')}"


def database_name(model: ops.Model) -> str:
    """Return the database the charm asks for: `<model>_<app>`."""
    return f"{model.name}_{model.app.name}"


class PgDatabaseRequirer(ops.Object):
    """Our side of postgresql_client v0: request a database, read endpoints and credentials."""

    def __init__(self, charm: ops.CharmBase, relation_name: str = PG_DATABASE_RELATION) -> None:
        super().__init__(charm, relation_name)
        self._charm = charm
        self.relation_name = relation_name
        self.framework.observe(charm.on[relation_name].relation_created, self._on_relation_created)

    @property
    def relation(self) -> ops.Relation | None:
        """The pg-database relation, if any."""
        return self.model.get_relation(self.relation_name)

    def _on_relation_created(self, event: ops.RelationCreatedEvent) -> None:
        self.request(event.relation)

    def request(self, relation: ops.Relation) -> None:
        """Ask the provider for the database (leader only, idempotent)."""
        if not self.model.unit.is_leader():
            return
        relation.data[self.model.app].update(
            {
                "database": database_name(self.model),
                "requested-secrets": json.dumps(REQUESTED_SECRETS),
            }
        )

    def _credentials(self, data: ops.RelationDataContent) -> tuple[str, str] | None:
        if secret_id := data.get("secret-user"):
            try:
                content = self.model.get_secret(id=secret_id).get_content(refresh=True)
            except (ops.SecretNotFoundError, ops.ModelError) as e:
                logger.warning("cannot read the database user secret: %s", e)
                return None
            username, password = content.get("username"), content.get("password")
        else:
            username, password = data.get("username"), data.get("password")
        if not username or not password:
            return None
        return username, password

    def info(self) -> DatabaseInfo | None:
        """Return the database connection, once the provider has created the database and user."""
        if not (relation := self.relation) or not relation.app:
            return None
        data = relation.data[relation.app]
        endpoints = [e.strip() for e in data.get("endpoints", "").split(",") if e.strip()]
        credentials = self._credentials(data)
        if not endpoints or not credentials:
            return None
        return DatabaseInfo(
            relation_id=relation.id,
            endpoint=endpoints[0],
            database=data.get("database") or database_name(self.model),
            username=credentials[0],
            password=credentials[1],
        )


class _GuardedPostgreSQLClient(pgsql.PostgreSQLClient):
    """ops-lib-pgsql's client, which touches leader settings only when a `db` relation exists."""

    def _has_relations(self) -> bool:
        return bool(self.model.relations[self.relation_name])

    def _mirror_appdata(self) -> None:
        if self._has_relations():
            super()._mirror_appdata()

    def _on_upgrade_charm(self, event: ops.UpgradeCharmEvent) -> None:
        if self._has_relations():
            super()._on_upgrade_charm(event)


class LegacyDatabaseRequirer(ops.Object):
    """The legacy `db` (pgsql) relation through ops-lib-pgsql."""

    _stored = ops.StoredState()

    def __init__(self, charm: ops.CharmBase, relation_name: str = LEGACY_DB_RELATION) -> None:
        super().__init__(charm, f"{relation_name}-legacy")
        self.relation_name = relation_name
        self._stored.set_default(master=None, relation_id=None)
        self.client = _GuardedPostgreSQLClient(charm, relation_name)
        self.framework.observe(self.client.on.database_relation_joined, self._on_joined)
        self.framework.observe(self.client.on.master_changed, self._on_master_changed)
        self.framework.observe(self.client.on.database_relation_broken, self._on_broken)

    @property
    def relation(self) -> ops.Relation | None:
        """The db relation, if any."""
        return self.model.get_relation(self.relation_name)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.model.unit.is_leader():
            event.database = database_name(self.model)

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        master = event.master
        self._stored.master = str(master) if master is not None else None
        self._stored.relation_id = event.relation.id

    def _on_broken(self, event: pgsql.DatabaseRelationBrokenEvent) -> None:
        self._stored.master = None
        self._stored.relation_id = None

    def info(self) -> DatabaseInfo | None:
        """Return the database connection from the provider's master connection string."""
        relation = self.relation
        master, relation_id = self._stored.master, self._stored.relation_id
        if not relation or not master or relation_id != relation.id:
            return None
        conn = ConnectionString(master)
        if not conn.host or not conn.user:
            return None
        return DatabaseInfo(
            relation_id=relation.id,
            endpoint=f"{conn.host}:{conn.port}" if conn.port else conn.host,
            database=conn.dbname or database_name(self.model),
            username=conn.user,
            password=conn.password or "",
        )
