"""Features this server does not implement yet: configs enabling them are refused at start-up.

One row per feature: (key path, predicate on the config, what to tell the operator). The issue that
implements a feature deletes its row.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import Any, NamedTuple

from kratos.config.model import KratosConfig


class Unsupported(NamedTuple):
    """A feature that is refused when ``enabled(config)`` is true."""

    path: str
    enabled: Callable[[KratosConfig], bool]
    message: str


def _value(config: KratosConfig, path: str) -> Any:
    return reduce(getattr, path.split("."), config)


def _when(path: str, test: str, message: str) -> Unsupported:
    """Refuse a feature when the attribute at key path ``test`` is truthy."""
    return Unsupported(path, lambda c: bool(_value(c, test)), message)


def _switch(path: str, feature: str) -> Unsupported:
    """Refuse a feature turned on by ``<path>.enabled``."""
    return _when(path, f"{path}.enabled", f"{feature} is not implemented yet; set {path}.enabled to false")


def _flag(path: str, feature: str) -> Unsupported:
    """Refuse a feature turned on by the boolean ``path`` itself."""
    return _when(path, path, f"{feature} is not implemented yet; set it to false")


def _present(path: str, feature: str) -> Unsupported:
    """Refuse a feature turned on by giving ``path`` any (non-empty) value."""
    return _when(path, path, f"{feature} is not implemented yet; remove {path}")


def _hook(*names: str) -> Callable[[KratosConfig], bool]:
    return lambda c: any(hook.hook in names for _, hook in c.selfservice.iter_hooks())


UNSUPPORTED: tuple[Unsupported, ...] = (
    _present("selfservice.methods.b2b.config.organizations", "B2B single sign-on"),
    _switch("selfservice.methods.password.config.migrate_hook", "the password migration hook"),
    Unsupported(
        "selfservice.flows",
        _hook("verify_new_address", "notify_previous_addresses"),
        "the hooks verify_new_address and notify_previous_addresses are not implemented yet; remove them "
        "(settings send a verification message for a new address by themselves when "
        "selfservice.flows.verification is enabled)",
    ),
    Unsupported(
        "selfservice.flows",
        _hook("b2b_sso", "organization"),
        "B2B SSO hooks are not implemented yet; remove them",
    ),
    _present("tracing.provider", "tracing"),
    _when(
        "serve.public.tls", "serve.public.tls.enabled", "TLS is not implemented yet; terminate TLS in a proxy"
    ),
    _when(
        "serve.admin.tls", "serve.admin.tls.enabled", "TLS is not implemented yet; terminate TLS in a proxy"
    ),
    _when(
        "serve.public.socket",
        "serve.public.uses_socket",
        "unix sockets are not implemented yet; use host/port",
    ),
    _when(
        "serve.admin.socket", "serve.admin.uses_socket", "unix sockets are not implemented yet; use host/port"
    ),
    _present("organizations", "the organizations feature"),
)


def unsupported_features(config: KratosConfig) -> list[str]:
    """``<key.path>: <message>`` for every unimplemented feature the config enables."""
    return [f"{row.path}: {row.message}" for row in UNSUPPORTED if row.enabled(config)]
