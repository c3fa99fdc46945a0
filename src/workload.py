"""The workload under Pebble: layer, files, (re)starts, version, readiness and migrations."""

import logging
import re

import ops
from ops import pebble

from constants import (
    ADMIN_PORT,
    CA_BUNDLE_FILE,
    CONFIG_FILE,
    PUBLIC_PORT,
    WORKLOAD_CONTAINER,
    WORKLOAD_SERVICE,
)

logger = logging.getLogger(__name__)

LAYER_LABEL = "kratos"
READY_CHECK = "ready"
ALIVE_CHECK = "alive"
_VERSION = re.compile(r"Version:\s*(\S+)")


class MigrationError(Exception):
    """`kratos migrate sql` failed; the message says why."""


def pebble_layer(environment: dict[str, str]) -> pebble.Layer:
    """Return the `kratos` service (courier included) with its `ready` and `alive` checks."""
    return pebble.Layer(
        {
            "summary": "Kratos identity server",
            "description": "Public and admin APIs, and the courier, in one process",
            "services": {
                WORKLOAD_SERVICE: {
                    "override": "replace",
                    "summary": "kratos serve",
                    "command": f"kratos serve -c {CONFIG_FILE} --watch-courier",
                    "startup": "enabled",
                    "environment": environment,
                }
            },
            "checks": {
                READY_CHECK: {
                    "override": "replace",
                    "level": "ready",
                    "period": "10s",
                    "timeout": "3s",
                    "threshold": 3,
                    "http": {"url": f"http://localhost:{ADMIN_PORT}/admin/health/ready"},
                },
                ALIVE_CHECK: {
                    "override": "replace",
                    "level": "alive",
                    "period": "10s",
                    "timeout": "3s",
                    "threshold": 3,
                    "http": {"url": f"http://localhost:{ADMIN_PORT}/admin/health/alive"},
                },
            },
        }
    )


class Workload:
    """The `kratos` container, seen from the charm."""

    def __init__(self, unit: ops.Unit) -> None:
        self._unit = unit
        self.container = unit.get_container(WORKLOAD_CONTAINER)

    def can_connect(self) -> bool:
        """Whether Pebble answers."""
        return self.container.can_connect()

    def open_ports(self) -> None:
        """Open the public and admin ports."""
        self._unit.set_ports(PUBLIC_PORT, ADMIN_PORT)

    def version(self) -> str | None:
        """Return the workload version from `kratos version`, or None when it cannot be read."""
        try:
            out, _ = self.container.exec(["kratos", "version"], timeout=20).wait_output()
        except (pebble.ExecError, pebble.ChangeError, pebble.APIError, TimeoutError) as e:
            logger.warning("cannot read the workload version: %s", e)
            return None
        match = _VERSION.search(out)
        return match.group(1) if match else None

    def _push_if_changed(self, path: str, content: str) -> bool:
        try:
            if self.container.pull(path).read() == content:
                return False
        except pebble.PathError:
            pass
        self.container.push(path, content, make_dirs=True, permissions=0o600)
        return True

    def _remove(self, path: str) -> bool:
        if not self.container.exists(path):
            return False
        self.container.remove_path(path)
        return True

    def configure(self, config_text: str, environment: dict[str, str], ca_bundle: str | None) -> bool:
        """Push the files and the layer; restart only if a file changed. True when restarted."""
        changed = self._push_if_changed(str(CONFIG_FILE), config_text)
        if ca_bundle:
            changed |= self._push_if_changed(str(CA_BUNDLE_FILE), ca_bundle)
        else:
            changed |= self._remove(str(CA_BUNDLE_FILE))
        self.container.add_layer(LAYER_LABEL, pebble_layer(environment), combine=True)
        if changed and self.is_running():
            logger.info("configuration changed: restarting %s", WORKLOAD_SERVICE)
            self.container.restart(WORKLOAD_SERVICE)
            return True
        # Starts the service if needed and restarts it only if its layer (environment) changed.
        self.container.replan()
        return False

    def add_log_targets(self, label: str, layer: pebble.Layer) -> None:
        """Add (or update) a layer of log targets."""
        self.container.add_layer(label, layer, combine=True)

    def log_target_names(self) -> list[str]:
        """Return the log targets in the current plan."""
        return list(self.container.get_plan().log_targets)

    def is_running(self) -> bool:
        """Whether the `kratos` service exists and runs."""
        try:
            return self.container.get_service(WORKLOAD_SERVICE).is_running()
        except ops.ModelError:
            return False

    def stop(self) -> None:
        """Stop the service if it runs (e.g. the database went away)."""
        if self.is_running():
            self.container.stop(WORKLOAD_SERVICE)

    def ready_status(self) -> pebble.CheckStatus | None:
        """Return the `ready` check's status, or None when there is no such check."""
        try:
            checks = self.container.get_checks(READY_CHECK)
        except (pebble.APIError, pebble.ConnectionError) as e:
            logger.warning("cannot read the checks: %s", e)
            return None
        info = checks.get(READY_CHECK)
        return pebble.CheckStatus(info.status) if info else None

    def is_ready(self) -> bool:
        """Whether the service runs and answers its ready check."""
        return self.is_running() and self.ready_status() == pebble.CheckStatus.UP

    def run_migration(self, dsn: str, timeout: float = 120) -> str:
        """Run `kratos migrate sql -e --yes` with DSN in its environment; return its output."""
        try:
            out, err = self.container.exec(
                ["kratos", "migrate", "sql", "-e", "--yes"], environment={"DSN": dsn}, timeout=timeout
            ).wait_output()
        except pebble.ExecError as e:
            detail = (str(e.stderr or "") or str(e.stdout or "")).strip().splitlines()
            reason = detail[-1] if detail else f"exit code {e.exit_code}"
            raise MigrationError(f"kratos migrate sql failed: {reason}") from None
        except (TimeoutError, pebble.TimeoutError):
            raise MigrationError(f"kratos migrate sql did not finish within {timeout:g}s") from None
        except (pebble.ChangeError, pebble.APIError) as e:
            raise MigrationError(f"kratos migrate sql could not run: {e}") from None
        return "\n".join(part for part in (out, err or "") if part).strip()
