"""``KratosConfig``: the root of the typed configuration, mirroring ``kratos.yml``."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import Field, model_validator

from kratos.config.sections import (
    Ciphers,
    Clients,
    Cookies,
    Courier,
    Database,
    Enterprise,
    FeatureFlags,
    Hashers,
    Identity,
    Log,
    OAuth2Provider,
    Preview,
    Secrets,
    Security,
    Serve,
    Session,
    Tracing,
    Version,
)
from kratos.config.selfservice import Selfservice
from kratos.config.types import Strict

logger = logging.getLogger(__name__)

BCRYPT_MIN_COST = 12
"""The lowest bcrypt cost accepted outside of dev mode (upstream's ``BcryptDefaultCost``)."""


class KratosConfig(Strict):
    """The whole configuration; keys as in upstream's ``kratos.yml``."""

    dsn: str = Field(min_length=1)
    identity: Identity
    selfservice: Selfservice
    serve: Serve = Field(default_factory=Serve)
    database: Database = Field(default_factory=Database)
    courier: Courier = Field(default_factory=Courier)
    oauth2_provider: OAuth2Provider = Field(default_factory=OAuth2Provider)
    preview: Preview = Field(default_factory=Preview)
    tracing: Tracing = Field(default_factory=Tracing)
    log: Log = Field(default_factory=Log)
    secrets: Secrets = Field(default_factory=Secrets)
    hashers: Hashers = Field(default_factory=Hashers)
    ciphers: Ciphers = Field(default_factory=Ciphers)
    cookies: Cookies = Field(default_factory=Cookies)
    session: Session = Field(default_factory=Session)
    security: Security = Field(default_factory=Security)
    clients: Clients = Field(default_factory=Clients)
    feature_flags: FeatureFlags = Field(default_factory=FeatureFlags)
    enterprise: Enterprise = Field(default_factory=Enterprise)
    organizations: list[Any] = Field(default_factory=list)
    version: Version | None = None
    revision: str | None = None
    dev: bool = False
    help: bool = False
    sqa_opt_out: bool = Field(default=False, alias="sqa-opt-out")
    watch_courier: bool = Field(default=False, alias="watch-courier")
    expose_metrics_port: int = Field(default=0, alias="expose-metrics-port", ge=0, le=65535)
    config: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _resolve(self) -> KratosConfig:
        if self.ciphers.algorithm != "noop" and not self.secrets.cipher:
            raise ValueError(
                f"secrets.cipher: is required when ciphers.algorithm is {self.ciphers.algorithm}"
            )
        bcrypt = self.hashers.bcrypt
        if not self.dev and bcrypt.cost < BCRYPT_MIN_COST:
            logger.warning(
                "hashers.bcrypt.cost %d is below %d: using %d (lower costs need --dev)",
                bcrypt.cost,
                BCRYPT_MIN_COST,
                BCRYPT_MIN_COST,
            )
            bcrypt.cost = BCRYPT_MIN_COST
        if self.cookies.secure is None:
            self.cookies.secure = not self.dev
        cookie = self.session.cookie
        cookie.domain = cookie.domain if cookie.domain is not None else self.cookies.domain
        cookie.path = cookie.path if cookie.path is not None else self.cookies.path
        cookie.same_site = cookie.same_site if cookie.same_site is not None else self.cookies.same_site
        cookie.secure = cookie.secure if cookie.secure is not None else self.cookies.secure
        return self
