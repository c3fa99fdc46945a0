"""The registry: every long-lived service of one server process, built once from the config."""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx
from sqlalchemy.exc import DBAPIError

from kratos.config import KratosConfig
from kratos.courier.channels import build_channels
from kratos.courier.courier import Courier, Templates
from kratos.courier.dispatcher import Dispatcher, DispatcherSettings
from kratos.courier.pool import MessagePool
from kratos.courier.template.loader import load_templates
from kratos.courier.templates import html_renderer
from kratos.hash.cipher import Cipher, make_cipher
from kratos.hash.hasher import PasswordHasher
from kratos.hash.params import Argon2Params, BcryptParams
from kratos.identity.admin.importer import IdentityImporter
from kratos.identity.factors import AalPolicy
from kratos.identity.manager import IdentityManager
from kratos.persistence.codes import CodeRepository
from kratos.persistence.courier import MessageRepository
from kratos.persistence.database import Database
from kratos.persistence.exchanges import ExchangeRepository
from kratos.persistence.flows import FlowRepository
from kratos.persistence.identities import IdentityRepository
from kratos.persistence.sessions import SessionRepository
from kratos.schema import SchemaRegistry, load_schemas
from kratos.selfservice.flow.exchange import ExchangePool
from kratos.selfservice.flow.onetime import OneTimeSecretPool
from kratos.selfservice.flow.pool import FlowPool
from kratos.session.cookie import CookieCodec
from kratos.session.manager import CookieSettings, SessionManager


class DatabaseUnavailableError(RuntimeError):
    """The configured database cannot be reached."""


class NotMigratedError(RuntimeError):
    """The database lacks migrations; ``kratos migrate sql`` must run first."""


@dataclass(slots=True)
class Registry:
    """Config, database, schemas, hasher, cipher and the services built on them."""

    config: KratosConfig
    db: Database
    schemas: SchemaRegistry
    hasher: PasswordHasher
    cipher: Cipher  # ciphers.algorithm: encryption at rest (OIDC tokens, TOTP secrets, ...)
    identities: IdentityManager
    importer: IdentityImporter
    sessions: SessionManager
    flows: FlowPool
    codes: OneTimeSecretPool
    exchanges: ExchangePool
    http: httpx.AsyncClient  # outgoing calls: web hooks, haveibeenpwned, courier templates and delivery
    messages: MessagePool
    templates: Templates
    courier: Courier

    @classmethod
    async def open(cls, config: KratosConfig) -> Registry:
        """Connect, check migrations and load the identity schemas."""
        db = await Database.open(config.dsn)
        try:
            try:
                await db.migrate_if_memory()
                migrated = await db.is_migrated()
            except (OSError, DBAPIError) as exc:
                raise DatabaseUnavailableError(
                    f"the database {db.url.redacted()} does not answer: {getattr(exc, 'orig', None) or exc}"
                ) from None
            if not migrated:
                raise NotMigratedError(
                    "the database schema is not up to date: run `kratos migrate sql -e --yes` "
                    "(or `kratos migrate sql <dsn> --yes`) before `kratos serve`"
                )
            schemas = await load_schemas(
                [(schema.id, schema.url) for schema in config.identity.schemas],
                config.identity.default_schema_id,
            )
        except BaseException:
            await db.close()
            raise
        hasher = make_hasher(config)
        http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        try:
            templates = await load_templates(config.courier, http)
        except BaseException:
            await http.aclose()
            await db.close()
            raise
        messages = MessageRepository(db)
        identities = IdentityManager(
            IdentityRepository(db),
            schemas,
            public_base_url=str(config.serve.public.base_url),
            aal=aal_policy(config),
        )
        return cls(
            config=config,
            db=db,
            schemas=schemas,
            hasher=hasher,
            cipher=make_cipher(config),
            identities=identities,
            importer=IdentityImporter(hasher),
            sessions=make_session_manager(config, SessionRepository(db)),
            flows=FlowRepository(db),
            codes=CodeRepository(db),
            exchanges=ExchangeRepository(db),
            http=http,
            messages=messages,
            templates=templates,
            courier=Courier(messages, templates),
        )

    def dispatcher(self) -> Dispatcher:
        """A courier worker on the channels ``courier`` configures (``courier watch``, ``watch-courier``)."""
        courier = self.config.courier
        settings = DispatcherSettings(
            pull_count=courier.worker.pull_count,
            pull_wait=courier.worker.pull_wait.total_seconds(),
            message_retries=courier.message_retries,
        )
        channels = build_channels(self.config, self.http, html_renderer(self.templates))
        return Dispatcher(self.messages, channels, settings)

    async def close(self) -> None:
        """Release the pool and the hashing threads."""
        self.hasher.close()
        await self.http.aclose()
        await self.db.close()


def make_session_manager(config: KratosConfig, pool: SessionRepository) -> SessionManager:
    """Sessions with the cookie ``session.cookie`` and ``cookies`` describe."""
    cookie, defaults = config.session.cookie, config.cookies
    secrets = config.secrets.cookie_secrets()
    settings = CookieSettings(
        name=cookie.name,
        path=cookie.path or defaults.path,
        domain=cookie.domain or defaults.domain,
        same_site=cookie.same_site or defaults.same_site,
        secure=cookie.secure if cookie.secure is not None else bool(defaults.secure),
        persistent=cookie.persistent,
    )
    return SessionManager(pool, CookieCodec(secrets), settings, config.session.lifespan, secrets[0])


def make_hasher(config: KratosConfig) -> PasswordHasher:
    """The configured password hasher, with a pool sized to the cores."""
    argon2 = config.hashers.argon2
    return PasswordHasher(
        algorithm=config.hashers.algorithm,
        bcrypt=BcryptParams(cost=config.hashers.bcrypt.cost),
        argon2=Argon2Params(
            memory_kib=argon2.memory // 1024,
            iterations=argon2.iterations,
            parallelism=argon2.parallelism,
            salt_length=argon2.salt_length,
            key_length=argon2.key_length,
        ),
        max_concurrency=os.cpu_count() or 1,
    )


def aal_policy(config: KratosConfig) -> AalPolicy:
    """Which credentials count towards an identity's available AAL: those of the enabled methods."""
    methods = config.selfservice.methods
    kinds = ("password", "oidc", "totp", "lookup_secret", "webauthn", "passkey", "code")
    return AalPolicy(
        enabled=frozenset(kind for kind in kinds if getattr(methods, kind).enabled),
        code_passwordless=methods.code.enabled and methods.code.passwordless_enabled,
        code_mfa=methods.code.enabled and methods.code.mfa_enabled,
        password_migration_hook=methods.password.config.migrate_hook.enabled,
    )
