"""recovery and verification

One-time codes and link tokens (HMACs only) and the per-flow count of code submissions.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade() -> None:
    with op.batch_alter_table("selfservice_flows") as batch:
        batch.add_column(sa.Column("submit_count", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.create_table(
        "selfservice_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column(
            "flow_id",
            sa.Uuid(),
            sa.ForeignKey("selfservice_flows.id", name="fk_selfservice_codes_flow_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "identity_id",
            sa.Uuid(),
            sa.ForeignKey("identities.id", name="fk_selfservice_codes_identity_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("address", sa.String(400), nullable=True),
        sa.Column("issued_by", sa.String(16), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_selfservice_codes"),
    )
    op.create_index("ix_selfservice_codes_flow_id_purpose", "selfservice_codes", ["flow_id", "purpose"])
    op.create_index("ix_selfservice_codes_identity_id", "selfservice_codes", ["identity_id"])


def downgrade() -> None:
    op.drop_table("selfservice_codes")
    with op.batch_alter_table("selfservice_flows") as batch:
        batch.drop_column("submit_count")
