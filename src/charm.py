#!/usr/bin/env python3
"""The Kratos charm: every event runs one reconcile; collect-status reports what is missing."""

import logging
from collections.abc import Callable
from typing import Any

import ops
from charms.kratos.v0.kratos_info import KratosInfo, KratosInfoProvider

import actions
from admin_client import AdminAPIError, AdminClient
from configs import (
    CharmConfig,
    InvalidConfigError,
    RenderInputs,
    WorkloadSecrets,
    render_kratos_config,
    workload_environment,
)
from constants import (
    ADMIN_PORT,
    ADMIN_URL,
    CA_RELATION,
    CHARM_CA_BUNDLE,
    DASHBOARD_RELATION,
    EXTERNAL_IDP_RELATION,
    HYDRA_RELATION,
    INTERNAL_ROUTE_RELATION,
    LOGGING_RELATION,
    LOGIN_UI_RELATION,
    LOGIN_WEBHOOK_RELATION,
    METRICS_RELATION,
    PUBLIC_PORT,
    PUBLIC_ROUTE_RELATION,
    REGISTRATION_WEBHOOK_RELATION,
    SMTP_RELATION,
    TRACING_RELATION,
    WORKLOAD_CONTAINER,
)
from file_resources import VERIFICATION_EMAIL_TEMPLATE, FileResourceError, read_text_resource
from integrations import (
    DEFAULT_SMTP_URI,
    LOG_FORWARDING_LAYER,
    CertificateTransfer,
    DatabaseInfo,
    ExternalIdpRequirer,
    GrafanaDashboardProvider,
    HydraEndpointsRequirer,
    LegacyDatabaseRequirer,
    LogForwarder,
    LoginUIRequirer,
    LoginWebhookData,
    MetricsEndpointProvider,
    PeerData,
    PgDatabaseRequirer,
    RegistrationWebhookData,
    SmtpRequirer,
    Tracing,
    TraefikRouteRequirer,
    WebhookError,
    WebhookRequirer,
    Webhooks,
    internal_route_config,
    public_route_config,
)
from resources import ResourcePatcher, ResourcePatchError
from secrets_store import CIPHER_KEY, COOKIE_KEY, KratosSecrets
from workload import MigrationError, Workload

logger = logging.getLogger(__name__)

AdminAction = Callable[[AdminClient, dict[str, Any]], dict[str, Any]]
ADMIN_ACTIONS: dict[str, AdminAction] = {
    "get-identity": actions.get_identity,
    "delete-identity": actions.delete_identity,
    "invalidate-identity-sessions": actions.invalidate_identity_sessions,
    "reset-identity-mfa": actions.reset_identity_mfa,
    "list-oidc-accounts": actions.list_oidc_accounts,
    "unlink-oidc-account": actions.unlink_oidc_account,
}


class KratosCharm(ops.CharmBase):
    """Runs the Kratos-compatible identity server under Pebble."""

    _stored = ops.StoredState()
    admin_url = ADMIN_URL
    resource_patcher_factory: Callable[[str, str], ResourcePatcher] = ResourcePatcher

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self._stored.set_default(resources=None, resources_error=None, migration_error=None)
        self.workload = Workload(self.unit)
        self.peers = PeerData(self.model)
        self.secrets = KratosSecrets(self.model)
        self.pg_database = PgDatabaseRequirer(self)
        self.legacy_db = LegacyDatabaseRequirer(self)
        self.public_route = TraefikRouteRequirer(self, PUBLIC_ROUTE_RELATION)
        self.internal_route = TraefikRouteRequirer(self, INTERNAL_ROUTE_RELATION)
        self.smtp = SmtpRequirer(self.model, SMTP_RELATION)
        self.hydra = HydraEndpointsRequirer(self.model, HYDRA_RELATION)
        self.login_ui = LoginUIRequirer(self.model, LOGIN_UI_RELATION)
        self.external_idp = ExternalIdpRequirer(self, EXTERNAL_IDP_RELATION)
        self.registration_webhooks = WebhookRequirer(
            self.model, REGISTRATION_WEBHOOK_RELATION, RegistrationWebhookData
        )
        self.login_webhooks = WebhookRequirer(self.model, LOGIN_WEBHOOK_RELATION, LoginWebhookData)
        self.kratos_info = KratosInfoProvider(self)
        self.metrics = MetricsEndpointProvider(self, METRICS_RELATION)
        self.dashboards = GrafanaDashboardProvider(self, DASHBOARD_RELATION)
        self.log_forwarder = LogForwarder(self, LOGGING_RELATION)
        self.tracing = Tracing(self, TRACING_RELATION)
        self.ca = CertificateTransfer(self, CA_RELATION)
        self._version_cache: str | None = None

        reconcile_on = [
            self.on.config_changed,
            self.on.upgrade_charm,
            self.on.leader_elected,
            self.on.update_status,
            self.on.secret_changed,
            self.on[WORKLOAD_CONTAINER].pebble_ready,
            self.legacy_db.client.on.master_changed,
            self.tracing.requirer.on.endpoint_changed,
            self.tracing.requirer.on.endpoint_removed,
            self.ca.requirer.on.certificate_set_updated,
            self.ca.requirer.on.certificates_removed,
            self.kratos_info.on.ready,
        ]
        for name in self.meta.relations:
            events = self.on[name]
            reconcile_on += [
                events.relation_created,
                events.relation_joined,
                events.relation_changed,
                events.relation_departed,
                events.relation_broken,
            ]
        for event in reconcile_on:
            framework.observe(event, self._reconcile)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

        for name in ADMIN_ACTIONS:
            framework.observe(self.on[name].action, self._on_admin_action)
        framework.observe(self.on["create-admin-account"].action, self._on_create_admin_account)
        framework.observe(self.on["reset-password"].action, self._on_reset_password)
        framework.observe(self.on["run-migration"].action, self._on_run_migration)

    # ---- state derived from config and relations ----

    def _config(self) -> CharmConfig | InvalidConfigError:
        try:
            return CharmConfig.from_mapping(self.config)
        except InvalidConfigError as e:
            return e

    def _database(self) -> DatabaseInfo | None:
        if self.pg_database.relation:
            return self.pg_database.info()
        return self.legacy_db.info()

    def _version(self) -> str | None:
        if self._version_cache is None and self.workload.can_connect():
            self._version_cache = self.workload.version()
        return self._version_cache

    def _service_url(self, port: int) -> str:
        return f"http://{self.app.name}.{self.model.name}.svc.cluster.local:{port}"

    def _webhooks(self) -> Webhooks | WebhookError:
        try:
            return Webhooks(
                registration=self.registration_webhooks.flow_webhooks(),
                login=self.login_webhooks.flow_webhooks(),
            )
        except WebhookError as e:
            return e

    def _verification_email_template(self) -> str | FileResourceError | None:
        try:
            return read_text_resource(self.model.resources, VERIFICATION_EMAIL_TEMPLATE, self.app.name)
        except FileResourceError as e:
            return e

    def _render_inputs(
        self, config: CharmConfig, webhooks: Webhooks | None = None, email_template: str | None = None
    ) -> RenderInputs:
        return RenderInputs(
            config=config,
            public_url=self.public_route.url,
            admin_url=self.internal_route.url or self._service_url(ADMIN_PORT),
            fallback_public_url=self._service_url(PUBLIC_PORT),
            login_ui=self.login_ui.endpoints(),
            oauth2_provider_url=self.hydra.admin_endpoint,
            oidc_providers=[p.kratos_config() for p in self.external_idp.providers()],
            tracing_endpoint=self.tracing.endpoint(),
            webhooks=webhooks or Webhooks(),
            verification_email_template=email_template,
        )

    # ---- statuses ----

    def _prerequisites(self, config: CharmConfig | InvalidConfigError) -> ops.StatusBase | None:
        """Return what stops the workload from running at all, or None."""
        if not self.workload.can_connect():
            return ops.WaitingStatus("Waiting for the kratos container to start")
        if isinstance(config, InvalidConfigError):
            return ops.BlockedStatus(str(config))
        if self.pg_database.relation and self.legacy_db.relation:
            return ops.BlockedStatus(
                "Both pg-database and db are integrated: remove the db (legacy) integration"
            )
        if not self.pg_database.relation and not self.legacy_db.relation:
            return ops.BlockedStatus(
                "Missing integration pg-database: run `juju integrate kratos postgresql-k8s`"
            )
        if not self.peers.relation:
            return ops.WaitingStatus("Waiting for the peer relation")
        if not self._database():
            return ops.WaitingStatus("Waiting for the database to be created")
        if not self.secrets.get():
            return ops.WaitingStatus("Waiting for the leader unit to create the secrets")
        if not self._version():
            return ops.WaitingStatus("Waiting for the workload version (`kratos version` failed)")
        return None

    def _migration_status(self) -> ops.StatusBase | None:
        """Waiting/Blocked while the database is not migrated to this unit's version, else None."""
        database, version = self._database(), self._version()
        if not database or not version or self.peers.migration_version(database.relation_id) == version:
            return None
        if not self.unit.is_leader():
            return ops.WaitingStatus("Waiting for the leader unit to run the database migration")
        if error := self._stored.migration_error:
            return ops.BlockedStatus(f"{error}; fix it, then run `juju run {self.unit.name} run-migration`")
        return ops.WaitingStatus("Waiting for the database migration")

    def _degradations(self, config: CharmConfig) -> list[ops.StatusBase]:
        """Misconfigurations the workload runs despite (a feature stays off)."""
        statuses: list[ops.StatusBase] = []
        public_url = self.public_route.url
        if config.webauthn_requested and not public_url:
            option = (
                "enable_passwordless_login_method"
                if config.enable_passwordless_login_method
                else "enable_oidc_webauthn_sequencing"
            )
            statuses.append(
                ops.BlockedStatus(
                    f"{option} needs a public URL for WebAuthn: integrate public-route with traefik"
                )
            )
        if config.enable_verification and not self.smtp.connection_uri():
            statuses.append(
                ops.BlockedStatus("enable_verification needs email: integrate smtp with an SMTP integrator")
            )
        if self.external_idp.relations and not public_url:
            statuses.append(
                ops.BlockedStatus(
                    "Cannot send redirect URIs to kratos-external-idp without a public URL: "
                    "integrate public-route with traefik"
                )
            )
        for problem in self.external_idp.problems():
            statuses.append(
                ops.BlockedStatus(f"kratos-external-idp: {problem}; fix it in the integrator's config")
            )
        if error := self._stored.resources_error:
            statuses.append(ops.BlockedStatus(error))
        if isinstance(template := self._verification_email_template(), FileResourceError):
            statuses.append(ops.BlockedStatus(str(template)))
        return statuses

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        config = self._config()
        if blocker := self._prerequisites(config):
            event.add_status(blocker)
            return
        assert isinstance(config, CharmConfig)
        if migration := self._migration_status():
            event.add_status(migration)
            return
        if isinstance(webhooks := self._webhooks(), WebhookError):
            event.add_status(ops.BlockedStatus(str(webhooks)))
        for status in self._degradations(config):
            event.add_status(status)
        if self.workload.is_ready():
            event.add_status(ops.ActiveStatus())
        elif self.workload.is_running():
            event.add_status(ops.WaitingStatus("Waiting for the kratos service to answer its ready check"))
        else:
            event.add_status(ops.BlockedStatus("The kratos service is not running: check `juju debug-log`"))

    # ---- reconcile ----

    def _reconcile(self, event: ops.EventBase) -> None:
        config = self._config()
        if self.unit.is_leader():
            self.secrets.ensure()
            self.peers.set("leader", self.unit.name)
            if isinstance(config, CharmConfig):
                self._publish(config)
                self._apply_resources(config)
        self.metrics.publish()
        if not self.workload.can_connect():
            return
        self.workload.open_ports()
        self.workload.add_log_targets(
            LOG_FORWARDING_LAYER, self.log_forwarder.layer(self.workload.log_target_names())
        )
        if self._prerequisites(config):
            if not self._database():
                self.workload.stop()
            return
        assert isinstance(config, CharmConfig)
        self.unit.set_workload_version(self._version() or "")
        if self.unit.is_leader() and self._migration_status():
            self._migrate()
        if self._migration_status():
            return
        self._configure_workload(config)

    def _publish(self, config: CharmConfig) -> None:
        """Leader-written relation data: routes, kratos-info, redirect URIs, COS."""
        self.public_route.submit(public_route_config(self.model, self.public_route.external_host))
        self.internal_route.submit(internal_route_config(self.model, self.internal_route.external_host))
        public_url = self.public_route.url
        self.external_idp.publish_redirect_uris(public_url)
        if public_url:
            self.kratos_info.send_info_relation_data(self._kratos_info(config, public_url))
        else:
            self.kratos_info.clear_info_relation_data()
        self.dashboards.publish()
        self.log_forwarder.publish()

    def _kratos_info(self, config: CharmConfig, public_url: str) -> KratosInfo:
        internal = self.internal_route.url
        public_endpoint = internal or self._service_url(PUBLIC_PORT)
        return KratosInfo(
            admin_endpoint=internal or self._service_url(ADMIN_PORT),
            public_endpoint=public_endpoint,
            login_browser_endpoint=f"{public_url}/self-service/login/browser",
            sessions_endpoint=f"{public_endpoint}/sessions/whoami",
            mfa_enabled=config.enforce_mfa,
            oidc_webauthn_sequencing_enabled=config.enable_oidc_webauthn_sequencing,
            verification_enabled=config.enable_verification,
            feature_flags=self._render_inputs(config).feature_flags(),
        )

    def _apply_resources(self, config: CharmConfig) -> None:
        wanted = [config.cpu, config.memory]
        if wanted == (self._stored.resources or [None, None]):
            return
        try:
            self.resource_patcher_factory(self.app.name, self.model.name).apply(config.cpu, config.memory)
        except ResourcePatchError as e:
            self._stored.resources_error = str(e)
            return
        self._stored.resources = wanted
        self._stored.resources_error = None

    def _migrate(self, timeout: float = 120) -> str:
        """Run the migration (leader) and record the version; raise MigrationError on failure."""
        database, version = self._database(), self._version()
        if not database or not version:
            raise MigrationError("no database or workload version yet")
        try:
            output = self.workload.run_migration(database.dsn, timeout)
        except MigrationError as e:
            logger.error("database migration failed: %s", e)
            self._stored.migration_error = str(e)
            return ""
        self._stored.migration_error = None
        self.peers.set_migration_version(database.relation_id, version)
        logger.info("migrated the database to %s", version)
        return output

    def _ca_bundle(self) -> str | None:
        if not (certificates := self.ca.certificates()):
            return None
        system = CHARM_CA_BUNDLE.read_text() if CHARM_CA_BUNDLE.exists() else ""
        return system.rstrip() + "\n" + "\n".join(certificates) + "\n"

    def _configure_workload(self, config: CharmConfig) -> None:
        database, secrets = self._database(), self.secrets.get()
        assert database is not None
        assert secrets is not None
        if isinstance(webhooks := self._webhooks(), WebhookError):
            logger.error("not updating the workload: %s", webhooks)
            return  # a gatekeeping hook left out could let flows through that it would refuse
        template = self._verification_email_template()
        inputs = self._render_inputs(config, webhooks, template if isinstance(template, str) else None)
        smtp = self.smtp.data()
        ca_bundle = self._ca_bundle()
        environment = workload_environment(
            config,
            WorkloadSecrets(
                dsn=database.dsn,
                cookie_secret=secrets[COOKIE_KEY],
                cipher_secret=secrets[CIPHER_KEY],
                smtp_connection_uri=self.smtp.connection_uri() or DEFAULT_SMTP_URI,
            ),
            public_base_url=inputs.public_base_url,
            sender_email=smtp.smtp_sender if smtp else None,
            custom_ca=ca_bundle is not None,
        )
        self.workload.configure(render_kratos_config(inputs), environment, ca_bundle)

    # ---- actions ----

    def _admin_client(self, event: ops.ActionEvent) -> AdminClient | None:
        if not self.workload.can_connect() or not self.workload.is_ready():
            event.fail(
                "The kratos service is not ready: wait until `juju status` shows the unit active, then retry"
            )
            return None
        return AdminClient(self.admin_url)

    def _call(self, event: ops.ActionEvent, call: Callable[[AdminClient], dict[str, Any]]) -> None:
        if not (client := self._admin_client(event)):
            return
        try:
            results = call(client)
        except actions.ActionError as e:
            event.fail(str(e))
            return
        except AdminAPIError as e:
            event.fail(f"The Kratos admin API failed: {e}")
            return
        event.set_results(results)

    def _on_admin_action(self, event: ops.ActionEvent) -> None:
        handler = ADMIN_ACTIONS[event.handle.kind.removesuffix("_action").replace("_", "-")]
        self._call(event, lambda client: handler(client, dict(event.params)))

    def _password(self, secret_id: str | None) -> str | None:
        if not secret_id:
            return None
        try:
            content = self.model.get_secret(id=secret_id).get_content(refresh=True)
        except (ops.SecretNotFoundError, ops.ModelError):
            raise actions.ActionError(
                f"Cannot read secret {secret_id}: create it with "
                "`juju add-secret <name> password=<password>` "
                f"and grant it with `juju grant-secret <name> {self.app.name}`"
            ) from None
        if not content.get("password"):
            raise actions.ActionError(f"Secret {secret_id} has no key `password`")
        return content["password"]

    def _on_create_admin_account(self, event: ops.ActionEvent) -> None:
        params = dict(event.params)
        self._call(
            event,
            lambda client: actions.create_admin_account(
                client, params, self._password(params.get("password-secret-id"))
            ),
        )

    def _on_reset_password(self, event: ops.ActionEvent) -> None:
        params = dict(event.params)
        self._call(
            event,
            lambda client: actions.reset_password(
                client, params, self._password(params.get("password-secret-id"))
            ),
        )

    def _on_run_migration(self, event: ops.ActionEvent) -> None:
        if not self.unit.is_leader():
            event.fail("Run this action on the leader unit: `juju run kratos/leader run-migration`")
            return
        if not self.workload.can_connect():
            event.fail("The kratos container is not reachable yet; retry in a moment")
            return
        if not self._database():
            event.fail("No database yet: integrate with postgresql-k8s and wait for it to be created")
            return
        if not self._version():
            event.fail(
                "Cannot read the workload version (`kratos version` failed); check the container image"
            )
            return
        event.log("Running kratos migrate sql")
        output = self._migrate(float(event.params.get("timeout", 120)))
        if error := self._stored.migration_error:
            event.fail(f"{error}; check the database, then run the action again")
            return
        event.set_results({"version": self._version(), "output": output or "done"})
        self._reconcile(event)


if __name__ == "__main__":  # pragma: nocover
    ops.main(KratosCharm)
