"""courier

The courier queue: messages (with the claim of the worker sending them) and their delivery attempts.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
MESSAGE_INDEXES = {
    "ix_courier_messages_status_created_at_id": ["status", "created_at", "id"],
    "ix_courier_messages_status_claimed_until": ["status", "claimed_until"],
    "ix_courier_messages_recipient_created_at_id": ["recipient", "created_at", "id"],
    "ix_courier_messages_created_at_id": ["created_at", "id"],
}


def _timestamps() -> tuple[sa.Column, sa.Column]:
    return (
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )


def upgrade() -> None:
    op.create_table(
        "courier_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("template_type", sa.String(64), nullable=False),
        sa.Column("template_data", JSON, nullable=True),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("send_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", TIMESTAMP, nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_courier_messages"),
    )
    for name, columns in MESSAGE_INDEXES.items():
        op.create_index(name, "courier_messages", columns)
    op.create_table(
        "courier_message_dispatches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "message_id",
            sa.Uuid(),
            sa.ForeignKey(
                "courier_messages.id", name="fk_courier_message_dispatches_message_id", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", JSON, nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_courier_message_dispatches"),
    )
    op.create_index("ix_courier_message_dispatches_message_id", "courier_message_dispatches", ["message_id"])


def downgrade() -> None:
    op.drop_table("courier_message_dispatches")
    op.drop_table("courier_messages")
