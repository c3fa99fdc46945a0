"""Session token exchanges.

Native apps that sign in through a browser (social sign-in) get their session token by exchanging the flow's
init code and the code the browser brings back; the token waits here, sealed with the cipher.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade() -> None:
    """The exchanges, one per flow, found by the init code's digest."""
    op.create_table(
        "session_token_exchanges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "flow_id",
            sa.Uuid(),
            sa.ForeignKey(
                "selfservice_flows.id", name="fk_session_token_exchanges_flow_id", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("init_code_digest", sa.String(64), nullable=False),
        sa.Column("return_to_code_digest", sa.String(64), nullable=False),
        sa.Column(
            "session_id",
            sa.Uuid(),
            sa.ForeignKey("sessions.id", name="fk_session_token_exchanges_session_id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("session_token", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_session_token_exchanges"),
        sa.UniqueConstraint("init_code_digest", name="uq_session_token_exchanges_init_code_digest"),
    )
    op.create_index("ix_session_token_exchanges_flow_id", "session_token_exchanges", ["flow_id"])


def downgrade() -> None:
    """Drop the exchanges (the table with its index: MySQL keeps an index its foreign key needs)."""
    op.drop_table("session_token_exchanges")
