"""Names, ports and paths shared by the charm's modules."""

from pathlib import Path, PurePosixPath

WORKLOAD_CONTAINER = "kratos"
WORKLOAD_SERVICE = "kratos"
PUBLIC_PORT = 4433
ADMIN_PORT = 4434
ADMIN_URL = f"http://127.0.0.1:{ADMIN_PORT}"

CONFIG_DIR = PurePosixPath("/etc/config/kratos")
CONFIG_FILE = CONFIG_DIR / "kratos.yaml"
CA_BUNDLE_FILE = CONFIG_DIR / "ca-certificates.crt"
CHARM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

CHARM_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = CHARM_ROOT / "templates"
DASHBOARDS_DIR = Path(__file__).resolve().parent / "grafana_dashboards"
ALERT_RULES_DIR = Path(__file__).resolve().parent / "prometheus_alert_rules"

PEER_RELATION = "kratos-peers"
PG_DATABASE_RELATION = "pg-database"
LEGACY_DB_RELATION = "db"
PUBLIC_ROUTE_RELATION = "public-route"
INTERNAL_ROUTE_RELATION = "internal-route"
SMTP_RELATION = "smtp"
HYDRA_RELATION = "hydra-endpoint-info"
EXTERNAL_IDP_RELATION = "kratos-external-idp"
LOGIN_UI_RELATION = "ui-endpoint-info"
KRATOS_INFO_RELATION = "kratos-info"
METRICS_RELATION = "metrics-endpoint"
LOGGING_RELATION = "logging"
DASHBOARD_RELATION = "grafana-dashboard"
TRACING_RELATION = "tracing"
CA_RELATION = "receive-ca-cert"
REGISTRATION_WEBHOOK_RELATION = "kratos-registration-webhook"
LOGIN_WEBHOOK_RELATION = "kratos-login-webhook"

ADMIN_SCHEMA_ID = "admin_v0"
DEFAULT_SCHEMA_ID = "social_user_v0"
METRICS_PATH = "/metrics/prometheus"
