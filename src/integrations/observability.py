"""COS relations: metrics-endpoint, grafana-dashboard, logging (Pebble log forwarding), tracing, CA."""

import json
import logging
import uuid
from pathlib import Path
from typing import Any

import ops
from charmlibs.interfaces.certificate_transfer import CertificateTransferRequires
from charmlibs.interfaces.tracing import TracingEndpointRequirer
from cosl import AlertRules, DashboardPath40UID, JujuTopology, LZMABase64

from constants import ADMIN_PORT, ALERT_RULES_DIR, DASHBOARDS_DIR, METRICS_PATH

logger = logging.getLogger(__name__)

LOG_FORWARDING_LAYER = "kratos-log-forwarding"


def _unit_fqdn(model: ops.Model) -> str:
    unit = model.unit.name.replace("/", "-")
    return f"{unit}.{model.app.name}-endpoints.{model.name}.svc.cluster.local"


class MetricsEndpointProvider:
    """Our side of prometheus_scrape: one job scraping `/metrics/prometheus` on the admin port."""

    def __init__(self, charm: ops.CharmBase, relation_name: str, rules_dir: Path = ALERT_RULES_DIR) -> None:
        self._charm = charm
        self.relation_name = relation_name
        self._rules_dir = rules_dir

    def alert_rules(self) -> dict[str, Any]:
        """Return the alert rules, labelled with our topology."""
        rules = AlertRules(query_type="promql", topology=JujuTopology.from_charm(self._charm))
        rules.add_path(self._rules_dir, recursive=True)
        return rules.as_dict()

    def publish(self) -> None:
        """Write the scrape job (leader) and this unit's address (every unit)."""
        model = self._charm.model
        for relation in model.relations[self.relation_name]:
            relation.data[model.unit].update(
                {
                    "prometheus_scrape_unit_address": _unit_fqdn(model),
                    "prometheus_scrape_unit_name": model.unit.name,
                }
            )
            if not model.unit.is_leader():
                continue
            job = {
                "job_name": "kratos",
                "metrics_path": METRICS_PATH,
                "static_configs": [{"targets": [f"*:{ADMIN_PORT}"]}],
            }
            relation.data[model.app].update(
                {
                    "scrape_metadata": json.dumps(JujuTopology.from_charm(self._charm).as_dict()),
                    "scrape_jobs": json.dumps([job]),
                    "alert_rules": json.dumps(self.alert_rules()),
                }
            )


class GrafanaDashboardProvider:
    """Our side of grafana_dashboard: the dashboards in `src/grafana_dashboards`, LZMA+base64 encoded."""

    def __init__(
        self, charm: ops.CharmBase, relation_name: str, dashboards_dir: Path = DASHBOARDS_DIR
    ) -> None:
        self._charm = charm
        self.relation_name = relation_name
        self._dir = dashboards_dir

    def templates(self) -> dict[str, dict[str, Any]]:
        """Return the dashboards as the interface's `templates` entries."""
        topology = JujuTopology.from_charm(self._charm).as_dict()
        charm_name = self._charm.meta.name
        return {
            f"file:{path.name}": {
                "charm": charm_name,
                "content": LZMABase64.compress(path.read_text()),
                "juju_topology": topology,
                "inject_dropdowns": True,
                "dashboard_alt_uid": DashboardPath40UID.generate(charm_name, path.name),
            }
            for path in sorted(self._dir.glob("*.json"))
        }

    def publish(self) -> None:
        """Publish the dashboards (leader); the uuid changes only when the dashboards do."""
        if not self._charm.unit.is_leader():
            return
        templates = self.templates()
        for relation in self._charm.model.relations[self.relation_name]:
            bag = relation.data[self._charm.app]
            try:
                current = json.loads(bag.get("dashboards") or "{}")
            except json.JSONDecodeError:
                current = {}
            if current.get("templates") == templates:
                continue
            bag["dashboards"] = json.dumps({"templates": templates, "uuid": str(uuid.uuid4())})


class LogForwarder:
    """Our side of loki_push_api: Pebble log targets for every Loki unit's push endpoint."""

    def __init__(self, charm: ops.CharmBase, relation_name: str) -> None:
        self._charm = charm
        self.relation_name = relation_name

    def endpoints(self) -> dict[str, str]:
        """Loki push URLs by a target name derived from the Loki unit."""
        result: dict[str, str] = {}
        for relation in self._charm.model.relations[self.relation_name]:
            for unit in relation.units:
                try:
                    url = json.loads(relation.data[unit].get("endpoint") or "{}").get("url")
                except (json.JSONDecodeError, AttributeError):
                    url = None
                if url:
                    result[f"loki-{unit.name.replace('/', '-')}"] = url
        return result

    def publish(self) -> None:
        """Publish our topology (leader), as the Loki charm expects."""
        if not self._charm.unit.is_leader():
            return
        topology = json.dumps(JujuTopology.from_charm(self._charm).as_dict())
        for relation in self._charm.model.relations[self.relation_name]:
            relation.data[self._charm.app]["metadata"] = topology

    def layer(self, existing_targets: list[str]) -> ops.pebble.Layer:
        """Return a layer forwarding every service's logs; targets that went away are switched off."""
        topology = JujuTopology.from_charm(self._charm)
        labels = {
            "product": "Juju",
            "charm": topology.charm_name or "",
            "juju_model": topology.model,
            "juju_model_uuid": topology.model_uuid,
            "juju_application": topology.application,
            "juju_unit": topology.unit or "",
        }
        targets: dict[str, Any] = {
            name: {
                "override": "replace",
                "type": "loki",
                "location": url,
                "services": ["all"],
                "labels": labels,
            }
            for name, url in self.endpoints().items()
        }
        for name in existing_targets:
            if name not in targets:
                targets[name] = {"override": "merge", "services": ["-all"]}
        return ops.pebble.Layer({"log-targets": targets})  # type: ignore[arg-type]


class Tracing:
    """The tracing requirer (charmlibs-interfaces-tracing), asking for an OTLP HTTP receiver."""

    def __init__(self, charm: ops.CharmBase, relation_name: str) -> None:
        self.requirer = TracingEndpointRequirer(charm, relation_name, protocols=["otlp_http"])

    def endpoint(self) -> str | None:
        """Return the OTLP HTTP receiver URL, once Tempo published it."""
        if not self.requirer.is_ready():
            return None
        return self.requirer.get_endpoint("otlp_http")


class CertificateTransfer:
    """The CA certificates received on receive-ca-cert (charmlibs-interfaces-certificate-transfer)."""

    def __init__(self, charm: ops.CharmBase, relation_name: str) -> None:
        self.requirer = CertificateTransferRequires(charm, relation_name)

    def certificates(self) -> list[str]:
        """Return the received PEM certificates, sorted for a stable bundle."""
        return sorted(cert.strip() for cert in self.requirer.get_all_certificates() if cert.strip())
