"""sessions and flows

Sessions (tokens stored as SHA-256 hashes) with their devices, self-service flows and stored errors.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def _timestamps() -> tuple[sa.Column, sa.Column]:
    return (
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "identity_id",
            sa.Uuid(),
            sa.ForeignKey("identities.id", name="fk_sessions_identity_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("logout_token_hash", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("aal", sa.String(4), nullable=False),
        sa.Column("authentication_methods", JSON, nullable=False),
        sa.Column("authenticated_at", TIMESTAMP, nullable=False),
        sa.Column("issued_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_sessions_token_hash"),
        sa.UniqueConstraint("logout_token_hash", name="uq_sessions_logout_token_hash"),
    )
    op.create_index("ix_sessions_identity_id", "sessions", ["identity_id"])
    op.create_table(
        "session_devices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "session_id",
            sa.Uuid(),
            sa.ForeignKey("sessions.id", name="fk_session_devices_session_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("ip_address", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("location", sa.String(512), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_session_devices"),
    )
    op.create_index("ix_session_devices_session_id", "session_devices", ["session_id"])
    op.create_table(
        "selfservice_flows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_selfservice_flows"),
    )
    op.create_table(
        "selfservice_errors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("error", JSON, nullable=False),
        sa.Column("seen_at", TIMESTAMP, nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_selfservice_errors"),
    )


def downgrade() -> None:
    for table in ("selfservice_errors", "selfservice_flows", "session_devices", "sessions"):
        op.drop_table(table)
