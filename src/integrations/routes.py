"""traefik_route requirers for the public and admin APIs (raw Traefik dynamic configuration)."""

import logging
from typing import Any

import ops
import yaml

from constants import ADMIN_PORT, PUBLIC_PORT

logger = logging.getLogger(__name__)

PUBLIC_PATHS = ("/self-service", "/sessions", "/schemas", "/.well-known/ory/webauthn.js", "/health")
INTERNAL_PUBLIC_PATHS = ("/self-service", "/sessions", "/schemas", "/.well-known", "/health")
INTERNAL_ADMIN_PATHS = ("/admin/identities", "/admin/recovery", "/admin/sessions", "/admin/courier")


class TraefikRouteRequirer(ops.Object):
    """One traefik_route endpoint: submits our routes, reads Traefik's external host and scheme."""

    def __init__(self, charm: ops.CharmBase, relation_name: str) -> None:
        super().__init__(charm, relation_name)
        self.relation_name = relation_name

    @property
    def relation(self) -> ops.Relation | None:
        """The route relation, if any."""
        return self.model.get_relation(self.relation_name)

    @property
    def external_host(self) -> str | None:
        """The host Traefik serves our routes on."""
        if not (relation := self.relation) or not relation.app:
            return None
        return relation.data[relation.app].get("external_host") or None

    @property
    def scheme(self) -> str:
        """`http` or `https`, as Traefik says."""
        if not (relation := self.relation) or not relation.app:
            return "http"
        return relation.data[relation.app].get("scheme") or "http"

    @property
    def url(self) -> str | None:
        """The external URL, without a trailing slash, once Traefik has published its host."""
        host = self.external_host
        return f"{self.scheme}://{host}" if host else None

    def submit(self, config: dict[str, Any]) -> bool:
        """Publish the dynamic configuration (leader only, once the remote app is known)."""
        relation = self.relation
        if not relation or not relation.app or not self.model.unit.is_leader():
            return False
        relation.data[self.model.app].update({"config": yaml.safe_dump(config), "raw": "True"})
        return True


def _prefix(model: ops.Model, name: str) -> str:
    return f"juju-{model.name}-{model.app.name}-{name}"


def _service_url(model: ops.Model, port: int) -> str:
    return f"http://{model.app.name}.{model.name}.svc.cluster.local:{port}"


def _routers(
    model: ops.Model, name: str, rules: dict[str, str], service: str, host: str | None
) -> dict[str, Any]:
    """Return a plain (`web`) and a TLS (`websecure`) router per rule."""
    routers: dict[str, Any] = {}
    tls: dict[str, Any] = {"domains": [{"main": host, "sans": [f"*.{host}"]}]} if host else {}
    for key, rule in rules.items():
        router = f"{_prefix(model, name)}-{key}"
        routers[router] = {"rule": rule, "service": service, "entryPoints": ["web"]}
        routers[f"{router}-tls"] = {
            "rule": rule,
            "service": service,
            "entryPoints": ["websecure"],
            "tls": tls,
        }
    return routers


def _rule_key(path: str) -> str:
    return path.strip("/").replace("/", "-").replace(".", "") or "root"


def public_route_config(model: ops.Model, host: str | None) -> dict[str, Any]:
    """Routes for the public API, plus `/.well-known/webauthn.js` rewritten to Kratos's path."""
    service = f"{_prefix(model, 'public')}-service"
    rules = {_rule_key(p): f"PathPrefix(`{p}`)" for p in PUBLIC_PATHS}
    routers = _routers(model, "public", rules, service, host)
    webauthn = _routers(model, "public", {"webauthn-js": "Path(`/.well-known/webauthn.js`)"}, service, host)
    middleware = f"{_prefix(model, 'public')}-webauthn-js"
    for router in webauthn.values():
        router["middlewares"] = [middleware]
    routers.update(webauthn)
    return {
        "http": {
            "routers": routers,
            "middlewares": {middleware: {"replacePath": {"path": "/.well-known/ory/webauthn.js"}}},
            "services": {service: {"loadBalancer": {"servers": [{"url": _service_url(model, PUBLIC_PORT)}]}}},
        }
    }


def internal_route_config(model: ops.Model, host: str | None) -> dict[str, Any]:
    """Routes for the admin API (selected paths) and the public API, for in-cluster clients."""
    admin_service = f"{_prefix(model, 'admin')}-service"
    public_service = f"{_prefix(model, 'internal-public')}-service"
    routers = _routers(
        model,
        "admin",
        {_rule_key(p): f"PathPrefix(`{p}`)" for p in INTERNAL_ADMIN_PATHS},
        admin_service,
        host,
    )
    routers.update(
        _routers(
            model,
            "internal-public",
            {_rule_key(p): f"PathPrefix(`{p}`)" for p in INTERNAL_PUBLIC_PATHS},
            public_service,
            host,
        )
    )
    return {
        "http": {
            "routers": routers,
            "services": {
                admin_service: {"loadBalancer": {"servers": [{"url": _service_url(model, ADMIN_PORT)}]}},
                public_service: {"loadBalancer": {"servers": [{"url": _service_url(model, PUBLIC_PORT)}]}},
            },
        }
    }
