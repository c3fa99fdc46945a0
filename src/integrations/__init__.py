"""One typed class per relation, reading and writing its databag."""

from integrations.database import DatabaseInfo, LegacyDatabaseRequirer, PgDatabaseRequirer, database_name
from integrations.identity import (
    DEFAULT_SMTP_URI,
    ExternalIdpRequirer,
    ExternalProvider,
    HydraEndpointsRequirer,
    LoginUIRequirer,
    SmtpData,
    SmtpRequirer,
)
from integrations.observability import (
    LOG_FORWARDING_LAYER,
    CertificateTransfer,
    GrafanaDashboardProvider,
    LogForwarder,
    MetricsEndpointProvider,
    Tracing,
)
from integrations.peers import PeerData
from integrations.routes import TraefikRouteRequirer, internal_route_config, public_route_config
from integrations.webhooks import (
    LoginWebhookData,
    RegistrationWebhookData,
    WebhookError,
    WebhookRequirer,
    Webhooks,
)

__all__ = [
    "DEFAULT_SMTP_URI",
    "LOG_FORWARDING_LAYER",
    "CertificateTransfer",
    "DatabaseInfo",
    "ExternalIdpRequirer",
    "ExternalProvider",
    "GrafanaDashboardProvider",
    "HydraEndpointsRequirer",
    "LegacyDatabaseRequirer",
    "LogForwarder",
    "LoginUIRequirer",
    "LoginWebhookData",
    "MetricsEndpointProvider",
    "PeerData",
    "PgDatabaseRequirer",
    "RegistrationWebhookData",
    "SmtpData",
    "SmtpRequirer",
    "Tracing",
    "TraefikRouteRequirer",
    "WebhookError",
    "WebhookRequirer",
    "Webhooks",
    "database_name",
    "internal_route_config",
    "public_route_config",
]
