"""SQLAlchemy Core tables: identities, sessions, flows and the courier (one tenant per database, no ``nid``).

Names of constraints and indexes follow :data:`NAMING_CONVENTION`, so migrations can refer to them on
every database. Keep generated names within 63 characters (PostgreSQL's limit; MySQL's is 64).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)

from kratos.persistence.types import JSONType, UTCDateTime

NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _timestamps() -> tuple[Column[Any], Column[Any]]:
    return (
        Column("created_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
    )


def _identity_fk(*, index: bool, nullable: bool = False) -> Column[Any]:
    return Column(
        "identity_id", Uuid(), ForeignKey("identities.id", ondelete="CASCADE"), nullable=nullable, index=index
    )


identities = Table(
    "identities",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("schema_id", String(2048), nullable=False),
    Column("traits", JSONType(), nullable=False),
    Column("state", String(16), nullable=False, server_default=text("'active'")),
    Column("state_changed_at", UTCDateTime(), nullable=True),
    Column("metadata_public", JSONType(), nullable=True),
    Column("metadata_admin", JSONType(), nullable=True),
    Column("external_id", String(64), nullable=True, unique=True),
    Column("organization_id", Uuid(), nullable=True),
    Column("available_aal", String(4), nullable=True),
    *_timestamps(),
    CheckConstraint("external_id IS NULL OR external_id <> ''", name="external_id_not_empty"),
)

identity_credentials = Table(
    "identity_credentials",
    metadata,
    Column("id", Uuid(), primary_key=True),
    _identity_fk(index=False),  # UNIQUE(identity_id, type) serves lookups by identity
    Column("type", String(32), nullable=False),
    Column("config", JSONType(), nullable=False),
    Column("version", Integer(), nullable=False, server_default=text("0")),
    *_timestamps(),
    UniqueConstraint("identity_id", "type"),
)

identity_credential_identifiers = Table(
    "identity_credential_identifiers",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column(
        "identity_credential_id",
        Uuid(),
        ForeignKey("identity_credentials.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _identity_fk(index=True),  # denormalised: identifier -> identity in one indexed query
    Column("type", String(32), nullable=False),
    Column("identifier", String(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("type", "identifier"),
)

identity_verifiable_addresses = Table(
    "identity_verifiable_addresses",
    metadata,
    Column("id", Uuid(), primary_key=True),
    _identity_fk(index=True),
    Column("via", String(16), nullable=False),
    Column("value", String(400), nullable=False),
    Column("verified", Boolean(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("verified_at", UTCDateTime(), nullable=True),
    *_timestamps(),
    UniqueConstraint("via", "value"),
)

identity_recovery_addresses = Table(
    "identity_recovery_addresses",
    metadata,
    Column("id", Uuid(), primary_key=True),
    _identity_fk(index=True),
    Column("via", String(16), nullable=False),
    Column("value", String(400), nullable=False),
    *_timestamps(),
    UniqueConstraint("via", "value"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Uuid(), primary_key=True),
    _identity_fk(index=True),
    # SHA-256 of the tokens (hex): a copy of the database opens no session.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("logout_token_hash", String(64), nullable=False, unique=True),
    Column("active", Boolean(), nullable=False),
    Column("aal", String(4), nullable=False),
    Column("authentication_methods", JSONType(), nullable=False),
    Column("authenticated_at", UTCDateTime(), nullable=False),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    *_timestamps(),
)

session_devices = Table(
    "session_devices",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("session_id", Uuid(), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("ip_address", String(64), nullable=True),
    Column("user_agent", String(512), nullable=True),
    Column("location", String(512), nullable=True),
    *_timestamps(),
)

selfservice_flows = Table(
    "selfservice_flows",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("kind", String(16), nullable=False),
    # Submissions of one-time codes to the flow, counted atomically to bound guessing.
    Column("submit_count", Integer(), nullable=False, server_default=text("0")),
    # The whole flow as its owner stores it: wire fields plus internal state (CSRF token hash, ...).
    Column("body", JSONType(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    *_timestamps(),
)

selfservice_errors = Table(
    "selfservice_errors",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("error", JSONType(), nullable=False),
    Column("seen_at", UTCDateTime(), nullable=True),
    *_timestamps(),
)

selfservice_codes = Table(
    "selfservice_codes",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("purpose", String(32), nullable=False),
    Column("flow_id", Uuid(), ForeignKey("selfservice_flows.id", ondelete="CASCADE"), nullable=False),
    _identity_fk(index=True, nullable=True),  # registration codes are sent before the identity exists
    Column("digest", String(64), nullable=False),
    Column("address", String(400), nullable=True),
    Column("issued_by", String(16), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_selfservice_codes_flow_id_purpose", "flow_id", "purpose"),
)

session_token_exchanges = Table(
    "session_token_exchanges",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column(
        "flow_id", Uuid(), ForeignKey("selfservice_flows.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("init_code_digest", String(64), nullable=False, unique=True),
    Column("return_to_code_digest", String(64), nullable=False),
    Column("session_id", Uuid(), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True),
    Column("session_token", Text(), nullable=True),  # sealed with the cipher: shown again to the app
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

courier_messages = Table(
    "courier_messages",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("type", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("recipient", String(255), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("body", Text(), nullable=False),
    Column("template_type", String(64), nullable=False),
    Column("template_data", JSONType(), nullable=True),
    Column("channel", String(64), nullable=True),
    Column("send_count", Integer(), nullable=False, server_default=text("0")),
    # The worker that claimed a processing message, and until when: after that, anyone may claim it.
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", UTCDateTime(), nullable=True),
    *_timestamps(),
    # Claims (queued, oldest first) and the admin list filtered by status, newest first.
    Index(None, "status", "created_at", "id"),
    # Leases that ran out: processing messages by their deadline.
    Index(None, "status", "claimed_until"),
    Index(None, "recipient", "created_at", "id"),
    Index(None, "created_at", "id"),
)

courier_message_dispatches = Table(
    "courier_message_dispatches",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column(
        "message_id",
        Uuid(),
        ForeignKey("courier_messages.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("status", String(16), nullable=False),
    Column("error", JSONType(), nullable=True),
    *_timestamps(),
)

__all__ = [
    "NAMING_CONVENTION",
    "courier_message_dispatches",
    "courier_messages",
    "identities",
    "identity_credential_identifiers",
    "identity_credentials",
    "identity_recovery_addresses",
    "identity_verifiable_addresses",
    "metadata",
    "selfservice_codes",
    "selfservice_errors",
    "selfservice_flows",
    "session_devices",
    "sessions",
]
