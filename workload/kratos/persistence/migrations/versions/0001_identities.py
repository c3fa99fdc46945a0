"""identities

Identities, their credentials and identifiers, verifiable and recovery addresses.
Types are spelled out (not imported from kratos.persistence.types) so this DDL never changes.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def _timestamps() -> tuple[sa.Column, sa.Column]:
    return (
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )


def _identity_id(table: str) -> sa.Column:
    return sa.Column(
        "identity_id",
        sa.Uuid(),
        sa.ForeignKey("identities.id", name=f"fk_{table}_identity_id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("schema_id", sa.String(2048), nullable=False),
        sa.Column("traits", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default=sa.text("'active'")),
        sa.Column("state_changed_at", TIMESTAMP, nullable=True),
        sa.Column("metadata_public", JSON, nullable=True),
        sa.Column("metadata_admin", JSON, nullable=True),
        sa.Column("external_id", sa.String(64), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("available_aal", sa.String(4), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_identities"),
        sa.UniqueConstraint("external_id", name="uq_identities_external_id"),
        sa.CheckConstraint(
            "external_id IS NULL OR external_id <> ''", name="ck_identities_external_id_not_empty"
        ),
    )
    op.create_table(
        "identity_credentials",
        sa.Column("id", sa.Uuid(), nullable=False),
        _identity_id("identity_credentials"),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("0")),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_identity_credentials"),
        sa.UniqueConstraint("identity_id", "type", name="uq_identity_credentials_identity_id_type"),
    )
    op.create_table(
        "identity_credential_identifiers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "identity_credential_id",
            sa.Uuid(),
            sa.ForeignKey(
                "identity_credentials.id",
                name="fk_identity_credential_identifiers_identity_credential_id",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        _identity_id("identity_credential_identifiers"),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("identifier", sa.String(255), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_identity_credential_identifiers"),
        sa.UniqueConstraint("type", "identifier", name="uq_identity_credential_identifiers_type_identifier"),
    )
    op.create_index(
        "ix_identity_credential_identifiers_identity_credential_id",
        "identity_credential_identifiers",
        ["identity_credential_id"],
    )
    op.create_index(
        "ix_identity_credential_identifiers_identity_id", "identity_credential_identifiers", ["identity_id"]
    )
    op.create_table(
        "identity_verifiable_addresses",
        sa.Column("id", sa.Uuid(), nullable=False),
        _identity_id("identity_verifiable_addresses"),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("value", sa.String(400), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("verified_at", TIMESTAMP, nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_identity_verifiable_addresses"),
        sa.UniqueConstraint("via", "value", name="uq_identity_verifiable_addresses_via_value"),
    )
    op.create_index(
        "ix_identity_verifiable_addresses_identity_id", "identity_verifiable_addresses", ["identity_id"]
    )
    op.create_table(
        "identity_recovery_addresses",
        sa.Column("id", sa.Uuid(), nullable=False),
        _identity_id("identity_recovery_addresses"),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("value", sa.String(400), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_identity_recovery_addresses"),
        sa.UniqueConstraint("via", "value", name="uq_identity_recovery_addresses_via_value"),
    )
    op.create_index(
        "ix_identity_recovery_addresses_identity_id", "identity_recovery_addresses", ["identity_id"]
    )


def downgrade() -> None:
    for table in (
        "identity_recovery_addresses",
        "identity_verifiable_addresses",
        "identity_credential_identifiers",
        "identity_credentials",
        "identities",
    ):
        op.drop_table(table)
